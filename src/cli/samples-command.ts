import { type Command, Option } from 'commander';
import { action, printResult } from './output.js';
import { registerSampleNotes } from './sample-notes-command.js';
import { parseCount, requestJson } from './server-client.js';

interface SearchOptions {
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly type?: string;
  readonly tag?: string;
  readonly minSize?: number;
  readonly maxSize?: number;
  readonly firstSeenFrom?: string;
  readonly firstSeenTo?: string;
  readonly verdict?: string;
  readonly threat?: string;
  readonly site?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

interface ShowOptions {
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
}

interface SampleDescription {
  sha256: string;
  sha1: string;
  md5: string;
  sha512: string;
  size: number;
  ssdeep: string | null;
  tlsh: string | null;
  type: string | null;
  sites: { site: string; firstSeen: string; lastSeen: string; submissions: number }[];
  unavailableSites: string[];
  tags: string[];
  comments: number;
}

interface SearchPage {
  samples: {
    sha256: string;
    size: number;
    type: string | null;
    site: string;
    firstSeen: string;
    tags: string[];
    verdict: string | null;
    threat: string | null;
  }[];
  next: string | null;
  total: number | null;
  unavailableSites: string[];
}

interface SimilarOptions {
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly maxDistance?: number;
  readonly limit?: number;
}

interface SimilarPage {
  sha256: string;
  tlsh: string | null;
  ssdeep: string | null;
  samples: { sha256: string; size: number; site: string; distance: number; ssdeepScore: number | null }[];
  unavailableSites: string[];
}

/** Query parameters of `GET /v1/samples`, by the option that gives each. */
const PARAMETERS = [
  'type',
  'tag',
  'minSize',
  'maxSize',
  'firstSeenFrom',
  'firstSeenTo',
  'verdict',
  'threat',
  'site',
  'limit',
  'cursor',
] as const;

export function registerSamples(program: Command): void {
  const samples = program.command('samples').description('the sample catalogue of a running server');
  samples
    .command('search')
    .description('one page of the samples of your sites, newest first (GET /v1/samples)')
    .option('--type <type>', 'media type from the magic bytes, e.g. application/x-msdownload')
    .option('--tag <tag>', 'a tag, e.g. family:emotet')
    .option('--min-size <bytes>', 'smallest size', parseCount)
    .option('--max-size <bytes>', 'largest size', parseCount)
    .option('--first-seen-from <date-time>', 'first seen at or after (ISO 8601 with a zone)')
    .option('--first-seen-to <date-time>', 'first seen before (ISO 8601 with a zone)')
    .addOption(new Option('--verdict <verdict>', 'verdict').choices(['malicious', 'suspicious', 'clean']))
    .option('--threat <name>', 'threat name (any case)')
    .option('--site <site>', 'one of your sites')
    .option('--limit <n>', 'samples per page (default 100, at most 1000)', parseCount)
    .option('--cursor <cursor>', 'the next page, as the previous one gave it')
    .addOption(
      new Option('--url <base>', 'the server').env('GLASSHOUSE_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'an analyst token').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON')
    .action(
      action(async (options: SearchOptions) => {
        const params = new URLSearchParams();
        for (const name of PARAMETERS) {
          const value = options[name];
          if (value !== undefined) params.set(name, String(value));
        }
        const page = await requestJson<SearchPage>(options, '/v1/samples', { params });
        printResult(options.json === true, page, () => describePage(page));
      }),
    );
  samples
    .command('show')
    .description('a sample: its hashes, fuzzy hashes, file type and sites (GET /v1/samples/{hash})')
    .argument('<hash>', 'MD5, SHA-1, SHA-256 or SHA-512')
    .addOption(
      new Option('--url <base>', 'the server').env('GLASSHOUSE_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'an analyst token').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON')
    .action(
      action(async (hash: string, options: ShowOptions) => {
        const sample = await requestJson<SampleDescription>(
          options,
          `/v1/samples/${encodeURIComponent(hash)}`,
        );
        printResult(options.json === true, sample, () => describeSample(sample));
      }),
    );
  samples
    .command('similar')
    .description(
      'the samples of your sites nearest one by TLSH distance, with their ssdeep score (GET /v1/samples/{hash}/similar)',
    )
    .argument('<hash>', 'MD5, SHA-1, SHA-256 or SHA-512 of a sample')
    .option('--max-distance <n>', 'TLSH distance at most (default 100)', parseCount)
    .option('--limit <n>', 'samples at most (default 50, at most 1000)', parseCount)
    .addOption(
      new Option('--url <base>', 'the server').env('GLASSHOUSE_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'an analyst token').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON')
    .action(
      action(async (hash: string, options: SimilarOptions) => {
        const params = new URLSearchParams();
        if (options.maxDistance !== undefined) params.set('maxDistance', String(options.maxDistance));
        if (options.limit !== undefined) params.set('limit', String(options.limit));
        const page = await requestJson<SimilarPage>(
          options,
          `/v1/samples/${encodeURIComponent(hash)}/similar`,
          {
            params,
          },
        );
        printResult(options.json === true, page, () => describeSimilar(page));
      }),
    );
  registerSampleNotes(samples);
}

function describeSample(sample: SampleDescription): string {
  const lines = [
    `sha256  ${sample.sha256}`,
    `sha1    ${sample.sha1}`,
    `md5     ${sample.md5}`,
    `sha512  ${sample.sha512}`,
    `size    ${sample.size} B`,
    `type    ${sample.type ?? '(not computed yet)'}`,
    `ssdeep  ${sample.ssdeep ?? '(not computed yet)'}`,
    `tlsh    ${sample.tlsh ?? (sample.type === null ? '(not computed yet)' : '(none: under 256 bytes or too little variety)')}`,
    `tags    ${sample.tags.length === 0 ? '-' : sample.tags.join(',')}`,
    `comments ${sample.comments}`,
    ...sample.sites.map(
      (s) =>
        `site    ${s.site}: first seen ${s.firstSeen}, last seen ${s.lastSeen}, ${s.submissions} submissions`,
    ),
  ];
  if (sample.unavailableSites.length > 0) lines.push(`unavailable: ${sample.unavailableSites.join(', ')}`);
  return lines.join('\n');
}

function describeSimilar(page: SimilarPage): string {
  const lines = page.samples.map((s) =>
    [String(s.distance).padStart(4), s.sha256, s.site, `${s.size} B`, `ssdeep ${s.ssdeepScore ?? '-'}`].join(
      '  ',
    ),
  );
  if (page.tlsh === null) lines.push(`${page.sha256} has no TLSH digest: no similar samples`);
  else if (lines.length === 0) lines.push('no sample that near');
  if (page.unavailableSites.length > 0) lines.push(`unavailable: ${page.unavailableSites.join(', ')}`);
  return lines.join('\n');
}

function describePage(page: SearchPage): string {
  const lines = page.samples.map((s) =>
    [
      s.firstSeen,
      s.sha256,
      s.site,
      `${s.size} B`,
      s.type ?? '-',
      s.verdict ?? '-',
      s.threat ?? '-',
      s.tags.length === 0 ? '-' : s.tags.join(','),
    ].join('  '),
  );
  if (lines.length === 0) lines.push('no sample matches');
  if (page.total !== null) lines.push(`${page.total} in all`);
  if (page.unavailableSites.length > 0) lines.push(`unavailable: ${page.unavailableSites.join(', ')}`);
  if (page.next !== null) lines.push(`next page: --cursor ${page.next}`);
  return lines.join('\n');
}
