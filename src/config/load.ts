import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { Value } from 'typebox/value';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { isCountryCode, validatePolicyVersion, validateRegions } from '../control/residency/index.js';
import { parseCosignerVerifierKey } from '../ledger/note/index.js';
import { GlasshouseError } from '../shared/errors.js';
import { type Config, DEFAULTS, type WitnessConfig } from './config.js';
import { ConfigError } from './config-errors.js';
import { type ConfigFile, ConfigFileSchema } from './config-schema.js';
import {
  type ControlStorage,
  EMBEDDED_CONTROL_STORAGE,
  EMBEDDED_SITE_STORAGE,
  parseStorageLocation,
  type SiteStorage,
  type StorageKey,
} from './storage-locations.js';

/** Settings given on the command line; they win over the environment and the file. */
export interface ConfigOverrides {
  readonly dataDir?: string | undefined;
  readonly configFile?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly logLevel?: string | undefined;
}

/** Where the data directory and its config file are, before the file is read. */
export function resolvePaths(
  overrides: ConfigOverrides,
  env: NodeJS.ProcessEnv = process.env,
): { dataDir: string; configFile: string } {
  const dataDir = resolve(overrides.dataDir ?? env.GLASSHOUSE_DATA ?? DEFAULTS.dataDir);
  const configFile = resolve(overrides.configFile ?? env.GLASSHOUSE_CONFIG ?? `${dataDir}/config.yaml`);
  return { dataDir, configFile };
}

/**
 * Reads the environment and the config file once, validates them, and returns a frozen
 * config. Every problem names the file, the key and what is wrong.
 *
 * @example
 * const config = loadConfig({ dataDir: './glasshouse-data', port: 9000 });
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const { dataDir, configFile } = resolvePaths(overrides, env);
  const file = parseConfigFile(readConfigText(configFile), configFile);
  const envPort = env.GLASSHOUSE_PORT === undefined ? undefined : parsePort(env.GLASSHOUSE_PORT);
  const storageProblems: ConfigProblem[] = [];
  const config: Config = {
    deployment: file.deployment,
    dataDir,
    configFile,
    storage: readStorage('storage', file.storage, EMBEDDED_CONTROL_STORAGE, storageProblems),
    server: {
      host: overrides.host ?? env.GLASSHOUSE_HOST ?? file.server?.host ?? DEFAULTS.host,
      port: overrides.port ?? envPort ?? file.server?.port ?? DEFAULTS.port,
      trustProxy: file.server?.trustProxy ?? DEFAULTS.server.trustProxy,
      maxConnectionsPerAddress:
        file.server?.maxConnectionsPerAddress ?? DEFAULTS.server.maxConnectionsPerAddress,
      headersTimeoutMs: file.server?.headersTimeoutMs ?? DEFAULTS.server.headersTimeoutMs,
      requestTimeoutMs: file.server?.requestTimeoutMs ?? DEFAULTS.server.requestTimeoutMs,
      keepAliveTimeoutMs: file.server?.keepAliveTimeoutMs ?? DEFAULTS.server.keepAliveTimeoutMs,
      minBodyBytesPerSecond: file.server?.minBodyBytesPerSecond ?? DEFAULTS.server.minBodyBytesPerSecond,
      bodyGraceMs: file.server?.bodyGraceMs ?? DEFAULTS.server.bodyGraceMs,
    },
    rateLimits: { ...DEFAULTS.rateLimits, ...file.rateLimits },
    limits: { maxSampleBytes: file.limits?.maxSampleBytes ?? DEFAULTS.maxSampleBytes },
    samples: { fingerprints: file.samples?.fingerprints ?? true },
    log: { level: overrides.logLevel ?? env.GLASSHOUSE_LOG_LEVEL ?? DEFAULTS.logLevel },
    ledger: {
      checkpointIntervalMs: file.ledger?.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
      witnessTimeoutMs: file.ledger?.witnessTimeoutMs ?? DEFAULTS.witnessTimeoutMs,
      witnesses: readWitnesses(file.ledger?.witnesses ?? [], storageProblems),
    },
    lookup: {
      maxBatch: file.lookup?.maxBatch ?? DEFAULTS.lookupMaxBatch,
      maxImportBytes: file.lookup?.maxImportBytes ?? DEFAULTS.lookupMaxImportBytes,
    },
    stats: { ...DEFAULTS.stats, ...file.stats },
    sites: Object.entries(file.sites).map(([name, site]) => ({
      name,
      jurisdiction: site.jurisdiction,
      description: site.description ?? '',
      ...(site.url === undefined ? {} : { url: site.url }),
      storage: readStorage(`sites.${name}.storage`, site.storage, EMBEDDED_SITE_STORAGE, storageProblems),
    })),
    regions: new Map(Object.entries(file.regions ?? {})),
    policy: file.policy.map((v) => ({
      ...(v.effectiveFrom === undefined ? {} : { effectiveFrom: v.effectiveFrom }),
      default: v.default,
      assign: v.assign.map((a) => ({ regions: a.regions ?? [], countries: a.countries ?? [], site: a.site })),
    })),
  };
  if (storageProblems.length > 0) throw configError(configFile, storageProblems);
  checkSemantics(config);
  return deepFreeze(config);
}

/** `ledger.witnesses`: each key must be a witness key named as the entry, each URL http(s). */
function readWitnesses(given: readonly WitnessConfig[], problems: ConfigProblem[]): WitnessConfig[] {
  given.forEach((witness, i) => {
    const at = `ledger.witnesses[${i}]`;
    try {
      const key = parseCosignerVerifierKey(witness.key);
      if (key.name !== witness.name) {
        problems.push({ key: `${at}.name`, problem: `the key is named ${key.name}, not ${witness.name}` });
      }
    } catch (error) {
      problems.push({ key: `${at}.key`, problem: `not a witness key: ${(error as Error).message}` });
    }
    if (!/^https?:\/\/[^\s]+$/.test(witness.url)) {
      problems.push({ key: `${at}.url`, problem: 'an http:// or https:// URL' });
    }
  });
  return given.map((w) => ({ name: w.name, key: w.key, url: w.url.replace(/\/+$/, '') }));
}

