import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import type { HuntStatus } from '../control/hunts/hunt-status.js';
import { action, printResult } from './output.js';
import {
  pageParams,
  parseCount,
  requestJson,
  type ServerOptions,
  withServerOptions,
} from './server-client.js';

interface StartOptions extends ServerOptions {
  readonly rules: string;
  readonly name?: string;
}

interface PageOptions extends ServerOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

interface HuntsPage {
  hunts: HuntStatus[];
  next: string | null;
}

interface MatchesPage {
  matches: { sha256: string; site: string; rules: string[]; foundAt: string }[];
  next: string | null;
}

const ACTIONS = {
  pause: 'pause a hunt after the batch in progress',
  resume: 'resume a paused or failed hunt where it was',
  stop: 'stop the live hunting of a hunt whose scan is through (final)',
  cancel: 'cancel a hunt at any point; its matches so far stay listed (final)',
} as const;

const huntPath = (id: string) => `/v1/hunts/${encodeURIComponent(id)}`;

export function registerHunts(program: Command): void {
  const hunts = program
    .command('hunts')
    .description('YARA hunts over the samples of your sites, on a running server (see docs/hunts.md)');
  withServerOptions(
    hunts
      .command('start')
      .description(
        'start a hunt: a YARA rule set over every sample of your sites, then over each one stored until stopped (POST /v1/hunts)',
      )
      .requiredOption('--rules <file>', 'the YARA rule set (up to 1 MiB); - reads it from stdin')
      .option('--name <name>', "the hunt's name, for you (never logged)"),
  ).action(
    action(async (options: StartOptions) => {
      const rules = options.rules === '-' ? await text(process.stdin) : await readFile(options.rules, 'utf8');
      const hunt = await requestJson<HuntStatus>(options, '/v1/hunts', {
        method: 'POST',
        body: { rules, ...(options.name === undefined ? {} : { name: options.name }) },
      });
      printResult(options.json === true, hunt, () => describeHunt(hunt));
    }),
  );
  withServerOptions(
    hunts
      .command('list')
      .description('one page of the hunts your token started, newest first (GET /v1/hunts)')
      .option('--limit <n>', 'hunts per page (default 100, at most 1000)', parseCount)
      .option('--cursor <cursor>', 'the next page, as the previous one gave it'),
  ).action(
    action(async (options: PageOptions) => {
      const page = await requestJson<HuntsPage>(options, '/v1/hunts', { params: pageParams(options) });
      printResult(options.json === true, page, () => describeHunts(page));
    }),
  );
  withServerOptions(
    hunts
      .command('show')
      .description('a hunt: its state and progress (GET /v1/hunts/{id})')
      .argument('<id>', "the hunt's id"),
  ).action(
    action(async (id: string, options: ServerOptions) => {
      const hunt = await requestJson<HuntStatus>(options, huntPath(id));
      printResult(options.json === true, hunt, () => describeHunt(hunt));
    }),
  );
  withServerOptions(
    hunts
      .command('matches')
      .description('one page of the samples a hunt matched, in the order found (GET /v1/hunts/{id}/matches)')
      .argument('<id>', "the hunt's id")
      .option('--limit <n>', 'matches per page (default 100, at most 1000)', parseCount)
      .option('--cursor <cursor>', 'the next page, as the previous one gave it'),
  ).action(
    action(async (id: string, options: PageOptions) => {
      const page = await requestJson<MatchesPage>(options, `${huntPath(id)}/matches`, {
        params: pageParams(options),
      });
      printResult(options.json === true, page, () => describeMatches(page));
    }),
  );
  for (const [name, description] of Object.entries(ACTIONS)) {
    withServerOptions(
      hunts
        .command(name)
        .description(`${description} (POST /v1/hunts/{id}/${name})`)
        .argument('<id>', "the hunt's id"),
    ).action(
      action(async (id: string, options: ServerOptions) => {
        const hunt = await requestJson<HuntStatus>(options, `${huntPath(id)}/${name}`, { method: 'POST' });
        printResult(options.json === true, hunt, () => describeHunt(hunt));
      }),
    );
  }
}

function describeHunt(hunt: HuntStatus): string {
  const p = hunt.progress;
  const lines = [
    `id       ${hunt.id}`,
    `name     ${hunt.name === '' ? '-' : hunt.name}`,
    `state    ${hunt.state}`,
    `rules    sha256 ${hunt.rulesSha256}`,
    `sites    ${hunt.sites.join(', ')}`,
    `progress ${p.samplesDone}/${p.samplesTotal} samples, ${p.bytesDone}/${p.bytesTotal} B, ${p.skipped} skipped`,
    `matches  ${p.matches}`,
    `started  ${hunt.createdAt}`,
  ];
  if (hunt.scannedAt !== null) lines.push(`scanned  ${hunt.scannedAt}`);
  if (hunt.finishedAt !== null) lines.push(`finished ${hunt.finishedAt}`);
  if (hunt.error !== null) lines.push(`error    ${hunt.error}`);
  if (hunt.waitingFor.length > 0) lines.push(`waiting for ${hunt.waitingFor.join(', ')}`);
  return lines.join('\n');
}

function describeHunts(page: HuntsPage): string {
  const lines = page.hunts.map((h) =>
    [
      h.createdAt,
      h.id,
      h.state.padEnd(9),
      `${h.progress.samplesDone}/${h.progress.samplesTotal} samples`,
      `${h.progress.matches} matches`,
      h.name === '' ? '-' : h.name,
    ].join('  '),
  );
  if (lines.length === 0) lines.push('no hunt');
  if (page.next !== null) lines.push(`next page: --cursor ${page.next}`);
  return lines.join('\n');
}

function describeMatches(page: MatchesPage): string {
  const lines = page.matches.map((m) => [m.foundAt, m.sha256, m.site, m.rules.join(',')].join('  '));
  if (lines.length === 0) lines.push('no match yet');
  if (page.next !== null) lines.push(`next page: --cursor ${page.next}`);
  return lines.join('\n');
}
