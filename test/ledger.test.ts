import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  entriesPath,
  hashLeaf,
  rootOfLeaves,
  TILE_WIDTH,
  tilePath,
  tilesToWrite,
  verifyConsistency,
  verifyInclusion,
} from '../src/ledger/merkle/index.js';
import {
  canonicalJson,
  formatCheckpoint,
  type JsonValue,
  loadNoteSigner,
  openCheckpoint,
  parseVerifierKey,
} from '../src/ledger/note/index.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import { verifyPublishedLog } from '../src/ledger/verify-published-log.js';
import { filesUnder } from './support/files.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import {
  checkpointSize,
  diskReader,
  fetchCheckpoint,
  flipByte,
  GO_CHECK_SCRIPT,
  GO_INSTALL,
  journalSize,
  publicLogDirectory,
  publishAll,
  readPublishedEntries,
  runCliAsync,
  skipGoChecks,
  waitForPublished,
} from './support/ledger.js';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/*
 * The signed Merkle logs of a real `glasshouse up` (issue: "every node keeps a signed,
 * append-only log that anyone can verify from the published files and the node's key"):
 * activity through the real CLI and HTTP API, then the published checkpoint and tiles are
 * checked with the real `glasshouse ledger` commands, the auditor proof routes and, for
 * interoperability, Go's golang.org/x/mod/sumdb.
 */

const NODES = ['control', 'zurich', 'moscow'] as const;
/** The deployment name `up` chose for the new data directory (read from its config). */
let DEPLOYMENT: string;
/** A file name nobody else would write: it must reach no published file of any node. */
const FILENAME = `payroll-${randomBytes(8).toString('hex')}.xlsm`;
const TOKEN_PATTERN = /^glh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const ROLES = ['admin', 'product', 'analyst', 'auditor'] as const;

const skipGo = skipGoChecks();
if (skipGo) console.warn(`ledger: the Go checks are skipped: \`go\` is not installed (${GO_INSTALL})`);

let dataDir: string;
let server: ServerProcess;
let tokens: Record<(typeof ROLES)[number], string>;
const keys = new Map<string, string>();
let installation: { id: string; secret: string; site: string };
let sampleSha256: string;
/** Each node's checkpoint once the first round of activity was published. */
const firstCheckpoints = new Map<string, string>();
let work: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-ledger-'));
  work = mkdtempSync(join(tmpdir(), 'glasshouse-ledger-work-'));
  server = await startServer(dataDir);
  DEPLOYMENT = (parseYaml(readFileSync(join(dataDir, 'config.yaml'), 'utf8')) as { deployment: string })
    .deployment;
  const created = await Promise.all(ROLES.map((role) => createToken(dataDir, role)));
  tokens = Object.fromEntries(ROLES.map((role, i) => [role, created[i]!])) as typeof tokens;
  await Promise.all(
    NODES.map(async (node) => {
      const printed = await runCliAsync(['ledger', 'key', '--node', node, '--data', dataDir]);
      if (printed.status !== 0) throw new Error(`ledger key --node ${node}: ${printed.stderr}`);
      keys.set(node, printed.stdout.trim());
    }),
  );

  const version = await api('POST', '/v1/policy/versions', tokens.admin, {
    default: 'moscow',
    assign: [{ regions: ['EU', 'NORTH_AMERICA'], site: 'zurich' }],
  });
  expect(version.status, await version.clone().text()).toBe(201);
  const registered = await api('POST', '/v1/installations', tokens.product, {
    country: 'DE',
    product: 'ledger-test',
  });
  expect(registered.status).toBe(201);
  installation = (await registered.json()) as typeof installation;
  expect(installation.site).toBe('zurich');
  const upload = await fetch(
    `${server.baseUrl}/v1/samples?installation=${installation.id}&filename=${encodeURIComponent(FILENAME)}`,
    {
      method: 'POST',
      headers: { ...bearer(tokens.product), 'content-type': 'application/octet-stream' },
      body: randomBytes(4096),
    },
  );
  expect(upload.status).toBe(201);
  sampleSha256 = ((await upload.json()) as { sha256: string }).sha256;
  const download = await api('GET', `/v1/samples/${sampleSha256}/download`, tokens.analyst);
  expect(download.status).toBe(200);
  await download.arrayBuffer();

  for (const node of NODES) {
    firstCheckpoints.set(node, (await waitForPublished(server.baseUrl, dataDir, node)).text);
  }
}, 300_000);

