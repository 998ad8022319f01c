import type { Command } from 'commander';
import { CLI_ACTOR } from './data-dir-options.js';
import { registerHistoryImport } from './history-import-command.js';

export function registerPrivacy(program: Command): void {
  const privacy = program
    .command('privacy')
    .description("the privacy desk: users' requests about their data");
  registerHistoryImport(privacy, {
    description:
      'load historical, closed requests (CSV received_at,type,outcome,closed_at) so past years appear in reports: all of the file, or nothing if any row is bad (bad rows are listed by line); a file imported before is refused unless --again',
    fileHelp: 'the CSV file; dates as YYYY-MM-DD, outcome completed or rejected',
    role: 'privacy',
    route: '/v1/privacy-requests/import',
    badFileCode: 'INVALID_PRIVACY_HISTORY',
    jsonHelp: 'print JSON: {"loaded","sha256"}',
    load: (glasshouse, csv, options) => glasshouse.privacy.importHistory(csv, CLI_ACTOR, options),
    summary: (result) => `loaded ${result.loaded} requests (sha256 ${result.sha256})`,
  });
}
