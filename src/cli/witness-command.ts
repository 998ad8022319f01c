import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { SqliteWitnessStore } from '../adapters/storage/sqlite/sqlite-witness-store.js';
import { buildWitnessApp } from '../witness/witness-app.js';
import { WITNESS_DATABASE, witnessCosigner } from '../witness/witness-data-dir.js';
import { WitnessService } from '../witness/witness-service.js';
import { action, printResult } from './output.js';
import { parsePort } from './up-command.js';

interface WitnessOptions {
  readonly data?: string;
  readonly name?: string;
  readonly json?: boolean;
}

/**
 * `glasshouse witness`: a C2SP tlog-witness of its own, with its own data directory. It
 * shares no state with a deployment: it is meant to run elsewhere, under someone else.
 */
export function registerWitness(program: Command): void {
  const witness = program
    .command('witness')
    .description('run a transparency-log witness (C2SP tlog-witness): POST /add-checkpoint')
    .option('--data <dir>', "the witness's own data directory (key and state); required")
    .option('--name <name>', 'the key name, when the key is created (default: <hostname>/witness)')
    .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free port (default: 7380)', parsePort)
    .option('--log-level <level>', 'pino log level', 'info')
    .action(
      action(async (_: unknown, command: Command) =>
        serve(witnessOptions<{ host?: string; port?: number; logLevel: string }>(command)),
      ),
    );

  witness
    .command('key')
    .description(
      "print the witness's verifier key (name+keyid+base64, type 0x04); creates the key on first use",
    )
    .option('--json', 'print JSON')
    .action(
      action(async (_: unknown, command: Command) => {
        const options = witnessOptions(command);
        const cosigner = witnessCosigner(options.data, nameOf(options));
        printResult(
          options.json === true,
          { name: cosigner.name, key: cosigner.verifierKey },
          () => cosigner.verifierKey,
        );
      }),
    );

  witness
    .command('add-log')
    .description(
      'follow a log, given its verifier key (`glasshouse ledger key`); its name is the origin; another key of a followed log (a key rotation) is accepted beside the first',
    )
    .requiredOption('--key <key>', "the log's verifier key")
    .option('--json', 'print JSON')
    .action(
      action(async (_: unknown, command: Command) => {
        const options = witnessOptions<{ key: string }>(command);
        const { service, close } = openWitness(options);
        try {
          const log = service.addLog(options.key);
          printResult(
            options.json === true,
            { origin: log.origin, key: log.verifierKey, keys: log.verifierKeys },
            () =>
              log.verifierKeys.length === 1
                ? `following ${log.origin}`
                : `following ${log.origin} with ${log.verifierKeys.length} keys (a key rotation): ${log.verifierKeys.join(', ')}`,
          );
        } finally {
          close();
        }
      }),
    );
}

/** `--data` and `--name` belong to `witness` and are given before or after a subcommand. */
function witnessOptions<Extra>(command: Command): WitnessOptions & Extra & { data: string } {
  const options = command.optsWithGlobals<WitnessOptions & Extra>();
  if (options.data === undefined)
    throw new InvalidArgumentError("required option '--data <dir>' not specified");
  return { ...options, data: options.data };
}

function openWitness(options: WitnessOptions & { data: string }) {
  const cosigner = witnessCosigner(options.data, nameOf(options));
  const store = new SqliteWitnessStore(join(options.data, WITNESS_DATABASE));
  return { service: new WitnessService({ store, cosigner }), close: () => store.close() };
}

async function serve(
  options: WitnessOptions & { data: string; host?: string; port?: number; logLevel: string },
): Promise<void> {
  const { service, close } = openWitness(options);
  const app = await buildWitnessApp({ witness: service, logLevel: options.logLevel });
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 7380 });
  const shutdown = async () => {
    await app.close();
    close();
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.stdout.write(`witness ${service.verifierKey}\nlistening on ${address}\n`);
}

function nameOf(options: WitnessOptions): { name?: string } {
  return options.name === undefined ? {} : { name: options.name };
}