afterAll(async () => {
  await killAllServers();
  for (const dir of [dataDir, work]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function api(method: string, path: string, token?: string, body?: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : bearer(token)),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
}

function keyOf(node: string): string {
  const key = keys.get(node);
  if (key === undefined) throw new Error(`no key for ${node}`);
  return key;
}

function verifyCli(node: string, key: string, ...extra: string[]) {
  return runCliAsync(['ledger', 'verify', '--url', server.baseUrl, '--node', node, '--key', key, ...extra]);
}

function opened(node: string, text: string) {
  return openCheckpoint(text, [parseVerifierKey(keyOf(node))], { origin: `${DEPLOYMENT}/${node}` });
}

const httpReader = (node: string) => async (path: string) => {
  const response = await fetch(`${server.baseUrl}/log/${node}/${path}`);
  return response.status === 404 ? undefined : Buffer.from(await response.arrayBuffer());
};

/** A GET with the path sent exactly as written (fetch would resolve `..` before sending). */
function rawGet(path: string): Promise<{ status: number; body: Buffer }> {
  const { hostname, port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a path escape would reveal: the journal, the control database, a signing key, the config. */
const SECRET_MARKERS = ['SQLite format 3', 'PRIVATE KEY', 'deployment:'];

const ESCAPES = [
  'tile/../../journal.db',
  'tile/../../../control.db',
  'tile/../../../../keys/control.ed25519.pem',
  'tile/../../../../config.yaml',
  'tile/%2e%2e/%2e%2e/journal.db',
  'tile/..%2f..%2fjournal.db',
  'tile/%2e%2e%2f%2e%2e%2fjournal.db',
  'tile/..%252f..%252fjournal.db',
  'tile/..%5c..%5cjournal.db',
  'tile/0/..%2f..%2f..%2fjournal.db',
  'tile/entries/%2e%2e%2f%2e%2e%2f%2e%2e%2fjournal.db',
] as const;

describe('GET /log/<node>/checkpoint', () => {
  describe('when the nodes have logged tokens, a policy version and a download', () => {
    it.each(NODES)(
      'serves the %s checkpoint as text/plain: origin, size, root hash, then the signature',
      async (node) => {
        const response = await fetch(`${server.baseUrl}/log/${node}/checkpoint`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(response.headers.get('cache-control')).toBe('no-cache');
        const text = await response.text();
        const lines = text.split('\n');
        expect(lines).toHaveLength(6);
        expect(lines[0]).toBe(`${DEPLOYMENT}/${node}`);
        expect(lines[1]).toMatch(/^(0|[1-9][0-9]*)$/);
        expect(Buffer.from(lines[2]!, 'base64')).toHaveLength(32);
        expect(lines[3]).toBe('');
        expect(lines[4]).toMatch(new RegExp(`^\u2014 ${DEPLOYMENT}/${node} [A-Za-z0-9+/]+=*$`));
        expect(lines[5]).toBe('');
        const checkpoint = opened(node, text);
        expect(checkpoint.treeSize).toBe(await journalSize(dataDir, node));
      },
    );

    it('covers the activity of each node: the control plane and zurich logged, moscow did not', () => {
      expect(checkpointSize(firstCheckpoints.get('control')!)).toBeGreaterThanOrEqual(1 + ROLES.length + 1);
      expect(checkpointSize(firstCheckpoints.get('zurich')!)).toBeGreaterThanOrEqual(2);
      expect(checkpointSize(firstCheckpoints.get('moscow')!)).toBe(0);
    });

    it('is what `glasshouse ledger checkpoint` prints', async () => {
      const printed = await runCliAsync(['ledger', 'checkpoint', '--node', 'zurich', '--data', dataDir]);
      expect(printed.status, printed.stderr).toBe(0);
      expect(printed.stdout).toBe((await fetchCheckpoint(server.baseUrl, 'zurich')).text);
    });
  });

  describe('when the node is unknown', () => {
    it('answers 404 with a problem document', async () => {
      const response = await fetch(`${server.baseUrl}/log/atlantis/checkpoint`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ status: 404, code: 'LOG_NOT_FOUND' });
    });
  });
});

describe('glasshouse ledger key', () => {
  describe('when asked for each node', () => {
    it('prints a C2SP verifier key named by the log origin', () => {
      for (const node of NODES) {
        expect(keyOf(node)).toMatch(new RegExp(`^${DEPLOYMENT}/${node}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+=*$`));
        expect(parseVerifierKey(keyOf(node)).name).toBe(`${DEPLOYMENT}/${node}`);
      }
    });
  });
});

describe('published log entries', () => {
  describe('when read from the entry bundles of every node', () => {
    it('are canonical JSON with a type, a time and an actor of a role, a token id and maybe a person commitment', async () => {
      const types = new Map<string, string[]>();
      for (const node of NODES) {
        const { treeSize } = await fetchCheckpoint(server.baseUrl, node);
        const entries = await readPublishedEntries(httpReader(node), treeSize);
        expect(entries).toHaveLength(treeSize);
        const parsed = entries.map((bytes) => {
          const text = bytes.toString('utf8');
          const value = JSON.parse(text) as { type: unknown; time: unknown; actor: Record<string, unknown> };
          expect(canonicalJson(value as JsonValue), `${node} entry ${text}`).toBe(text);
          expect(value.type).toEqual(expect.stringMatching(/^[a-z]+(\.[a-z]+)+$/));
          expect(typeof value.time).toBe('string');
          expect(new Date(value.time as string).toISOString()).toBe(value.time);
          const keys = Object.keys(value.actor).sort();
          expect(keys).toEqual(keys.includes('person') ? ['person', 'role', 'token'] : ['role', 'token']);
          // A person appears only as a commitment, never by name.
          if (keys.includes('person')) expect(value.actor.person).toMatch(/^[0-9a-f]{64}$/);
          expect(value.actor.role).toEqual(expect.any(String));
          expect(value.actor.token).toEqual(expect.any(String));
          expect(value.actor.token).not.toMatch(/^glh_/);
          return value;
        });
        types.set(
          node,
          parsed.map((p) => p.type as string),
        );
        if (node === 'zurich') {
          expect(parsed).toContainEqual(
            expect.objectContaining({
              type: 'sample.download',
              site: 'zurich',
              sha256: sampleSha256,
              // The CLI's tokens here name a person each (test/support/server-process.ts).
              actor: {
                role: 'analyst',
                token: TOKEN_PATTERN.exec(tokens.analyst)![1],
                person: expect.stringMatching(/^[0-9a-f]{64}$/),
              },
            }),
          );
        }
        if (node === 'control') {
          expect(parsed).toContainEqual(
            expect.objectContaining({
              type: 'policy.version.added',
              actor: {
                role: 'admin',
                token: TOKEN_PATTERN.exec(tokens.admin)![1],
                person: expect.stringMatching(/^[0-9a-f]{64}$/),
              },
            }),
          );
          for (const token of Object.values(tokens)) {
            expect(parsed).toContainEqual(
              expect.objectContaining({ type: 'token.created', tokenId: TOKEN_PATTERN.exec(token)![1] }),
            );
          }
        }
      }
      expect(types.get('zurich')).toEqual(
        expect.arrayContaining(['installation.admitted', 'sample.download']),
      );
      expect(types.get('moscow')).toEqual([]);
    });

    it('hold no token secret, no installation id or secret and no file name, in any published file', () => {
      const secrets = [
        ...Object.values(tokens).flatMap((token) => [token, TOKEN_PATTERN.exec(token)![2]!]),
        installation.secret,
        installation.id,
        FILENAME,
        FILENAME.replace(/\.xlsm$/, ''),
      ];
      for (const node of NODES) {
        const files = filesUnder(publicLogDirectory(dataDir, node));
        expect(files.length, `${node} publishes files`).toBeGreaterThan(0);
        for (const file of files) {
          const bytes = readFileSync(file);
          for (const secret of secrets) expect(bytes.includes(secret), `${secret} in ${file}`).toBe(false);
        }
      }
    });
  });
});

describe('glasshouse ledger verify', () => {
  describe.concurrent("when given the node's own key", () => {
    it.each(NODES)('verifies the published %s log and exits 0, reporting its size', async (node) => {
      const { treeSize } = await fetchCheckpoint(server.baseUrl, node);
      const result = await verifyCli(node, keyOf(node));
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`verified ${DEPLOYMENT}/${node}: ${treeSize} entries`);
    });

    it('reports the origin, size and root of the checkpoint with --json', async () => {
      const checkpoint = opened('zurich', (await fetchCheckpoint(server.baseUrl, 'zurich')).text);
      const result = await verifyCli('zurich', keyOf('zurich'), '--json');
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        origin: `${DEPLOYMENT}/zurich`,
        size: checkpoint.treeSize,
        rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
        tilesChecked: tilesToWrite(0, checkpoint.treeSize).hashTiles.length,
        signedBy: [keyOf('zurich').split('+').slice(0, 2).join('+')],
        keysFollowed: [],
        cosignedBy: [],
      });
    });
  });

  describe.concurrent('when given another key', () => {
    it.each([
      ['the key of another node', () => keyOf('moscow')],
      [
        'a key of the same name but another public key',
        () =>
          loadNoteSigner(
            generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
            `${DEPLOYMENT}/control`,
          ).verifierKey,
      ],
    ])('exits non-zero for %s', async (_, key) => {
      const result = await verifyCli('control', key());
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/^glasshouse: .*\[[A-Z_]+\]/);
      expect(result.stdout).not.toContain('verified');
    });
  });

  describe('when given an older checkpoint of the same log with --from-checkpoint', () => {
    it('exits 0 once the log has grown, and reports that it extends the older one', async () => {
      const older = firstCheckpoints.get('control')!;
      const file = join(work, 'older-control-checkpoint');
      writeFileSync(file, older);
      // More entries on the control log: a token created and revoked by the CLI.
      const created = await runCliAsync([
        'token',
        'create',
        '--role',
        'legal',
        '--person',
        'Ledger Officer',
        '--json',
        '--data',
        dataDir,
      ]);
      expect(created.status, created.stderr).toBe(0);
      const { id } = JSON.parse(created.stdout) as { id: string };
      const revoked = await runCliAsync(['token', 'revoke', id, '--data', dataDir]);
      expect(revoked.status, revoked.stderr).toBe(0);
      const now = await waitForPublished(server.baseUrl, dataDir, 'control');
      expect(now.treeSize).toBe(checkpointSize(older) + 2);

      const result = await verifyCli('control', keyOf('control'), '--from-checkpoint', file);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`verified ${DEPLOYMENT}/control: ${now.treeSize} entries`);
      expect(result.stdout).toContain(`extends the older checkpoint of ${checkpointSize(older)} entries`);
    });
  });

  describe.concurrent('when --from-checkpoint is not an older state of this log', () => {
    it.each([
      ["zurich's checkpoint", () => firstCheckpoints.get('zurich')!, /UNVERIFIED_NOTE|UNEXPECTED_ORIGIN/],
      [
        'a checkpoint signed with the node key for another tree (a fork)',
        () => signedWithNodeKey('control', checkpointSize(firstCheckpoints.get('control')!), randomBytes(32)),
        /forked: the older checkpoint has root .* at size \d+, but the current log \(size \d+\) gives root .* at size \d+ \[LOG_FORKED\]/,
      ],
      [
        'a checkpoint signed with the node key for a larger tree',
        () => signedWithNodeKey('control', 1_000_000, randomBytes(32)),
        /larger than the current one/,
      ],
    ])('exits non-zero for %s', async (name, checkpoint, message) => {
      const file = join(work, `previous-${name.replace(/\W+/g, '-')}`);
      writeFileSync(file, checkpoint());
      const result = await verifyCli('control', keyOf('control'), '--from-checkpoint', file);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/^glasshouse: .*\[[A-Z_]+\]/);
      expect(result.stderr).toMatch(message);
    });
  });

  describe('when a published file was changed on disk', () => {
    it.each([
      [
        'a byte of the hash tile',
        (size: number) => tilePath({ level: 0, n: 0, width: size }),
        40,
        /does not match the entries/,
      ],
      [
        'a byte inside an entry of the entry bundle',
        (size: number) => entriesPath(0, size),
        -3,
        /do not hash to the checkpoint root/,
      ],
      [
        'the length prefix of an entry of the entry bundle',
        (size: number) => entriesPath(0, size),
        1,
        /\[[A-Z_]+\]/,
      ],
    ])('exits non-zero for %s', async (_, pathOf, offset, message) => {
      const { treeSize } = await fetchCheckpoint(server.baseUrl, 'control');
      expect(treeSize).toBeLessThan(TILE_WIDTH);
      const restore = flipByte(join(publicLogDirectory(dataDir, 'control'), pathOf(treeSize)), offset);
      try {
        const result = await verifyCli('control', keyOf('control'));
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/^glasshouse: /);
        expect(result.stderr).toMatch(message);
        expect(result.stdout).not.toContain('verified');
      } finally {
        restore();
      }
    });

    it('exits 0 again once the files are restored', async () => {
      const result = await verifyCli('control', keyOf('control'));
      expect(result.status, result.stderr).toBe(0);
    });
  });
});

