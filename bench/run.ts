/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]` runs `bench/<name>.ts`; with no
 * name, every benchmark in turn (options are passed to each).
 */
import type { Benchmark } from './support/benchmark.js';

const BENCHMARKS: Readonly<Record<string, () => Promise<{ default: Benchmark }>>> = {
  events: () => import('./events.js'),
  ingest: () => import('./ingest.js'),
  log: () => import('./log.js'),
  lookup: () => import('./lookup.js'),
  relocate: () => import('./relocate.js'),
  hunt: () => import('./hunt.js'),
  similar: () => import('./similar.js'),
  console: () => import('./console.js'),
  // Last: it needs PostgreSQL and ClickHouse installed, and stops the run where they are not.
  engines: () => import('./engines.js'),
};

async function usage(): Promise<string> {
  const lines = ['usage: npm run bench -- [name] [options]', '', 'benchmarks:'];
  for (const load of Object.values(BENCHMARKS)) {
    const { default: benchmark } = await load();
    lines.push(`  ${benchmark.name.padEnd(10)} ${benchmark.summary}`);
    for (const option of benchmark.options ?? []) lines.push(`      ${option}`);
  }
  lines.push('', 'With no name, every benchmark runs.');
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return 0;
  }
  const named = first !== undefined && !first.startsWith('-');
  if (named && !(first in BENCHMARKS)) {
    process.stderr.write(`unknown benchmark "${first}"\n\n${await usage()}\n`);
    return 2;
  }
  const names = named ? [first] : Object.keys(BENCHMARKS);
  const args = named ? rest : argv;
  let code = 0;
  for (const name of names) {
    const { default: benchmark } = await BENCHMARKS[name]!();
    const result = await benchmark.run(args);
    if (result !== 0) code = result;
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (error: unknown) => {
    if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n\n${await usage()}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
