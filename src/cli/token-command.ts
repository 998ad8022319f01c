import type { Command } from 'commander';
import { PERSONAL_ROLES, ROLES } from '../control/auth/roles.js';
import type { TokenInfo } from '../control/auth/token-service.js';
import { CLI_ACTOR, type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { action, printResult } from './output.js';

type JsonOption = { json?: boolean };
type CreateOptions = DataDirOptions &
  JsonOption & { role: string; sites?: string; label?: string; person?: string; expires?: string };

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('create, list and revoke API tokens (works on the data directory)');

  withDataDirOptions(token.command('create'))
    .description('create a token and print it once')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--sites <sites>', 'comma-separated sites the token may touch (default: all)')
    .option(
      '--person <name>',
      `the person the token belongs to (required for ${PERSONAL_ROLES.join(' and ')}); one active token per person and role`,
    )
    .option(
      '--expires <when>',
      'a duration (90d, 12h, 26w) or an ISO 8601 date (2027-03-01: the start of that day, UTC)',
    )
    .option('--label <text>', 'a note to recognise the token by')
    .option('--json', 'print JSON: {"id","token","role","sites","person","expiresAt"}')
    .action(
      action(async (options: CreateOptions) => {
        const created = await withGlasshouse(options, (g) =>
          g.tokens.create(
            {
              role: options.role,
              sites: options.sites
                ?.split(',')
                .map((s) => s.trim())
                .filter(Boolean),
              label: options.label,
              person: options.person,
              expires: options.expires,
            },
            CLI_ACTOR,
          ),
        );
        printResult(
          options.json === true,
          {
            id: created.id,
            token: created.token,
            role: created.role,
            sites: created.sites,
            person: created.person,
            expiresAt: created.expiresAt,
          },
          () =>
            [
              `token ${created.id} (role ${created.role}, sites ${formatSites(created.sites)}, person ${created.person ?? '-'}, expires ${created.expiresAt ?? 'never'})`,
              'shown once; store it now:',
              created.token,
            ].join('\n'),
        );
      }),
    );

  withDataDirOptions(token.command('list'))
    .description(
      'list tokens with their person, expiry and last use, for access reviews (never their secrets)',
    )
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption) => {
        const tokens = await withGlasshouse(options, (g) => g.tokens.list());
        printResult(options.json === true, tokens, () => formatTable(tokens));
      }),
    );

  withDataDirOptions(token.command('revoke'))
    .description('revoke a token by id; a running server refuses it within 100 ms')
    .argument('<id>', 'token id (from `token list`)')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, options: DataDirOptions & JsonOption) => {
        const revoked = await withGlasshouse(options, (g) => g.tokens.revoke(id, CLI_ACTOR));
        printResult(options.json === true, revoked, () => `revoked ${revoked.id}`);
      }),
    );
}

const COLUMNS = [
  'id',
  'role',
  'sites',
  'person',
  'state',
  'created',
  'expires',
  'last used',
  'label',
] as const;

/** One line per token, aligned: what an access review goes through. */
function formatTable(tokens: readonly TokenInfo[]): string {
  if (tokens.length === 0) return 'no tokens';
  const rows = tokens.map((t) => [
    t.id,
    t.role,
    formatSites(t.sites),
    t.person ?? '-',
    t.state,
    t.createdAt,
    t.expiresAt ?? 'never',
    t.lastUsedAt ?? 'never',
    t.label,
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  return [[...COLUMNS], ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function formatSites(sites: readonly string[] | '*'): string {
  return sites === '*' ? 'all' : sites.join(',');
}