/** A checkpoint signed with the node's real key (from the data directory), as a forger with the key would. */
function signedWithNodeKey(node: string, treeSize: number, rootHash: Uint8Array): string {
  const signer = loadNoteSigner(
    readFileSync(join(dataDir, 'keys', `${node}.ed25519.pem`), 'utf8'),
    `${DEPLOYMENT}/${node}`,
  );
  return signer.sign(formatCheckpoint({ origin: signer.name, treeSize, rootHash }));
}

describe('GET /v1/log/<node>/proof/inclusion', () => {
  describe('when an auditor asks for every entry of the control log at the checkpoint size', () => {
    it('returns proofs that each lead from the entry to the signed root', async () => {
      const checkpoint = opened('control', (await fetchCheckpoint(server.baseUrl, 'control')).text);
      const size = checkpoint.treeSize;
      const entries = await readPublishedEntries(httpReader('control'), size);
      for (let index = 0; index < size; index += 1) {
        const response = await api(
          'GET',
          `/v1/log/control/proof/inclusion?index=${index}&size=${size}`,
          tokens.auditor,
        );
        expect(response.status).toBe(200);
        const body = (await response.json()) as { index: number; size: number; proof: string[] };
        expect(body).toMatchObject({ index, size });
        const proof = body.proof.map((hash) => Buffer.from(hash, 'base64'));
        expect(() =>
          verifyInclusion(proof, index, size, hashLeaf(entries[index]!), Buffer.from(checkpoint.rootHash)),
        ).not.toThrow();
        if (index > 0) {
          expect(() =>
            verifyInclusion(
              proof,
              index,
              size,
              hashLeaf(entries[index - 1]!),
              Buffer.from(checkpoint.rootHash),
            ),
          ).toThrow();
        }
      }
    });

    it('matches what `glasshouse ledger prove` prints', async () => {
      const { treeSize } = await fetchCheckpoint(server.baseUrl, 'control');
      const index = Math.floor(treeSize / 2);
      const printed = await runCliAsync([
        'ledger',
        'prove',
        '--index',
        String(index),
        '--node',
        'control',
        '--data',
        dataDir,
        '--json',
      ]);
      expect(printed.status, printed.stderr).toBe(0);
      const response = await api(
        'GET',
        `/v1/log/control/proof/inclusion?index=${index}&size=${treeSize}`,
        tokens.auditor,
      );
      const entries = await readPublishedEntries(httpReader('control'), treeSize);
      expect(JSON.parse(printed.stdout)).toEqual({
        origin: `${DEPLOYMENT}/control`,
        index,
        size: treeSize,
        entry: entries[index]!.toString('utf8'),
        proof: ((await response.json()) as { proof: string[] }).proof,
      });
    });
  });
});