/** Each key of a `storage:` block as a location; problems are collected under their keys. */
function readStorage<S extends ControlStorage | SiteStorage>(
  at: string,
  given: Readonly<Partial<Record<StorageKey, string>>> | undefined,
  defaults: S,
  problems: ConfigProblem[],
): S {
  const storage: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(defaults) as StorageKey[]) {
    const parsed = parseStorageLocation(at, key, given?.[key]);
    if ('problem' in parsed) problems.push({ key: `${at}.${key}`, problem: parsed.problem });
    else storage[key] = parsed.location;
  }
  return storage as S;
}

function readConfigText(configFile: string): string {
  try {
    return readFileSync(configFile, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'CONFIG_NOT_FOUND',
      `cannot read config file ${configFile}; run \`glasshouse init\` to create one`,
      { cause },
    );
  }
}

/** Parses and schema-checks the YAML text, reporting every problem of the file at once. */
export function parseConfigFile(text: string, source: string): ConfigFile {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    const detail = cause instanceof YAMLParseError ? cause.message.split('\n', 1)[0] : String(cause);
    throw new ConfigError('INVALID_CONFIG', `${source}: not valid YAML: ${detail}`, { cause });
  }
  const problems = schemaProblems(raw);
  if (problems.length > 0) throw configError(source, problems);
  return raw as ConfigFile;
}

/** One problem of the file: the dotted key (`server.port`, `policy[0].default`) and what is wrong. */
export interface ConfigProblem {
  readonly key: string;
  readonly problem: string;
}

