import type { Command } from 'commander';
import { ROLES } from '../auth/roles.js';
import { CLI_ACTOR, type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { action, printResult } from './output.js';

type JsonOption = { json?: boolean };

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('create, list and revoke API tokens (works on the data directory)');

  withDataDirOptions(token.command('create'))
    .description('create a token and print it once')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--sites <sites>', 'comma-separated sites the token may touch (default: all)')
    .option('--label <text>', 'a note to recognise the token by')
    .option('--json', 'print JSON: {"id","token","role","sites"}')
    .action(
      action(
        async (options: DataDirOptions & JsonOption & { role: string; sites?: string; label?: string }) => {
          const created = await withGlasshouse(options, (g) =>
            g.tokens.create(
              {
                role: options.role,
                sites: options.sites
                  ?.split(',')
                  .map((s) => s.trim())
                  .filter(Boolean),
                label: options.label,
              },
              CLI_ACTOR,
            ),
          );
          printResult(
            options.json === true,
            { id: created.id, token: created.token, role: created.role, sites: created.sites },
            () =>
              [
                `token ${created.id} (role ${created.role}, sites ${formatSites(created.sites)})`,
                'shown once; store it now:',
                created.token,
              ].join('\n'),
          );
        },
      ),
    );

  withDataDirOptions(token.command('list'))
    .description('list tokens (never their secrets)')
    .option('--json', 'print JSON')
    .action(
      action(async (options: DataDirOptions & JsonOption) => {
        const tokens = await withGlasshouse(options, (g) => g.tokens.list());
        printResult(options.json === true, tokens, () =>
          tokens.length === 0
            ? 'no tokens'
            : tokens
                .map(
                  (t) =>
                    `${t.id}  ${t.role.padEnd(8)}  ${formatSites(t.sites).padEnd(16)}  ${t.revokedAt === null ? 'active ' : 'revoked'}  ${t.createdAt}  ${t.label}`,
                )
                .join('\n'),
        );
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

function formatSites(sites: readonly string[] | '*'): string {
  return sites === '*' ? 'all' : sites.join(',');
}
