import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/config-errors.js';
import { PolicyVersionSchema } from '../config/config-schema.js';
import type { PolicyVersion, PolicyVersionInput } from '../control/residency/index.js';
import { parseInstant } from '../control/residency/policy-routes.js';
import { CLI_ACTOR, type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { action, printResult } from './output.js';

type JsonOption = { json?: boolean };

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('show, query and extend the residency policy');

  withDataDirOptions(policy.command('show'))
    .description('print the policy versions and which one is in force')
    .option('--at <date>', 'mark the version in force at this date or date-time (default: now)')
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption & { at?: string }) => {
        const at = options.at === undefined ? new Date() : parseInstant(options.at);
        const { versions, inForce } = await withGlasshouse(options, async (g) => ({
          versions: await g.policy.versions(),
          inForce: await g.policy.inForce(at),
        }));
        printResult(
          options.json === true,
          { at: at.toISOString(), inForce: inForce?.version ?? null, versions },
          () => versions.map((v) => describeVersion(v, v.version === inForce?.version)).join('\n'),
        );
      }),
    );

  withDataDirOptions(policy.command('resolve'))
    .description('which site holds the data of a country at a date')
    .requiredOption('--country <code>', 'ISO 3166-1 alpha-2 code, e.g. SA')
    .option('--at <date>', 'date (YYYY-MM-DD) or date-time with zone (default: now)')
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption & { country: string; at?: string }) => {
        const at = options.at === undefined ? undefined : parseInstant(options.at);
        const r = await withGlasshouse(options, (g) => g.policy.resolve(options.country, at));
        printResult(options.json === true, { ...r, at: r.at.toISOString() }, () => {
          const why = r.rule.kind === 'region' ? `region ${r.rule.region}` : r.rule.kind;
          return `${r.country} at ${r.at.toISOString()}: ${r.site} (policy version ${r.version}, by ${why})`;
        });
      }),
    );

  withDataDirOptions(policy.command('set'))
    .description('add a policy version from a YAML or JSON file: {effectiveFrom?, default, assign: [...]}')
    .argument('<file>', 'the version: a complete mapping, not a diff')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, options: DataDirOptions & JsonOption) => {
        const input = readPolicyVersionFile(file);
        const added = await withGlasshouse(options, (g) => g.policy.addVersion(input, CLI_ACTOR));
        printResult(options.json === true, added, () => `added ${describeVersion(added, false)}`);
      }),
    );
}

function readPolicyVersionFile(file: string): PolicyVersionInput {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError('INVALID_CONFIG', `${file}: cannot read a YAML or JSON policy version`, { cause });
  }
  const [first] = Value.Errors(PolicyVersionSchema, raw);
  if (first !== undefined) {
    throw new ConfigError(
      'INVALID_CONFIG',
      `${file}: ${first.instancePath || '(top level)'}: ${first.message}`,
    );
  }
  const version = raw as {
    effectiveFrom?: string;
    default: string;
    assign: { regions?: string[]; countries?: string[]; site: string }[];
  };
  return {
    ...(version.effectiveFrom === undefined ? {} : { effectiveFrom: version.effectiveFrom }),
    default: version.default,
    assign: version.assign.map((a) => ({
      regions: a.regions ?? [],
      countries: a.countries ?? [],
      site: a.site,
    })),
  };
}

function describeVersion(v: PolicyVersion, inForce: boolean): string {
  const rules = v.assign.map((a) => `${[...a.regions, ...a.countries].join(',')} -> ${a.site}`);
  return `${inForce ? '*' : ' '} v${v.version}  from ${v.effectiveFrom.toISOString()}  default ${v.default}${rules.length > 0 ? `  ${rules.join('; ')}` : ''}`;
}
