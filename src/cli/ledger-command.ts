import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { CONTROL_NODE, keysDirectory } from '../config/data-dir.js';
import { loadConfig } from '../config/load.js';
import { LedgerError, logNamed } from '../ledger/ledger-errors.js';
import { logKeyFiles, readLogKeyRotation, rotateLogKey } from '../ledger/log-keys.js';
import { parseCosignerVerifierKey } from '../ledger/note/index.js';
import { nodeSigningKeys } from '../ledger/open-node-log.js';
import { verifyPublishedLog } from '../ledger/verify-published-log.js';
import {
  CLI_ACTOR,
  type DataDirOptions,
  overridesOf,
  withDataDirOptions,
  withGlasshouse,
} from './data-dir-options.js';
import { collect, toCount } from './option-values.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

type JsonOption = { json?: boolean };

/** A week: long enough for auditors and witnesses to take the new key before the old one stops signing. */
const DEFAULT_OVERLAP_MS = 7 * 86_400_000;
/** Tests only: `generated` or `appended`; the rotation stops there, so that a test can kill it. */
const ROTATION_PAUSE_ENV = 'GLASSHOUSE_TEST_LOG_ROTATION_PAUSE';
type NodeOption = { node: string };

export function registerLedger(program: Command): void {
  const ledger = program
    .command('ledger')
    .description('the signed, append-only Merkle logs: keys, checkpoints, verification and proofs');

  withDataDirOptions(ledger.command('key'))
    .description(
      "print a node's verifier key (C2SP signed-note: name+keyid+base64), for auditors; during a key rotation's overlap, both keys, the new one last",
    )
    .option('--node <name>', 'control or a site name', CONTROL_NODE)
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption & NodeOption) => {
        const config = loadConfig({ ...overridesOf(options), logLevel: 'silent' });
        const signers = nodeSigningKeys(config, options.node);
        const rotation = readLogKeyRotation(logKeyFiles(keysDirectory(config.dataDir), options.node));
        printResult(
          options.json === true,
          {
            node: options.node,
            origin: signers[0]!.name,
            key: signers.at(-1)!.verifierKey,
            keys: signers.map((s) => s.verifierKey),
            ...(rotation?.overlapUntil === undefined
              ? {}
              : {
                  rotation: {
                    from: rotation.from,
                    to: rotation.to,
                    announcedAt: rotation.announcedAt,
                    overlapUntil: rotation.overlapUntil,
                  },
                }),
          },
          () => signers.map((s) => s.verifierKey).join('\n'),
        );
      }),
    );

  withDataDirOptions(ledger.command('rotate-key'))
    .description(
      "rotate a node's log signing key: a new key, announced in the log, signs beside the old one during the overlap, then alone",
    )
    .option('--node <name>', 'control or a site name', CONTROL_NODE)
    .option(
      '--overlap <duration>',
      'how long checkpoints carry both signatures: 0, or a number with s, m, h, d or w',
      toDuration,
      DEFAULT_OVERLAP_MS,
    )
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption & NodeOption & { overlap: number }) => {
        const pauseAt = process.env[ROTATION_PAUSE_ENV];
        const result = await withGlasshouse(options, async (g, config) => {
          const log = logNamed(g.logs, options.node);
          return rotateLogKey({
            files: logKeyFiles(keysDirectory(config.dataDir), options.node),
            origin: log.origin,
            log,
            overlapMs: options.overlap,
            now: () => new Date(),
            actor: CLI_ACTOR,
            ...(pauseAt === undefined
              ? {}
              : {
                  pause: async (step) => {
                    if (step !== pauseAt) return;
                    process.stdout.write(`paused after ${step}\n`);
                    await new Promise(() => undefined);
                  },
                }),
          });
        });
        printResult(options.json === true, result, () =>
          [
            ...(result.retired === undefined ? [] : [`retired ${result.retired} (its overlap had ended)`]),
            `${result.resumed ? 'completed the rotation' : 'rotated'} ${log(result.from)} -> ${log(result.to)}`,
            `  announced in the log at index ${result.announcedAt}`,
            `  checkpoints are signed by both keys until ${result.overlapUntil}, then by the new key alone`,
            `  new key: ${result.to}`,
          ].join('\n'),
        );
      }),
    );

  withDataDirOptions(ledger.command('checkpoint'))
    .description("print a node's latest published checkpoint (a signed note)")
    .option('--node <name>', 'control or a site name', CONTROL_NODE)
    .action(
      action(async (options: DataDirOptions & NodeOption) => {
        const checkpoint = await withGlasshouse(options, async (g) =>
          logNamed(g.publishedLogs, options.node).checkpoint(),
        );
        if (checkpoint === undefined)
          throw new LedgerError('TILE_NOT_FOUND', 'this log has published nothing yet');
        process.stdout.write(checkpoint);
      }),
    );

  ledger
    .command('verify')
    .description(
      "verify a published log: the checkpoint's signature, every entry and every tile; exits non-zero on any mismatch",
    )
    .requiredOption('--url <base>', 'base URL of the server, e.g. http://127.0.0.1:8080')
    .option('--node <name>', 'control or a site name', CONTROL_NODE)
    .requiredOption('--key <key>', 'the verifier key (from `glasshouse ledger key`)')
    .option('--from-checkpoint <file>', 'an older checkpoint the log must extend')
    .option(
      '--witness <key>',
      'a witness verifier key (`glasshouse witness key`) whose cosignature counts; repeat for several',
      collect,
      [],
    )
    .option('--quorum <n>', 'how many of the --witness keys must have cosigned (default: all)', toCount)
    .option('--json', 'print JSON')
    .action(
      action(
        async (
          options: JsonOption &
            NodeOption & {
              url: string;
              key: string;
              fromCheckpoint?: string;
              witness: string[];
              quorum?: number;
            },
        ) => {
          const witnesses = options.witness.map(parseCosignerVerifierKey);
          if (options.quorum !== undefined && options.quorum > witnesses.length) {
            throw new InvalidArgumentError(
              `--quorum ${options.quorum} is more than the ${witnesses.length} --witness keys given`,
            );
          }
          const base = `${options.url.replace(/\/+$/, '')}/log/${encodeURIComponent(options.node)}/`;
          const progress = progressReporter({ what: 'log', unit: 'entry bundles' });
          const verified = await verifyPublishedLog({
            read: (path) => fetchFile(base + path),
            verifierKey: options.key,
            ...(options.fromCheckpoint === undefined
              ? {}
              : { previousCheckpoint: readFileSync(options.fromCheckpoint, 'utf8') }),
            onProgress: progress.update,
            witnesses,
            ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
          });
          progress.done();
          printResult(options.json === true, verified, () =>
            [
              `verified ${verified.origin}: ${verified.size} entries, root ${verified.rootHash}`,
              `  checkpoint signature, every entry bundle and ${verified.tilesChecked} hash tiles match`,
              `  signed by ${verified.signedBy.join(', ')}`,
              ...verified.keysFollowed.map((key) => `  trusted through the log's key rotation: ${key}`),
              ...verified.cosignedBy.map(
                (c) => `  cosigned by ${c.name} at ${new Date(c.timestamp * 1000).toISOString()}`,
              ),
              ...(verified.previous === undefined
                ? []
                : [
                    `  extends the older checkpoint of ${verified.previous.size} entries (${verified.previous.rootHash})`,
                  ]),
            ].join('\n'),
          );
        },
      ),
    );

  withDataDirOptions(ledger.command('prove'))
    .description('print an inclusion proof (RFC 9162) of an entry in a published tree size')
    .requiredOption('--index <n>', 'the entry index', toInteger)
    .option('--size <n>', 'the tree size (default: the latest checkpoint)', toInteger)
    .option('--node <name>', 'control or a site name', CONTROL_NODE)
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption & NodeOption & { index: number; size?: number }) => {
        const result = await withGlasshouse(options, async (g) => {
          const log = logNamed(g.logs, options.node);
          const size = options.size ?? (await log.publishedSize());
          const proof = await log.proveInclusion(options.index, size);
          const [entry] = await log.readEntries(options.index, options.index + 1);
          return {
            origin: log.origin,
            index: options.index,
            size,
            entry: entry!.toString('utf8'),
            proof: proof.map((h) => h.toString('base64')),
          };
        });
        printResult(options.json === true, result, () =>
          [
            `${result.origin} entry ${result.index} in tree size ${result.size}:`,
            result.entry,
            'proof:',
            ...result.proof,
          ].join('\n'),
        );
      }),
    );
}

async function fetchFile(url: string): Promise<Buffer | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new LedgerError('TILE_NOT_FOUND', `GET ${url}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** A verifier key without its public key part, for messages: `name+keyid`. */
function log(key: string): string {
  return key.split('+').slice(0, 2).join('+');
}

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

function toDuration(text: string): number {
  if (text === '0') return 0;
  const match = /^([1-9][0-9]{0,5})([smhdw])$/.exec(text);
  if (match === null)
    throw new InvalidArgumentError(`"${text}" is not a duration: 0, or a number with s, m, h, d or w (7d)`);
  return Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
}

function toInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new LedgerError('INVALID_PROOF_REQUEST', `"${text}" is not an index`);
  return value;
}
