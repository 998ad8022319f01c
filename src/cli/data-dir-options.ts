import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { type ConfigOverrides, loadConfig } from '../config/load.js';
import type { Glasshouse } from '../main.js';
import { openDeployment } from './remote-sites.js';

export interface DataDirOptions {
  readonly data?: string;
  readonly config?: string;
}

export function withDataDirOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'data directory (default: $GLASSHOUSE_DATA or ./glasshouse-data)')
    .option('--config <file>', 'configuration file (default: <data>/config.yaml)');
}

export function overridesOf(options: DataDirOptions): ConfigOverrides {
  return { dataDir: options.data, configFile: options.config };
}

/**
 * Opens the data directory for a one-shot command. The server may be running on it too, so
 * this never runs crash recovery (that is `up`'s job, before it serves). A control plane's
 * own data directory (`glasshouse control`) reaches its sites over mutual TLS.
 */
export async function withGlasshouse<T>(
  options: DataDirOptions,
  body: (glasshouse: Glasshouse, config: Config) => Promise<T>,
): Promise<T> {
  const overrides = overridesOf(options);
  const config = loadConfig({ ...overrides, logLevel: 'silent' });
  const glasshouse = await openDeployment(config);
  try {
    return await body(glasshouse, config);
  } finally {
    await glasshouse.close();
  }
}

export const CLI_ACTOR = { role: 'admin', token: 'cli' } as const;
