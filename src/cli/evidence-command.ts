import { BlobReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { type Command, Option } from 'commander';
import type { EvidenceIndex, PackFile } from '../operations/evidence/index.js';
import { EvidenceError, parseEvidencePeriod, writePackTo } from '../operations/evidence/index.js';
import { GlasshouseError } from '../shared/errors.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';

interface EvidenceOptions {
  readonly from: string;
  readonly to: string;
  readonly out: string;
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
}

export function registerEvidence(program: Command): void {
  program
    .command('evidence')
    .description(
      'write the evidence pack of a period for an ISO/IEC 27001 audit: a folder with index.html, CSV and JSON files and the log entries that prove them (docs/operations.md)',
    )
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD (UTC)')
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD (UTC), included')
    .requiredOption('--out <dir>', 'the folder to create (written as <dir>.partial, renamed when whole)')
    .addOption(
      new Option('--url <base>', 'the server (it runs the residency audit and publishes the checkpoints)')
        .env('GLASSHOUSE_URL')
        .default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'an auditor or admin token').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON')
    .action(
      action(async (options: EvidenceOptions) => {
        const period = parseEvidencePeriod(options.from, options.to);
        if (options.token === undefined || options.token === '') {
          throw new UsageError('give an auditor token: --token or $GLASSHOUSE_TOKEN');
        }
        const url = new URL('/v1/evidence', options.url);
        url.search = new URLSearchParams({ from: period.from, to: period.to }).toString();
        const response = await fetch(url, { headers: { authorization: `Bearer ${options.token}` } });
        if (!response.ok) {
          const problem = (await response.json().catch(() => ({}))) as Record<string, unknown>;
          throw new GlasshouseError(
            String(problem.code ?? `HTTP_${response.status}`),
            String(problem.detail ?? response.statusText),
          );
        }
        const files = await unzip(await response.blob());
        const index = JSON.parse(
          files.find((f) => f.path === 'evidence.json')?.content.toString('utf8') ?? '{}',
        ) as EvidenceIndex;
        writePackTo({ index, files }, options.out);
        printResult(options.json === true, { out: options.out, ...index }, () =>
          [
            `evidence pack for ${period.from} to ${period.to} written to ${options.out} (open index.html)`,
            ...index.sections.map(
              (s) =>
                `  ${s.id}: ${s.rows} row(s), ${s.entries} log entr${s.entries === 1 ? 'y' : 'ies'} (${s.controls.map((c) => c.id).join(', ')})`,
            ),
            ...index.checkpoints.map(
              (c) =>
                `  checkpoint ${c.node}: ${c.size} entries, signature ${c.signature}, entries ${c.entriesMatchRoot ? 'match' : 'DO NOT MATCH'} its root`,
            ),
          ].join('\n'),
        );
      }),
    );
}

/** The pack's files from the server's zip, its top folder taken off; any other path is refused. */
async function unzip(zip: Blob): Promise<PackFile[]> {
  const reader = new ZipReader(new BlobReader(zip), { useWebWorkers: false });
  const files: PackFile[] = [];
  try {
    for (const entry of await reader.getEntries()) {
      if (entry.directory || entry.getData === undefined) continue;
      const path = entry.filename.split('/').slice(1).join('/');
      if (path === '' || path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
        throw new EvidenceError(
          'EVIDENCE_PACK_INVALID',
          `the server's pack holds a bad path: ${entry.filename}`,
        );
      }
      files.push({ path, content: Buffer.from(await entry.getData(new Uint8ArrayWriter())) });
    }
  } finally {
    await reader.close();
  }
  if (!files.some((f) => f.path === 'evidence.json')) {
    throw new EvidenceError('EVIDENCE_PACK_INVALID', "the server's answer is not an evidence pack");
  }
  return files;
}
