import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosignerFromKey } from '../ledger/note/index.js';
import { ConfigError } from './config-errors.js';
import { EXAMPLE_CONFIG_PATH } from './data-dir.js';
import { loadConfig } from './load.js';

const example = readFileSync(EXAMPLE_CONFIG_PATH, 'utf8');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-config-'));
  dirs.push(dataDir);
  writeFileSync(join(dataDir, 'config.yaml'), text);
  return loadConfig({ dataDir }, env);
}

function expectConfigError(run: () => unknown, pattern: RegExp) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('INVALID_CONFIG');
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  describe('when the example configuration is loaded', () => {
    it('returns a frozen config with both sites, five policy versions and the defaults', () => {
      const config = load(example);
      expect(config.sites.map((s) => [s.name, s.jurisdiction])).toEqual([
        ['zurich', 'CH'],
        ['moscow', 'RU'],
      ]);
      expect(config.policy).toHaveLength(5);
      expect(config.limits.maxSampleBytes).toBe(256 * 1024 * 1024);
      expect(config.server).toEqual({
        host: '127.0.0.1',
        port: 8080,
        trustProxy: [],
        maxConnectionsPerAddress: 64,
        headersTimeoutMs: 20_000,
        requestTimeoutMs: 300_000,
        keepAliveTimeoutMs: 72_000,
        minBodyBytesPerSecond: 1024,
        bodyGraceMs: 10_000,
      });
      expect(config.rateLimits.failedAuthPerAddress).toEqual({ max: 20, windowMs: 300_000 });
      expect(config.rateLimits.registrationsPerToken.max).toBe(0);
      expect(config.lookup.maxImportBytes).toBe(1024 ** 3);
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.server)).toBe(true);
    });
  });

  describe('when the environment sets the port', () => {
    it('takes it over the file, and rejects a non-number naming the variable', () => {
      expect(load(example, { GLASSHOUSE_PORT: '9000' }).server.port).toBe(9000);
      expectConfigError(() => load(example, { GLASSHOUSE_PORT: 'eighty' }), /GLASSHOUSE_PORT/);
    });
  });

  describe('when the file is wrong', () => {
    it.each([
      ['not: [valid', /not valid YAML/],
      [example.replace('jurisdiction: CH', 'jurisdiction: ch'), /sites\.zurich\.jurisdiction/],
      [
        example.replace('jurisdiction: CH', 'jurisdiction: XX'),
        /sites\.zurich\.jurisdiction: "XX" is not an ISO 3166-1/,
      ],
      [example.replace('port: 8080', 'port: 99999'), /server\.port/],
      [
        example.replace('trustProxy: []', 'trustProxy: [10.0.0.0/8, proxy.example]'),
        /server\.trustProxy\[1\]/,
      ],
      [example.replace('trustProxy: []', 'trustProxy: [10.0.0.0/33]'), /server\.trustProxy\[0\]/],
      [example.replace('perAddress: { max: 6000', 'perAddress: { max: -1'), /rateLimits\.perAddress\.max/],
      [example.replace('headersTimeoutMs: 20000', 'headersTimeoutMs: 400000'), /server\.headersTimeoutMs/],
      [
        example.replace('deployment:', 'deployment_name:'),
        /deployment: is required\n {2}deployment_name: unknown key; expected one of deployment, server/,
      ],
      [example.replace('server:', 'servr:'), /: servr: unknown key; did you mean server\?/],
      [
        example.replace('jurisdiction: CH', 'jurisdiction: CH\n    owner: x'),
        /sites\.zurich\.owner: unknown key/,
      ],
      [example.replace(/default: moscow/, 'default: geneva'), /policy\[0\]\.default/],
      [example.replace('maxSampleBytes: 268435456', 'maxSampleBytes: -1'), /limits\.maxSampleBytes/],
    ])('names the key and the problem (%#)', (text, pattern) => {
      expectConfigError(() => load(text), pattern);
    });
  });

  describe('when the file names storage engines', () => {
    const engines = example
      .replace(
        'sites:\n',
        'storage:\n  metadata: postgres://glasshouse@db.control.internal/glasshouse\n  tiles: s3://control-public/log?endpoint=https://s3.control.internal\nsites:\n',
      )
      .replace(
        'jurisdiction: CH\n',
        'jurisdiction: CH\n    storage:\n      blobs: s3://zurich-samples/blobs?region=eu-central-2\n      stats: clickhouse://ch.zurich.internal:8123/glasshouse\n',
      );

    it('keeps the embedded engines as the default of every node', () => {
      const config = load(example);
      expect(config.storage).toEqual({ metadata: { engine: 'sqlite' }, tiles: { engine: 'fs' } });
      for (const site of config.sites) {
        expect(site.storage).toEqual({
          metadata: { engine: 'sqlite' },
          tiles: { engine: 'fs' },
          blobs: { engine: 'fs' },
          stats: { engine: 'duckdb' },
        });
      }
    });

    it('reads the control plane and each site separately', () => {
      const config = load(engines);
      expect(config.storage).toEqual({
        metadata: {
          engine: 'postgres',
          url: 'postgres://glasshouse@db.control.internal/glasshouse',
          key: 'storage.metadata',
        },
        tiles: {
          engine: 's3',
          url: 's3://control-public/log?endpoint=https://s3.control.internal',
          key: 'storage.tiles',
        },
      });
      const [zurich, moscow] = config.sites;
      expect(zurich?.storage).toEqual({
        metadata: { engine: 'sqlite' },
        tiles: { engine: 'fs' },
        blobs: {
          engine: 's3',
          url: 's3://zurich-samples/blobs?region=eu-central-2',
          key: 'sites.zurich.storage.blobs',
        },
        stats: {
          engine: 'clickhouse',
          url: 'clickhouse://ch.zurich.internal:8123/glasshouse',
          key: 'sites.zurich.storage.stats',
        },
      });
      expect(moscow?.storage.blobs).toEqual({ engine: 'fs' });
    });

    it.each([
      [
        'metadata: postgres://glasshouse:hunter2@db',
        /storage\.metadata: holds a password; give it in PGPASSWORD/,
      ],
      ['metadata: mysql://db/glasshouse', /storage\.metadata: mysql:\/\/ is not a metadata engine here/],
      ['metadata: duckdb', /storage\.metadata: "duckdb" is neither "sqlite" or a postgres:\/\//],
      ['tiles: clickhouse://ch:8123/x', /storage\.tiles: clickhouse:\/\/ is not a tiles engine/],
      ['blobs: s3://bucket/blobs', /storage\.blobs: unknown key/],
    ])('names the key and the problem of %s', (line, pattern) => {
      expectConfigError(() => load(example.replace('sites:\n', `storage:\n  ${line}\nsites:\n`)), pattern);
    });

    it('names the site whose engine is wrong', () => {
      const text = example.replace(
        'jurisdiction: RU\n',
        'jurisdiction: RU\n    storage:\n      stats: clickhouse://user:secret@ch:8123/glasshouse\n',
      );
      expectConfigError(
        () => load(text),
        /sites\.moscow\.storage\.stats: holds a password; give it in CLICKHOUSE_PASSWORD/,
      );
    });
  });

  describe('when the file names witnesses (ledger.witnesses)', () => {
    const witness = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.example/w1');
    const withWitness = (entry: string) =>
      example.replace('ledger:\n', `ledger:\n  witnesses:\n    - ${entry}\n`);

    it('reads each with its key and URL, and the default timeout', () => {
      const config = load(
        withWitness(
          `{ name: witness.example/w1, key: "${witness.verifierKey}", url: "http://127.0.0.1:7380/" }`,
        ),
      );
      expect(config.ledger.witnesses).toEqual([
        { name: 'witness.example/w1', key: witness.verifierKey, url: 'http://127.0.0.1:7380' },
      ]);
      expect(config.ledger.witnessTimeoutMs).toBe(1000);
    });

    it.each([
      [
        'a key of another name',
        `{ name: witness.example/w2, key: "${witness.verifierKey}", url: "http://w" }`,
        /witnesses\[0\]\.name/,
      ],
      [
        'a log key instead of a witness key',
        '{ name: a, key: "a+00000000+AQ==", url: "http://w" }',
        /witnesses\[0\]\.key/,
      ],
      [
        'a URL that is not http(s)',
        `{ name: witness.example/w1, key: "${witness.verifierKey}", url: "ftp://w" }`,
        /witnesses\[0\]\.url/,
      ],
    ])('refuses %s, naming the key', (_, entry, pattern) => {
      expectConfigError(() => load(withWitness(entry)), pattern);
    });
  });

  describe('when the file asks for a test-only fault', () => {
    it('refuses privacy.crashAfterStep: no deployment can make its server kill itself', () => {
      expectConfigError(
        () => load(`${example}\nprivacy:\n  crashAfterStep: 1\n`),
        /privacy|additional properties/,
      );
    });
  });

  describe('when the file has several problems', () => {
    it('reports every one at once, each with its key', () => {
      const text = example
        .replace('server:', 'servr:')
        .replace('maxSampleBytes: 268435456', 'maxSampleBytes: -1')
        .replace('jurisdiction: RU', 'jurisdiction: ru');
      expectConfigError(
        () => load(text),
        /3 problems:\n {2}servr: .*\n {2}limits\.maxSampleBytes: .*\n {2}sites\.moscow\.jurisdiction: /,
      );
    });

    it('reports every semantic problem at once too', () => {
      const text = example
        .replace('jurisdiction: CH', 'jurisdiction: XX')
        .replace(/default: moscow/, 'default: geneva');
      expectConfigError(
        () => load(text),
        /2 problems:\n {2}sites\.zurich\.jurisdiction: .*\n {2}policy\[0\]\.default/,
      );
    });
  });

  describe('when there is no file', () => {
    it('says to run init', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-config-'));
      dirs.push(dataDir);
      expect(() => loadConfig({ dataDir }, {})).toThrow(/glasshouse init/);
    });
  });
});
