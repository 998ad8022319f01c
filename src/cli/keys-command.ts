import type { Command } from 'commander';
import { loadConfig, resolvePaths } from '../config/load.js';
import { listKeys } from '../operations/keys/key-inventory.js';
import { type RotationReport, rotateMasterKey } from '../operations/keys/key-rotation.js';
import { CLI_ACTOR, type DataDirOptions, overridesOf, withDataDirOptions } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';

interface RotateOptions extends DataDirOptions {
  readonly site: string;
  readonly json?: boolean;
}

interface ListOptions extends DataDirOptions {
  readonly at?: string;
  readonly json?: boolean;
}

/** Tests only: a pause after every batch of a rotation (batches of one), to kill it midway. */
const ROTATION_PAUSE_ENV = 'GLASSHOUSE_TEST_ROTATION_PAUSE_MS';

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description("the data directory's keys: inventory and master-key rotation");

  withDataDirOptions(keys.command('rotate'))
    .description(
      "give a site a new master key: every key wrapped under the old one is wrapped again under the new one (samples are not encrypted again), then the old key is destroyed; recorded in the site's log. Stop the site's server first; run again to complete a rotation that was interrupted",
    )
    .requiredOption('--site <name>', 'the site whose master key to rotate')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      [
        '',
        'Steps (docs/operations.md, "Key rotation"):',
        '  1. stop the site (glasshouse up, or glasshouse site --data <dir>)',
        '  2. glasshouse keys rotate --site <name> --data <dir>',
        '  3. start the site again; glasshouse keys list shows the new key id and rotation time',
        '',
        'Refuses, changing nothing, while a server runs on the data directory. Interrupted',
        '(a crash, kill -9), it leaves both keys in place and the site refuses to start until',
        'this command, run again, completes the rotation.',
      ].join('\n'),
    )
    .action(
      action(async (options: RotateOptions) => {
        const config = loadConfig({ ...overridesOf(options), logLevel: 'silent' });
        const pause = process.env[ROTATION_PAUSE_ENV];
        const report = await rotateMasterKey(config, {
          site: options.site,
          actor: CLI_ACTOR,
          ...(pause === undefined ? {} : { pauseBetweenBatchesMs: Number(pause) }),
        });
        printResult(options.json === true, report, () => describeRotation(report));
      }),
    );

  withDataDirOptions(keys.command('list'))
    .description(
      "every key of the data directory (sites' master keys, the nodes' log signing keys, the deployment CA's key): id, creation, age and last rotation; never key material",
    )
    .option('--at <time>', 'compute ages as at this ISO time (default: now)')
    .option('--json', 'print JSON')
    .action(
      action(async (options: ListOptions) => {
        const { dataDir } = resolvePaths(overridesOf(options));
        const at = options.at === undefined ? new Date() : new Date(options.at);
        if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${options.at}: not an ISO time`);
        const keys = listKeys(dataDir, at);
        printResult(options.json === true, { dataDir, at: at.toISOString(), keys }, () =>
          [
            `keys of ${dataDir} (ages as at ${at.toISOString()}):`,
            ...keys.map(
              (k) =>
                `  ${k.kind.padEnd(12)} ${k.node.padEnd(12)} ${k.id.padEnd(20)} created ${k.created} (${k.ageDays} days)` +
                (k.kind === 'site-master' ? `, last rotation ${k.lastRotation ?? 'never'}` : '') +
                (k.rotatingTo === undefined ? '' : `, ROTATION UNFINISHED (to ${k.rotatingTo})`),
            ),
          ].join('\n'),
        );
      }),
    );
}

function describeRotation(report: RotationReport): string {
  return [
    `${report.resumed ? 'completed the interrupted rotation' : 'rotated the master key'} of site ${report.site} in ${report.dataDir}:`,
    `  ${report.from} -> ${report.to} (started ${report.started}, finished ${report.finished})`,
    `  wrapped again: ${report.installationKeys} installation keys, ${report.sampleKeys} sample data keys`,
    `  the old key was overwritten and removed; the site's log records the rotation`,
  ].join('\n');
}