function schemaProblems(raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const error of Value.Errors(ConfigFileSchema, raw)) {
    // `additionalProperties: false` reports each unknown key twice; keep the one naming it.
    if (error.keyword === 'boolean') continue;
    const key = pointerToKey(error.instancePath);
    if (error.keyword === 'additionalProperties') {
      const known = knownKeys(error.schemaPath);
      for (const name of (error.params as { additionalProperties?: string[] }).additionalProperties ?? []) {
        problems.push({ key: key === '' ? name : `${key}.${name}`, problem: unknownKey(name, known) });
      }
      continue;
    }
    if (error.keyword === 'required') {
      for (const name of (error.params as { requiredProperties?: string[] }).requiredProperties ?? []) {
        problems.push({ key: key === '' ? name : `${key}.${name}`, problem: 'is required' });
      }
      continue;
    }
    problems.push({ key: key || '(top level)', problem: error.message });
  }
  return problems;
}

function unknownKey(name: string, known: readonly string[]): string {
  const near = known.find((k) => editDistance(k, name) <= 2);
  if (near !== undefined) return `unknown key; did you mean ${near}?`;
  return known.length === 0 ? 'unknown key' : `unknown key; expected one of ${known.join(', ')}`;
}

/** The property names the schema at a JSON pointer (`#/properties/sites/...`) allows. */
function knownKeys(schemaPath: string): string[] {
  let node: unknown = ConfigFileSchema;
  for (const part of schemaPath
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  const properties = (node as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties === undefined ? [] : Object.keys(properties);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function configError(source: string, problems: readonly ConfigProblem[]): ConfigError {
  const [only] = problems;
  const message =
    problems.length === 1 && only !== undefined
      ? `${source}: ${only.key}: ${only.problem}`
      : [`${source}: ${problems.length} problems:`, ...problems.map((p) => `  ${p.key}: ${p.problem}`)].join(
          '\n',
        );
  return new ConfigError('INVALID_CONFIG', message, {
    details: { key: only?.key, problems: problems.map((p) => ({ ...p })) },
  });
}

function checkSemantics(config: Config): void {
  const problems: ConfigProblem[] = [];
  for (const site of config.sites) {
    if (!isCountryCode(site.jurisdiction)) {
      problems.push({
        key: `sites.${site.name}.jurisdiction`,
        problem: `"${site.jurisdiction}" is not an ISO 3166-1 alpha-2 code`,
      });
    }
  }
  for (const [i, entry] of config.server.trustProxy.entries()) {
    if (!isAddressOrCidr(entry)) {
      problems.push({ key: `server.trustProxy[${i}]`, problem: `"${entry}" is not an IP address or CIDR` });
    }
  }
  if (config.server.headersTimeoutMs > config.server.requestTimeoutMs) {
    problems.push({
      key: 'server.headersTimeoutMs',
      problem: 'must not be longer than server.requestTimeoutMs',
    });
  }
  const ctx = { sites: new Set(config.sites.map((s) => s.name)), regions: config.regions };
  collectAt(problems, 'regions', () => validateRegions(Object.fromEntries(config.regions)));
  let previous: ReturnType<typeof validatePolicyVersion> | undefined;
  config.policy.forEach((version, i) => {
    if (version.effectiveFrom === undefined) {
      problems.push({ key: `policy[${i}].effectiveFrom`, problem: 'is required in the file' });
    }
    const now = new Date(version.effectiveFrom ?? 0);
    previous =
      collectAt(problems, `policy[${i}]`, () =>
        validatePolicyVersion(version, ctx, previous === undefined ? { now } : { now, previous }),
      ) ?? previous;
  });
  if (problems.length > 0) throw configError(config.configFile, problems);
}

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const prefix = Number(bits);
  return /^\d{1,3}$/.test(bits) && prefix <= (version === 4 ? 32 : 128);
}

/** Runs a domain check, recording its error under `key` instead of stopping at it. */
function collectAt<T>(problems: ConfigProblem[], key: string, check: () => T): T | undefined {
  try {
    return check();
  } catch (cause) {
    if (!(cause instanceof GlasshouseError)) throw cause;
    const field = typeof cause.details?.field === 'string' ? `${key}.${cause.details.field}` : key;
    problems.push({ key: field, problem: cause.message });
    return undefined;
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError('INVALID_CONFIG', `GLASSHOUSE_PORT: "${text}" is not a port number`);
  }
  return port;
}

function pointerToKey(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
