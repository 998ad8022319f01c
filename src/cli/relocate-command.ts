import { type Command, InvalidArgumentError, Option } from 'commander';
import { GlasshouseError } from '../shared/errors.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

interface ServerOptions {
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
}

interface RunOptions extends ServerOptions {
  readonly batchSize?: number;
  readonly rateLimit?: number;
}

interface Status {
  id: string;
  state: string;
  installations: { done: number; total: number; skipped: number; rolledBack: number };
  records: { done: number; total: number };
  bytes: { done: number; total: number };
  rateBytesPerSecond: number;
  etaSeconds: number | null;
  errors: string[];
}

interface Plan {
  installations: number;
  groups: {
    source: string;
    target: string;
    installations: number;
    submissions: number;
    samples: { count: number; bytes: number };
    events: number;
  }[];
}

interface Audit {
  installations: number;
  clean: boolean;
  sites: {
    site: string;
    installations: number;
    submissions: number;
    events: number;
    samplesReferenced: number;
  }[];
  violations: { kind: string; site: string; installation?: string; sha256?: string; detail: string }[];
}

const POLL_MS = 500;

export function registerRelocate(program: Command): void {
  const relocate = program
    .command('relocate')
    .description(
      'move stored records (samples, submissions, events) to the sites the policy in force assigns, on a running server',
    );
  serverOptions(relocate.command('plan'))
    .description('what would move: per source → target site, installations, submissions, samples and events')
    .action(
      action(async (options: ServerOptions) => {
        const plan = await call<Plan>(options, 'POST', '/v1/relocations', { dryRun: true });
        printResult(options.json === true, plan, () => describePlan(plan));
      }),
    );
  serverOptions(relocate.command('run'))
    .description(
      'start a relocation and wait for it, with a progress bar on a terminal; non-zero exit unless done',
    )
    .option('--batch-size <n>', 'installations per batch (default 50)', parsePositive)
    .addOption(
      new Option('--rate-limit <MBps>', 'copy at most this many MB/s (default: no limit)').argParser(
        parseRate,
      ),
    )
    .action(
      action(async (options: RunOptions) => {
        const started = await call<Status>(options, 'POST', '/v1/relocations', {
          ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
          ...(options.rateLimit === undefined ? {} : { rateLimitMbps: options.rateLimit }),
        });
        const status = await follow(options, started.id);
        printResult(options.json === true, status, () => describeStatus(status));
        if (status.state !== 'done') process.exitCode = 1;
      }),
    );
  serverOptions(relocate.command('status'))
    .description('the progress of a relocation (default: the latest)')
    .argument('[id]', 'a relocation id')
    .action(
      action(async (id: string | undefined, options: ServerOptions) => {
        const status =
          id === undefined
            ? (await call<{ relocations: Status[] }>(options, 'GET', '/v1/relocations')).relocations[0]
            : await call<Status>(options, 'GET', `/v1/relocations/${encodeURIComponent(id)}`);
        if (status === undefined) throw new GlasshouseError('RELOCATION_NOT_FOUND', 'no relocation yet');
        printResult(options.json === true, status, () => describeStatus(status));
      }),
    );

  const residency = program.command('residency').description('data residency checks');
  serverOptions(residency.command('audit'))
    .description(
      'scan every site: records where the registry and the policy say, samples whole; non-zero exit on any violation',
    )
    .action(
      action(async (options: ServerOptions) => {
        const audit = await call<Audit>(options, 'GET', '/v1/residency/audit');
        printResult(options.json === true, audit, () => describeAudit(audit));
        if (!audit.clean) process.exitCode = 1;
      }),
    );
}

function serverOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <base>', 'the server (relocations run in the serving process)')
        .env('GLASSHOUSE_URL')
        .default('http://127.0.0.1:8080'),
    )
    .addOption(
      new Option('--token <token>', 'an admin token (auditor for residency audit)').env('GLASSHOUSE_TOKEN'),
    )
    .option('--json', 'print JSON');
}

/** Polls the status until the job ends, showing bytes and records copied, rate and time left. */
async function follow(options: ServerOptions, id: string): Promise<Status> {
  const progress = progressReporter({ what: 'relocation', unit: 'bytes' });
  for (;;) {
    const status = await call<Status>(options, 'GET', `/v1/relocations/${id}`);
    progress.update(
      status.bytes.done,
      status.bytes.total,
      `records ${status.records.done}/${status.records.total}`,
    );
    if (['done', 'cancelled', 'failed', 'paused'].includes(status.state)) {
      progress.done();
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function call<T>(
  options: ServerOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  if (options.token === undefined || options.token === '')
    throw new UsageError('give a token: --token or $GLASSHOUSE_TOKEN');
  const response = await fetch(new URL(path, options.url), {
    method,
    headers: {
      authorization: `Bearer ${options.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  if (!response.ok) {
    throw new GlasshouseError(
      String(parsed.code ?? `HTTP_${response.status}`),
      String(parsed.detail ?? text),
    );
  }
  return parsed as T;
}

function describePlan(plan: Plan): string {
  if (plan.groups.length === 0)
    return 'nothing to move: every installation is where the policy in force says';
  return [
    `${plan.installations} installation(s) to move:`,
    ...plan.groups.map(
      (g) =>
        `  ${g.source} → ${g.target}: ${g.installations} installation(s), ${g.submissions} submission(s), ` +
        `${g.samples.count} sample(s) (${mib(g.samples.bytes)}), ${g.events} event(s)`,
    ),
  ].join('\n');
}

function describeStatus(s: Status): string {
  const lines = [
    `relocation ${s.id}: ${s.state}`,
    `  installations ${s.installations.done}/${s.installations.total}` +
      (s.installations.rolledBack > 0 ? ` (${s.installations.rolledBack} rolled back)` : '') +
      (s.installations.skipped > 0 ? ` (${s.installations.skipped} skipped)` : ''),
    `  records ${s.records.done}/${s.records.total}, bytes ${mib(s.bytes.done)}/${mib(s.bytes.total)}`,
  ];
  if (s.rateBytesPerSecond > 0) lines.push(`  rate ${(s.rateBytesPerSecond / 1e6).toFixed(1)} MB/s`);
  if (s.etaSeconds !== null) lines.push(`  about ${s.etaSeconds} s left`);
  for (const error of s.errors) lines.push(`  error: ${error}`);
  return lines.join('\n');
}

function describeAudit(a: Audit): string {
  const lines = [
    `${a.installations} installation(s); ${a.clean ? 'clean' : `${a.violations.length} violation(s)`}`,
    ...a.sites.map(
      (s) =>
        `  ${s.site}: ${s.installations} installation(s), ${s.submissions} submission(s), ${s.events} event(s), ` +
        `${s.samplesReferenced} sample(s) checked`,
    ),
    ...a.violations.map(
      (v) =>
        `  ${v.kind} at ${v.site}${v.installation === undefined ? '' : ` (installation ${v.installation})`}${v.sha256 === undefined ? '' : ` (sample ${v.sha256})`}: ${v.detail}`,
    ),
  ];
  return lines.join('\n');
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10000)
    throw new InvalidArgumentError('expected an integer from 1 to 10000');
  return n;
}

function parseRate(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected MB/s, 0 for no limit');
  return n;
}
