import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { type MigrationReport, migratableNodes, migrateNodeStorage } from '../storage-migration.js';
import { type DataDirOptions, overridesOf, withDataDirOptions } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

interface MigrateOptions extends DataDirOptions {
  readonly node: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

export function registerStorage(program: Command): void {
  const storage = program
    .command('storage')
    .description(
      "a node's stores: the embedded ones in the data directory, or the engines config.yaml names",
    );

  withDataDirOptions(storage.command('migrate'))
    .description(
      "copy one node's data from its embedded stores in the data directory to the engines config.yaml now names for it (PostgreSQL, S3, ClickHouse), and check the copy; stop the node's server first. Stores still embedded are left alone; the embedded files are never deleted",
    )
    .requiredOption('--node <node>', '`control` for the control plane, or the name of a site')
    .option('--dry-run', 'count what would move; open no new store, change nothing')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      [
        '',
        'Steps (docs/storage.md):',
        '  1. stop the node (glasshouse up, control or site)',
        '  2. name its new stores in config.yaml: storage: (control) or sites.<name>.storage:',
        '  3. glasshouse storage migrate --node <node> --data <dir>',
        '  4. start the node again: it now runs on the new stores',
        '',
        'Refuses, changing nothing, when a server runs on the data directory, when a new store',
        'already holds data, or when config.yaml names no new store for the node.',
      ].join('\n'),
    )
    .action(
      action(async (options: MigrateOptions) => {
        const config = loadConfig({ ...overridesOf(options), logLevel: 'silent' });
        const nodes = migratableNodes(config);
        if (!nodes.includes(options.node)) {
          throw new UsageError(
            `--node ${options.node}: no such node in ${config.configFile} (nodes: ${nodes.join(', ')})`,
          );
        }
        const result = await migrateNodeStorage(config, {
          node: options.node,
          dryRun: options.dryRun === true,
          progress: (what, unit) => progressReporter({ what, unit }),
        });
        printResult(options.json === true, result, () => describe(result));
      }),
    );
}

function describe(report: MigrationReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would move' : 'moved';
  const node = report.node === 'control' ? 'the control plane' : `site ${report.node}`;
  lines.push(`${report.dryRun ? 'dry run: nothing was changed. ' : ''}${node} of ${report.dataDir}:`);
  if (report.metadata !== undefined) {
    const { rows, tables } = report.metadata.counts;
    lines.push(`  metadata: ${verb} ${rows} rows of ${tables.length} tables to ${report.metadata.to}`);
  }
  if (report.blobs !== undefined) {
    const { blobs, bytes } = report.blobs.counts;
    lines.push(
      `  blobs: ${verb} ${blobs} blobs${bytes === undefined ? '' : ` (${bytes} bytes)`} to ${report.blobs.to}`,
    );
  }
  if (report.stats !== undefined) {
    const { events, installations, loadedThrough } = report.stats.counts;
    lines.push(
      `  stats: ${verb} ${events} events of ${installations} installations (loaded through ${loadedThrough}) to ${report.stats.to}`,
    );
  }
  if (report.tiles !== undefined) {
    const { entries, publishedBefore } = report.tiles.counts;
    lines.push(
      `  tiles: ${report.dryRun ? 'would publish' : 'published'} the log's ${entries} entries (checkpoint was at ${publishedBefore}) to ${report.tiles.to}`,
    );
  }
  if (report.unchanged.length > 0) lines.push(`  unchanged (embedded): ${report.unchanged.join(', ')}`);
  if (report.dryRun) return lines.join('\n');
  lines.push(
    '',
    'every copy was checked against the embedded stores. Next:',
    `  start the node again (it now reads and writes the new stores), and check it`,
    '  once it runs well, these embedded files are no longer read and may be removed (never the log journal nor stats/wal/):',
    ...report.removableOnceVerified.map((file) => `    ${file}`),
  );
  return lines.join('\n');
}
