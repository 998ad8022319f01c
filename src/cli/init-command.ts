import type { Command } from 'commander';
import { initDataDir } from '../config/data-dir.js';
import { loadConfig, resolvePaths } from '../config/load.js';
import { openGlasshouse } from '../main.js';
import { assertNoInterruptedRestore } from '../operations/backup/index.js';
import { type DataDirOptions, overridesOf, withDataDirOptions } from './data-dir-options.js';
import { action, printResult } from './output.js';

export function registerInit(program: Command): void {
  withDataDirOptions(program.command('init'))
    .description('create a data directory: example config, site master keys, signing keys and an admin token')
    .option(...DEPLOYMENT_OPTION)
    .option('--json', 'print JSON')
    .action(
      action(async (options: InitOptions & { json?: boolean }) => {
        const result = await initialize(options);
        printResult(options.json === true, result, () =>
          [
            result.created
              ? `created ${result.dataDir}`
              : `${result.dataDir} already exists; added what was missing`,
            `  deployment ${result.deployment} (log origins ${result.deployment}/<node>)`,
            ...result.keysCreated.map((k) => `  key ${k}`),
            ...(result.adminToken === undefined ? [] : adminTokenLines(result.adminToken)),
          ].join('\n'),
        );
      }),
    );
}

export interface InitOptions extends DataDirOptions {
  readonly deployment?: string;
}

/** `--deployment NAME`, for `init` and for `up` on a new data directory. */
export const DEPLOYMENT_OPTION = [
  '--deployment <name>',
  "a new data directory's deployment name, the first part of its log origins (default: glasshouse-<random>); an existing one keeps its name",
] as const;

export interface Initialized {
  readonly dataDir: string;
  readonly created: boolean;
  readonly deployment: string;
  readonly keysCreated: readonly string[];
  /** Only on the first initialization: printed once, stored hashed. */
  readonly adminToken?: string;
}

/** Creates or completes the data directory; the first time, also an admin token. */
export async function initialize(options: InitOptions): Promise<Initialized> {
  const paths = resolvePaths(overridesOf(options));
  assertNoInterruptedRestore(paths.dataDir);
  const result = initDataDir({
    ...paths,
    ...(options.deployment === undefined ? {} : { deployment: options.deployment }),
  });
  const glasshouse = await openGlasshouse(loadConfig({ ...overridesOf(options), logLevel: 'silent' }));
  try {
    const hasTokens = (await glasshouse.tokens.list()).length > 0;
    const admin = hasTokens
      ? undefined
      : await glasshouse.tokens.create(
          { role: 'admin', label: 'initial admin' },
          { role: 'admin', token: 'init' },
        );
    return {
      dataDir: paths.dataDir,
      created: result.created,
      deployment: result.deployment,
      keysCreated: result.keysCreated,
      ...(admin === undefined ? {} : { adminToken: admin.token }),
    };
  } finally {
    await glasshouse.close();
  }
}

export function adminTokenLines(token: string): string[] {
  return ['', 'Admin token (shown once; store it now):', `  ${token}`, ''];
}
