import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { makeBackup, restoreBackup } from '../operations/backup/index.js';
import { overridesOf, withDataDirOptions } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';

/** Where the passphrase of sealed keys comes from: never the command line (shell history, `ps`). */
export const PASSPHRASE_VARIABLE = 'GLASSHOUSE_BACKUP_PASSPHRASE';
const PROGRESS_EVERY_MS = 1000;

interface BackupOptions {
  readonly data?: string;
  readonly config?: string;
  readonly out: string;
  readonly node?: string;
  readonly withKeys?: boolean;
  readonly json?: boolean;
}

interface RestoreOptions {
  readonly from: string;
  readonly data: string;
  readonly replace?: boolean;
  readonly allowRollback?: boolean;
  readonly checkpoint: string[];
  readonly testOf?: string;
  readonly json?: boolean;
}

export function registerBackup(program: Command): void {
  withDataDirOptions(program.command('backup'))
    .description('back up a node while it serves: metadata, statistics, samples, log (docs/operations.md)')
    .requiredOption(
      '--out <path>',
      'the backup directory to create (written as <path>.partial, renamed when whole)',
    )
    .option('--node <name>', 'one node only: control or a site (default: every node of the data directory)')
    .option('--with-keys', `also the keys, sealed under a passphrase ($${PASSPHRASE_VARIABLE} or asked)`)
    .option('--json', 'print JSON')
    .action(action((options: BackupOptions) => backup(options)));

  program
    .command('restore')
    .description(
      'restore a backup into a data directory, erasures made since re-applied (docs/operations.md)',
    )
    .requiredOption('--from <path>', 'the backup directory')
    .requiredOption('--data <dir>', 'the data directory to restore into (fresh, or stopped with --replace)')
    .option('--replace', 'the data directory holds data and its server is stopped: replace it')
    .option(
      '--checkpoint <file>',
      "a signed checkpoint the node published (a witness's, a monitor's, /log/<node>/checkpoint): a backup older than it is a rollback; repeat for each node",
      (file: string, files: string[]) => [...files, file],
      [] as string[],
    )
    .option(
      '--test-of <dir>',
      'a restore test into a scratch directory: the data directory of the deployment tested, whose log records it (the evidence pack lists it)',
    )
    .option(
      '--allow-rollback',
      "restore even though the node's log went past the backup (logged as log.rollback)",
    )
    .option('--json', 'print JSON')
    .action(action((options: RestoreOptions) => restore(options)));
}

async function backup(options: BackupOptions): Promise<void> {
  const config = loadConfig({ ...overridesOf(options), logLevel: 'silent' });
  const passphrase = options.withKeys === true ? await readPassphrase() : undefined;
  let last = 0;
  const manifest = await makeBackup({
    config,
    out: options.out,
    ...(options.node === undefined ? {} : { node: options.node }),
    ...(passphrase === undefined ? {} : { passphrase }),
    onProgress: (files, bytes) => {
      if (Date.now() - last < PROGRESS_EVERY_MS) return;
      last = Date.now();
      process.stderr.write(`backup: ${files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
    },
  });
  const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  printResult(
    options.json === true,
    { out: options.out, nodes: manifest.nodes, files: manifest.files.length, bytes, keys: manifest.keys },
    () =>
      [
        `backup written to ${options.out}: ${manifest.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, keys ${manifest.keys}`,
        ...Object.entries(manifest.nodes).map(
          ([node, log]) => `  ${node}: consistent with its log at ${log.size} entries`,
        ),
      ].join('\n'),
  );
}

async function restore(options: RestoreOptions): Promise<void> {
  const passphrase = process.env[PASSPHRASE_VARIABLE];
  const result = await restoreBackup({
    from: options.from,
    dataDir: options.data,
    replace: options.replace === true,
    allowRollback: options.allowRollback === true,
    publishedCheckpoints: options.checkpoint.map((file) => readFileSync(file, 'utf8')),
    ...(options.testOf === undefined ? {} : { testOf: options.testOf }),
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  printResult(options.json === true, result, () =>
    [
      `restored ${options.from} into ${options.data}`,
      ...Object.entries(result.nodes).map(
        ([node, n]) =>
          `  ${node}: stores at log entry ${n.restoredTo}` +
          (n.rolledBackFrom === undefined
            ? ''
            : ` (rolled back from ${n.rolledBackFrom}, logged as log.rollback)`) +
          (n.publishedSize === undefined
            ? ''
            : ` (behind its published checkpoint of ${n.publishedSize}, logged as log.rollback)`),
      ),
      `  erasures re-applied: ${result.erasuresReapplied}`,
      ...(result.keysMissing
        ? ['  no keys were restored: put them back in keys/ before starting (the restore is not on the log)']
        : ['  logged as backup.restored']),
    ].join('\n'),
  );
}

/** The passphrase from the environment, or asked on the terminal without echo. */
async function readPassphrase(): Promise<string> {
  const fromEnv = process.env[PASSPHRASE_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY !== true) {
    throw new UsageError(`--with-keys needs a passphrase: set $${PASSPHRASE_VARIABLE} or run on a terminal`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write('passphrase for the keys: ');
  // Echo nothing of what is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  const answer = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  if (answer.length < 12) throw new UsageError('the passphrase must be at least 12 characters');
  return answer;
}
