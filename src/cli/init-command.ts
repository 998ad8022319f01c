import type { Command } from 'commander';
import { initDataDir } from '../config/data-dir.js';
import { loadConfig, resolvePaths } from '../config/load.js';
import { openGlasshouse } from '../main.js';
import { type DataDirOptions, overridesOf, withDataDirOptions } from './data-dir-options.js';
import { action, printResult } from './output.js';

export function registerInit(program: Command): void {
  withDataDirOptions(program.command('init'))
    .description('create a data directory: example config, site master keys, signing keys and an admin token')
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & { json?: boolean }) => {
        const result = await initialize(options);
        printResult(options.json === true, result, () =>
          [
            result.created
              ? `created ${result.dataDir}`
              : `${result.dataDir} already exists; added what was missing`,
            ...result.keysCreated.map((k) => `  key ${k}`),
            ...(result.adminToken === undefined ? [] : adminTokenLines(result.adminToken)),
          ].join('\n'),
        );
      }),
    );
}

export interface Initialized {
  readonly dataDir: string;
  readonly created: boolean;
  readonly keysCreated: readonly string[];
  /** Only on the first initialization: printed once, stored hashed. */
  readonly adminToken?: string;
}

/** Creates or completes the data directory; the first time, also an admin token. */
export async function initialize(options: DataDirOptions): Promise<Initialized> {
  const paths = resolvePaths(overridesOf(options));
  const result = initDataDir(paths);
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
