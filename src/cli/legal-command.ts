import type { Command } from 'commander';
import { HISTORY_COLUMNS } from '../control/legal/index.js';
import { CLI_ACTOR } from './data-dir-options.js';
import { registerHistoryImport } from './history-import-command.js';

export function registerLegal(program: Command): void {
  const legal = program
    .command('legal')
    .description('the legal desk: government and law-enforcement requests');
  registerHistoryImport(legal, {
    description: `load past requests from CSV (columns ${HISTORY_COLUMNS.join(',')}; a request still open has an empty outcome and closed_at and enters the desk as received): all rows, or nothing if any row is bad (bad rows are listed by line); a file imported before is refused unless --again`,
    fileHelp: 'the CSV file',
    role: 'legal',
    route: '/v1/legal-requests/import',
    badFileCode: 'INVALID_LEGAL_HISTORY',
    jsonHelp: 'print JSON: {"imported","open","sha256"}',
    load: (glasshouse, csv, options) => glasshouse.legal.importHistory(csv, CLI_ACTOR, options),
    summary: (result) =>
      `imported ${result.imported} requests, ${result.open} of them still open and now on the desk as received (sha256 ${result.sha256})`,
  });
}