describe('GET /v1/log/<node>/proof/consistency', () => {
  describe('when an auditor asks between an older checkpoint and the current one', () => {
    it('returns a proof that the older signed tree is a prefix of the current signed tree', async () => {
      const older = opened('control', firstCheckpoints.get('control')!);
      const current = opened('control', (await fetchCheckpoint(server.baseUrl, 'control')).text);
      expect(current.treeSize).toBeGreaterThan(older.treeSize);
      const response = await api(
        'GET',
        `/v1/log/control/proof/consistency?from=${older.treeSize}&to=${current.treeSize}`,
        tokens.auditor,
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as { from: number; to: number; proof: string[] };
      expect(body).toMatchObject({ from: older.treeSize, to: current.treeSize });
      const proof = body.proof.map((hash) => Buffer.from(hash, 'base64'));
      expect(() =>
        verifyConsistency(
          proof,
          older.treeSize,
          current.treeSize,
          Buffer.from(older.rootHash),
          Buffer.from(current.rootHash),
        ),
      ).not.toThrow();
      expect(() =>
        verifyConsistency(
          proof,
          older.treeSize,
          current.treeSize,
          randomBytes(32),
          Buffer.from(current.rootHash),
        ),
      ).toThrow();
    });
  });

  describe('when an auditor asks from every earlier size to the checkpoint', () => {
    it('returns proofs that verify against the roots recomputed from the entries', async () => {
      const current = opened('control', (await fetchCheckpoint(server.baseUrl, 'control')).text);
      const leaves = (await readPublishedEntries(httpReader('control'), current.treeSize)).map(hashLeaf);
      for (let from = 1; from <= current.treeSize; from += 1) {
        const response = await api(
          'GET',
          `/v1/log/control/proof/consistency?from=${from}&to=${current.treeSize}`,
          tokens.auditor,
        );
        expect(response.status).toBe(200);
        const proof = ((await response.json()) as { proof: string[] }).proof.map((h) =>
          Buffer.from(h, 'base64'),
        );
        expect(() =>
          verifyConsistency(
            proof,
            from,
            current.treeSize,
            rootOfLeaves(leaves.slice(0, from)),
            Buffer.from(current.rootHash),
          ),
        ).not.toThrow();
      }
    });
  });
});

describe('proof routes', () => {
  describe('when the query is not a published tree or not an integer', () => {
    it.each([
      ['inclusion', (size: number) => `index=0&size=${size + 1}`, 'INVALID_PROOF_REQUEST'],
      ['inclusion', (size: number) => `index=${size}&size=${size}`, 'INVALID_PROOF_REQUEST'],
      ['inclusion', () => 'index=0&size=0', 'VALIDATION_FAILED'],
      ['inclusion', () => 'index=-1&size=2', 'VALIDATION_FAILED'],
      ['inclusion', () => 'index=1.5&size=2', 'VALIDATION_FAILED'],
      ['inclusion', () => 'index=one&size=2', 'VALIDATION_FAILED'],
      ['inclusion', () => 'index=0', 'VALIDATION_FAILED'],
      ['consistency', (size: number) => `from=1&to=${size + 1}`, 'INVALID_PROOF_REQUEST'],
      ['consistency', (size: number) => `from=${size}&to=${size - 1}`, 'INVALID_PROOF_REQUEST'],
      ['consistency', (size: number) => `from=0&to=${size}`, 'VALIDATION_FAILED'],
      ['consistency', () => 'from=1&to=2.5', 'VALIDATION_FAILED'],
      ['consistency', () => 'from=x&to=2', 'VALIDATION_FAILED'],
    ])('answers 400 with a problem document (%s, %s)', async (kind, query, code) => {
      const { treeSize } = await fetchCheckpoint(server.baseUrl, 'control');
      const response = await api('GET', `/v1/log/control/proof/${kind}?${query(treeSize)}`, tokens.auditor);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ status: 400, code });
    });
  });

  describe('when the node is unknown', () => {
    it.each(['inclusion?index=0&size=1', 'consistency?from=1&to=1'])('answers 404 for %s', async (query) => {
      const response = await api('GET', `/v1/log/atlantis/proof/${query}`, tokens.auditor);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ status: 404, code: 'LOG_NOT_FOUND' });
    });
  });

  describe('when the caller is not an auditor', () => {
    it('answers 401 without a token and 403 for an analyst', async () => {
      const path = '/v1/log/control/proof/inclusion?index=0&size=1';
      expect((await api('GET', path)).status).toBe(401);
      expect((await api('GET', path, tokens.analyst)).status).toBe(403);
    });
  });
});

