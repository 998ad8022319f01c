import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, runCliAsync } from './support/cli.js';
import { killAllServers, type ServerProcess, startServer } from './support/server-process.js';

let root: string;
let dataDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'glasshouse-cli-errors-'));
  dataDir = join(root, 'data');
  expect(runCli(['init', '--data', dataDir]).status).toBe(0);
});
afterAll(async () => {
  await killAllServers();
  rmSync(root, { recursive: true, force: true });
});

/** One line on stderr, no stack trace, and nothing else from the process. */
function expectOneLine(result: CliResult, status: number, message: RegExp): void {
  expect(result.status, result.stderr).toBe(status);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^glasshouse: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** A port on 127.0.0.1 that a listener of ours holds, or that nobody listens on once closed. */
function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
      else resolve({ server, port: address.port });
    });
  });
}

describe('glasshouse CLI errors', () => {
  describe('when the usage is wrong', () => {
    it.each([
      [['token', 'create', '--role', 'analyst', '--colour', 'red'], /unknown option '--colour'/],
      [['token', 'revoke'], /missing required argument 'id'/],
      [['up', '--port', 'eighty'], /expected a port number/],
      [['bogus'], /unknown command 'bogus'/],
    ])('exits 2 with one line (%#)', (args, message) => {
      expectOneLine(runCli([...args, '--data', dataDir]), 2, message);
    });

    it('prints the error as JSON on stdout too with --json', () => {
      const result = runCli(['token', 'create', '--role', 'analyst', '--colour', 'red', '--json']);
      expect(result.status).toBe(2);
      expect(JSON.parse(result.stdout)).toEqual({
        error: { code: 'USAGE', message: expect.stringMatching(/--colour/), exitCode: 2 },
      });
    });
  });

  describe('when --url is given without a token', () => {
    it.each([
      [['verdicts', 'import', 'feed.ndjson', '--url', 'http://127.0.0.1:9']],
      [['relocate', 'status', '--url', 'http://127.0.0.1:9']],
      [['report', 'build', '--period', '2021-H2', '--url', 'http://127.0.0.1:9']],
    ])('exits 2 and says to give --token or $GLASSHOUSE_TOKEN (%#)', (args) => {
      if (args.includes('feed.ndjson')) writeFileSync(join(root, 'feed.ndjson'), '');
      // An empty $GLASSHOUSE_TOKEN counts as none.
      const result = runCli(
        args.map((a) => (a === 'feed.ndjson' ? join(root, a) : a)),
        { GLASSHOUSE_TOKEN: '' },
      );
      expectOneLine(result, 2, /--token.*\$GLASSHOUSE_TOKEN/);
    });
  });

  describe('when a command fails', () => {
    it('exits 1 with one line, and JSON on stdout with --json', () => {
      const result = runCli(['token', 'revoke', 'ffffffffffff', '--data', dataDir, '--json']);
      expect(result.status).toBe(1);
      expect(JSON.parse(result.stdout).error).toEqual({
        code: 'TOKEN_NOT_FOUND',
        message: expect.stringMatching(/no active token/),
        exitCode: 1,
      });
    });

    it('says so in one line when the config file is not valid YAML', () => {
      const broken = join(root, 'broken.yaml');
      writeFileSync(broken, 'deployment: x\nsites: [zurich\n');
      expectOneLine(
        runCli(['token', 'list', '--data', dataDir, '--config', broken]),
        1,
        /broken\.yaml: not valid YAML: .* at line \d+, column \d+/,
      );
    });

    it('says to check the address when the server does not answer', async () => {
      const { server, port } = await listen();
      await new Promise((resolve) => server.close(resolve));
      const result = await runCliAsync([
        'relocate',
        'status',
        '--url',
        `http://127.0.0.1:${port}`,
        '--token',
        'glh_000000000000_x',
      ]);
      expectOneLine(result, 1, /no answer from 127\.0\.0\.1:\d+ \(ECONNREFUSED\).*--url/);
    });

    describe('when a storage engine named in the config does not answer', () => {
      it.each([
        [
          'storage',
          'metadata',
          (port: number) => `postgres://glasshouse@127.0.0.1:${port}/glasshouse`,
          /PostgreSQL/,
        ],
        ['storage', 'tiles', (port: number) => `s3://control-log/?endpoint=http://127.0.0.1:${port}`, /S3/],
        [
          'sites.zurich.storage',
          'stats',
          (port: number) => `clickhouse://127.0.0.1:${port}/glasshouse`,
          /ClickHouse/,
        ],
      ])('names the key (%s.%s) and the engine, in one line', async (block, key, url, engine) => {
        const { server, port } = await listen();
        await new Promise((resolve) => server.close(resolve));
        const config = join(root, `unreachable-${key}.yaml`);
        const text = readFileSync(join(dataDir, 'config.yaml'), 'utf8');
        writeFileSync(
          config,
          block === 'storage'
            ? text.replace('\nsites:\n', `\nstorage:\n  ${key}: ${url(port)}\nsites:\n`)
            : text.replace(
                'jurisdiction: CH\n',
                `jurisdiction: CH\n    storage:\n      ${key}: ${url(port)}\n`,
              ),
        );
        // Credentials as an operator gives them, so that the S3 client gets as far as connecting.
        const result = runCli(['up', '--data', dataDir, '--config', config, '--port', '0'], {
          AWS_ACCESS_KEY_ID: 'glasshouse-test',
          AWS_SECRET_ACCESS_KEY: 'glasshouse-test',
        });
        expectOneLine(result, 1, new RegExp(`${block.replaceAll('.', '\\.')}\\.${key}: `));
        expect(result.stderr).toMatch(engine);
        expect(result.stderr).toMatch(/ECONNREFUSED|unreachable|refused|connect/i);
      });
    });

    it('says the port is in use and how to choose another', async () => {
      const { server, port } = await listen();
      try {
        const result = await runCliAsync([
          'up',
          '--data',
          dataDir,
          '--port',
          String(port),
          '--log-level',
          'silent',
        ]);
        expectOneLine(result, 1, new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*--port`));
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    describe('when another server holds the data directory', () => {
      let server: ServerProcess;
      beforeAll(async () => {
        server = await startServer(dataDir);
      });

      it('says which process holds it and what to do', async () => {
        const { server: probe, port } = await listen();
        await new Promise((resolve) => probe.close(resolve));
        const result = await runCliAsync([
          'up',
          '--data',
          dataDir,
          '--port',
          String(port),
          '--log-level',
          'silent',
        ]);
        expectOneLine(
          result,
          1,
          new RegExp(`in use by another glasshouse server \\(pid ${server.pid}\\).*--data`),
        );
      });
    });
  });
});
