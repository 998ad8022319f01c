import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-errors.js';
import { masterKeyFiles, readKeyFile, refuseUnfinishedRotation } from './master-key-files.js';

/** The example configuration `init` copies; found beside the sources from `src/` and `dist/`. */
export const EXAMPLE_CONFIG_PATH = new URL('../../src/config/example-config.yaml', import.meta.url);

export const CONTROL_NODE = 'control';

export function keysDirectory(dataDir: string): string {
  return join(dataDir, 'keys');
}

export function controlDirectory(dataDir: string): string {
  return join(dataDir, 'control');
}

/**
 * Makes every file and directory this process creates from now on owner-only (0600, 0700),
 * whoever creates it: our stores pass modes themselves, but SQLite and DuckDB (databases,
 * write-ahead logs, temporary files) create theirs with 0644 less the umask. The umask is
 * process-wide and only the main thread may set it; workers create no files in the data
 * directory.
 */
export function restrictNewFiles(): void {
  if (isMainThread) process.umask(0o077);
}

export interface InitResult {
  readonly created: boolean;
  /** The deployment's name in the config: the first part of every log origin. */
  readonly deployment: string;
  readonly configFile: string;
  readonly keysCreated: readonly string[];
}

/** What a deployment name may be (config `deployment`, the first part of log origins). */
export const DEPLOYMENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A new deployment's own name: random, so that no two deployments' logs share an origin
 * (an auditor tells them apart by name, and a key of one never seems to fit the other).
 */
export function newDeploymentName(): string {
  return `glasshouse-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates the data directory (owner-only) with the example configuration under a name of
 * its own (`deployment`, default {@link newDeploymentName}), and the master key and signing
 * key of every node the configuration names. Idempotent: existing files are never
 * overwritten (an existing deployment keeps its name), so `up` can run it on every start to
 * add keys for new sites.
 *
 * @example
 * initDataDir({ dataDir: './glasshouse-data', configFile: './glasshouse-data/config.yaml' });
 */
export function initDataDir(paths: {
  dataDir: string;
  configFile: string;
  deployment?: string;
  /** A control plane whose sites run elsewhere (`glasshouse control`): the control key only. */
  controlOnly?: boolean;
}): InitResult {
  restrictNewFiles();
  const created = !existsSync(paths.configFile);
  if (created && paths.deployment !== undefined && !DEPLOYMENT_PATTERN.test(paths.deployment)) {
    throw new ConfigError(
      'INVALID_CONFIG',
      `deployment name "${paths.deployment}": letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit`,
    );
  }
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.dataDir, 0o700);
  if (created) {
    const deployment = paths.deployment ?? newDeploymentName();
    const config = readFileSync(EXAMPLE_CONFIG_PATH, 'utf8').replace(
      /^deployment: \S+/m,
      `deployment: ${deployment}`,
    );
    writeFileSync(paths.configFile, config, { mode: 0o600, flag: 'wx' });
  }
  const keysCreated: string[] = [];
  const keys = keysDirectory(paths.dataDir);
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  const sites = paths.controlOnly === true ? [] : siteNamesIn(paths.configFile);
  for (const node of [CONTROL_NODE, ...sites]) {
    if (node !== CONTROL_NODE && createMasterKey(keys, node)) keysCreated.push(`${node}.master.key`);
    if (writeOnce(join(keys, `${node}.ed25519.pem`), () => newSigningKey()))
      keysCreated.push(`${node}.ed25519.pem`);
  }
  return { created, deployment: deploymentIn(paths.configFile), configFile: paths.configFile, keysCreated };
}

/**
 * Creates a site's own data directory (`glasshouse site`), owner-only, with its master key
 * and log signing key in `keys/` unless they exist: neither ever leaves this directory.
 * Returns the keys it created.
 *
 * @example
 * initSiteDataDir('./zurich-data', 'zurich'); // ['zurich.master.key', 'zurich.ed25519.pem'] the first time
 */
export function initSiteDataDir(dataDir: string, site: string): string[] {
  restrictNewFiles();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const keys = keysDirectory(dataDir);
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  if (createMasterKey(keys, site)) created.push(`${site}.master.key`);
  if (writeOnce(join(keys, `${site}.ed25519.pem`), () => newSigningKey()))
    created.push(`${site}.ed25519.pem`);
  return created;
}

/**
 * Reads a site's 256-bit master key; a missing or damaged key stops the start, and so does
 * an unfinished rotation of it (`glasshouse keys rotate` completes it first).
 */
export function readMasterKey(dataDir: string, site: string): Buffer {
  const files = masterKeyFiles(keysDirectory(dataDir), site);
  refuseUnfinishedRotation(files, site);
  if (!existsSync(files.key)) {
    throw new ConfigError(
      'INVALID_CONFIG',
      `missing master key for site ${site} (${files.key}); run \`glasshouse init\``,
    );
  }
  try {
    return readKeyFile(files.key);
  } catch (cause) {
    throw new ConfigError('INVALID_CONFIG', `${files.key}: a master key is exactly 32 bytes`, { cause });
  }
}

/**
 * A new site's master key, unless it has one, or a rotation of it is under way (its old key
 * may be gone for a moment while the new one takes its name: never replace it then).
 */
function createMasterKey(keysDir: string, site: string): boolean {
  const files = masterKeyFiles(keysDir, site);
  if (existsSync(files.next) || existsSync(files.rotation)) return false;
  return writeOnce(files.key, () => randomBytes(32));
}

function writeOnce(file: string, content: () => string | Buffer): boolean {
  if (existsSync(file)) return false;
  writeFileSync(file, content(), { mode: 0o600, flag: 'wx' });
  return true;
}

/** An Ed25519 key for signing the node's log checkpoints (used by the log). */
function newSigningKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Site names straight from the YAML; full validation happens in `loadConfig`. */
function siteNamesIn(configFile: string): string[] {
  return Object.keys(rawConfig(configFile)?.sites ?? {}).filter((name) =>
    /^[a-z][a-z0-9-]{0,31}$/.test(name),
  );
}

function deploymentIn(configFile: string): string {
  return String(rawConfig(configFile)?.deployment ?? '');
}

function rawConfig(configFile: string): { sites?: Record<string, unknown>; deployment?: unknown } | null {
  return parseYaml(readFileSync(configFile, 'utf8')) as {
    sites?: Record<string, unknown>;
    deployment?: unknown;
  } | null;
}
