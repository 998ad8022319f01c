import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli.js';
import { killAllServers, type ServerProcess, startServer } from './support/server-process.js';

const HEADING = '### A first session';
let root: string;
let server: ServerProcess;

/** The README's first shell block after the heading, exactly as a reader copies it. */
function firstSessionBlock(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(HEADING));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (readme.indexOf(HEADING) < 0 || match?.[1] === undefined)
    throw new Error(`no sh block under "${HEADING}"`);
  return match[1];
}

/** Pastes the block into bash, as a reader does, with the server's address and data. */
function paste(
  block: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const bash = spawn('bash', [], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    bash.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    bash.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    bash.once('error', reject);
    bash.once('exit', (status) => resolve({ status, stdout, stderr }));
    bash.stdin.end(block);
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'glasshouse-readme-'));
  server = await startServer(join(root, 'data'));
}, 300_000);
afterAll(async () => {
  await killAllServers();
  rmSync(root, { recursive: true, force: true });
});

describe("the README's first session", () => {
  describe('when pasted into bash against a fresh server', () => {
    it('registers, uploads, downloads and opens the sample, which comes back whole', async () => {
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith('GLASSHOUSE_')),
      );
      const result = await paste(firstSessionBlock(), {
        ...env,
        GLASSHOUSE_URL: server.baseUrl,
        GLASSHOUSE_DATA: join(root, 'data'),
        TMPDIR: root, // where the block's `mktemp -d` puts its files
      });
      const done = /^the sample came back whole: (\/\S+\/[0-9a-f]{64})$/m.exec(result.stdout);
      expect(result.status, `${result.stdout}\n${result.stderr}\n${server.output()}`).toBe(0);
      const [, extracted] = done ?? [];
      expect(extracted).toMatch(new RegExp(`^${root}/`));
      expect(readFileSync(join(dirname(extracted ?? ''), 'invoice.exe'), 'utf8')).toMatch(
        /^a harmless test file/,
      );
      const metrics = await fetch(`${server.baseUrl}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/glasshouse_samples_stored\{site="zurich"\} 1/);
    }, 180_000);
  });

  describe('when the server does not answer', () => {
    it('stops at the first failure', async () => {
      const result = await paste(firstSessionBlock(), {
        ...process.env,
        GLASSHOUSE_URL: 'http://127.0.0.1:1',
        GLASSHOUSE_DATA: join(root, 'data'),
        TMPDIR: root,
      });
      expect(result.status).not.toBe(0);
      expect(result.stdout).not.toMatch(/came back whole/);
      expect(result.stderr).toMatch(/curl: \(7\)/);
    }, 180_000);
  });

  describe('when the quick start runs the compiled CLI (npm start runs dist/)', () => {
    it('creates a data directory with the example configuration', () => {
      const data = join(root, 'compiled');
      const init = spawnSync(
        process.execPath,
        [join(REPO_ROOT, 'bin/glasshouse.js'), 'init', '--data', data],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(init.stderr).not.toMatch(/ENOENT/);
      expect(init.status).toBe(0);
      expect(readFileSync(join(data, 'config.yaml'), 'utf8')).toMatch(/^sites:/m);
    }, 90_000);
  });
});