describe('GET /log/<node>/tile/*', () => {
  describe('when a partial tile of the real server is requested', () => {
    it('serves the file on disk, with no-cache', async () => {
      const { treeSize } = await fetchCheckpoint(server.baseUrl, 'zurich');
      for (const path of [tilePath({ level: 0, n: 0, width: treeSize }), entriesPath(0, treeSize)]) {
        const response = await fetch(`${server.baseUrl}/log/zurich/${path}`);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/octet-stream');
        expect(response.headers.get('cache-control')).toBe('no-cache');
        expect(Buffer.from(await response.arrayBuffer())).toEqual(
          readFileSync(join(publicLogDirectory(dataDir, 'zurich'), path)),
        );
      }
    });
  });

  describe('when the path tries to leave the tile directory of the real server', () => {
    it.each(ESCAPES)('never serves a file for %s', async (path) => {
      const { status, body } = await rawGet(`/log/control/${path}`);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      for (const marker of SECRET_MARKERS) expect(body.includes(marker)).toBe(false);
    });
  });
});

describe('log routes (in-process, a log past one full tile)', () => {
  const ENTRIES = 300;
  let h: Harness;
  let size: number;
  let goWork: string;
  let notecheck: string;

  beforeAll(async () => {
    h = await startHarness();
    const log = h.glasshouse.logs.get('control')!;
    await Promise.all(
      Array.from({ length: ENTRIES }, (_, i) =>
        log.append({
          type: 'test.filler',
          time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
          actor: { role: 'admin', token: 'test' },
          i,
        }),
      ),
    );
    await publishAll(log);
    size = await log.publishedSize();
    expect(size).toBe(await log.size());
    expect(size).toBeGreaterThanOrEqual(ENTRIES);
    goWork = mkdtempSync(join(tmpdir(), 'glasshouse-ledger-go-'));
    if (!skipGo) {
      const build = spawnSync(GO_CHECK_SCRIPT, ['build', join(goWork, 'bin')], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (build.status !== 0) throw new Error(`building notecheck failed (${GO_INSTALL}?):\n${build.stderr}`);
      notecheck = build.stdout.trim();
    }
  }, 300_000);

  afterAll(async () => {
    await h?.close();
    if (goWork !== undefined) rmSync(goWork, { recursive: true, force: true });
  });

  describe('when a full tile or entry bundle is requested', () => {
    it.each(['tile/0/000', 'tile/entries/000'])('serves %s as immutable for a year', async (path) => {
      const response = await h.app.inject({ method: 'GET', url: `/log/control/${path}` });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.rawPayload).toEqual(readFileSync(join(publicLogDirectory(h.dataDir, 'control'), path)));
      if (path === 'tile/0/000') expect(response.rawPayload).toHaveLength(TILE_WIDTH * 32);
    });
  });

  describe('when a partial tile or entry bundle is requested', () => {
    it('serves each of them with no-cache', async () => {
      const partial = [
        tilePath({ level: 0, n: 1, width: size - TILE_WIDTH }),
        tilePath({ level: 1, n: 0, width: 1 }),
        entriesPath(1, size - TILE_WIDTH),
      ];
      const { hashTiles } = tilesToWrite(0, size);
      expect(hashTiles.map(tilePath)).toEqual(expect.arrayContaining(partial.slice(0, 2)));
      for (const path of partial) {
        const response = await h.app.inject({ method: 'GET', url: `/log/control/${path}` });
        expect(response.statusCode, path).toBe(200);
        expect(response.headers['cache-control']).toBe('no-cache');
      }
    });
  });

  describe('when the tile path is not the canonical C2SP spelling', () => {
    it.each([
      'tile/0/0',
      'tile/0/00',
      'tile/00/000',
      'tile/0/x000/000',
      'tile/0/000.p/256',
      'tile/0/000.p/0',
      'tile/0/000.p/01',
      'tile/0/000/',
      'tile/0/001.p',
      'tile/entries/000.p/300',
      'tile/ENTRIES/000',
      'tile/0/000.p/44.tmp',
    ])('answers 404 for %s', async (path) => {
      const response = await h.app.inject({ method: 'GET', url: `/log/control/${path}` });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    });
  });

  describe('when a canonical tile is not published', () => {
    it('answers 404', async () => {
      const response = await h.app.inject({ method: 'GET', url: '/log/control/tile/0/005' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'TILE_NOT_FOUND' });
    });
  });

  describe('when the path tries to leave the tile directory', () => {
    it.each(ESCAPES)('never serves a file for %s', async (path) => {
      const response = await h.app.inject({ method: 'GET', url: `/log/control/${path}` });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      for (const marker of SECRET_MARKERS) expect(response.rawPayload.includes(marker)).toBe(false);
    });
  });

  describe('when the published files are verified from disk', () => {
    it('verifies every entry bundle and hash tile', async () => {
      const verified = await verifyPublishedLog({
        read: diskReader(publicLogDirectory(h.dataDir, 'control')),
        verifierKey: nodeSigner(h.glasshouse.config, 'control').verifierKey,
      });
      expect(verified).toMatchObject({ origin: `${h.glasshouse.config.deployment}/control`, size });
      expect(verified.tilesChecked).toBe(tilesToWrite(0, size).hashTiles.length);
    });
  });

  describe.skipIf(skipGo)("when Go's golang.org/x/mod/sumdb checks the published directory", () => {
    /** The origin to expect is the key's name: each deployment has its own. */
    function goTiles(dir: string, key: string) {
      return spawnSync(
        notecheck,
        ['tiles', '-key', key, '-origin', parseVerifierKey(key).name, '-dir', dir, '-records', 'all'],
        { encoding: 'utf8', timeout: 120_000 },
      );
    }

    it("accepts the harness's control log of more than one full tile, proving every record", () => {
      const key = nodeSigner(h.glasshouse.config, 'control').verifierKey;
      const result = goTiles(publicLogDirectory(h.dataDir, 'control'), key);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        origin: `${h.glasshouse.config.deployment}/control`,
        treeSize: size,
        recordsChecked: size,
      });
    });

    it('accepts the published logs of the real server', () => {
      for (const node of ['control', 'zurich'] as const) {
        const result = goTiles(publicLogDirectory(dataDir, node), keyOf(node));
        expect(result.stderr, node).toBe('');
        expect(result.status, node).toBe(0);
      }
    });

    it.each([
      ['the full level-0 tile', 'tile/0/000'],
      ['the partial level-0 tile', (s: number) => tilePath({ level: 0, n: 1, width: s - TILE_WIDTH })],
      ['the level-1 tile', 'tile/1/000.p/1'],
    ])('rejects the log with exit status 1 once a byte of %s is flipped', (_, path) => {
      const copy = join(goWork, `copy-${randomBytes(4).toString('hex')}`);
      cpSync(publicLogDirectory(h.dataDir, 'control'), copy, { recursive: true });
      flipByte(join(copy, typeof path === 'string' ? path : path(size)), 5);
      const result = goTiles(copy, nodeSigner(h.glasshouse.config, 'control').verifierKey);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^notecheck: /);
    });
  });
});
