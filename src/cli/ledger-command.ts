import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CONTROL_NODE } from '../config/data-dir.js';
import { loadConfig } from '../config/load.js';
import { LedgerError, logNamed } from '../ledger/ledger-errors.js';
import { nodeSigner } from '../ledger/open-node-log.js';
import { verifyPublishedLog } from '../ledger/verify-published-log.js';
import { type DataDirOptions, overridesOf, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

type JsonOption = { json?: boolean };
type NodeOption = { node: string };

export function registerLedger(program: Command): void {
  const ledger = program
    .command('ledger')
    .description('the signed, append-only Merkle logs: keys, checkpoints, verification and proofs');

  withDataDirOptions(ledger.command('key'))
    .description("print a node's verifier key (C2SP signed-note: name+keyid+base64), for auditors")
    .option('--node <name>', 'control or a site name', CONTROL_NODE)
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption & NodeOption) => {
        const config = loadConfig({ ...overridesOf(options), logLevel: 'silent' });
        const signer = nodeSigner(config, options.node);
        printResult(
          options.json === true,
          { node: options.node, origin: signer.name, key: signer.verifierKey },
          () => signer.verifierKey,
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
    .option('--json', 'print JSON')
    .action(
      action(
        async (options: JsonOption & NodeOption & { url: string; key: string; fromCheckpoint?: string }) => {
          const base = `${options.url.replace(/\/+$/, '')}/log/${encodeURIComponent(options.node)}/`;
          const progress = progressReporter({ what: 'log', unit: 'entry bundles' });
          const verified = await verifyPublishedLog({
            read: (path) => fetchFile(base + path),
            verifierKey: options.key,
            ...(options.fromCheckpoint === undefined
              ? {}
              : { previousCheckpoint: readFileSync(options.fromCheckpoint, 'utf8') }),
            onProgress: progress.update,
          });
          progress.done();
          printResult(options.json === true, verified, () =>
            [
              `verified ${verified.origin}: ${verified.size} entries, root ${verified.rootHash}`,
              `  checkpoint signature, every entry bundle and ${verified.tilesChecked} hash tiles match`,
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

function toInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new LedgerError('INVALID_PROOF_REQUEST', `"${text}" is not an index`);
  return value;
}
