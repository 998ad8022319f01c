import type { Command } from 'commander';
import { HISTORY_COLUMNS } from '../legal/index.js';
import { CLI_ACTOR } from './data-dir-options.js';
import { registerHistoryImport } from './history-import-command.js';

export function registerLegal(program: Command): void {
  const legal = program
    .command('legal')
    .description('the legal desk: government and law-enforcement requests');
  registerHistoryImport(legal, {
    description: `load historical, closed requests from CSV (columns ${HISTORY_COLUMNS.join(',')}): all rows, or nothing if any row is bad (bad rows are listed by line)`,
    fileHelp: 'the CSV file',
    role: 'legal',
    route: '/v1/legal-requests/import',
    badFileCode: 'INVALID_LEGAL_HISTORY',
    jsonHelp: 'print JSON: {"imported","sha256"}',
    load: (glasshouse, csv) => glasshouse.legal.importHistory(csv, CLI_ACTOR),
    summary: (result) => `imported ${result.imported} requests (sha256 ${result.sha256})`,
  });
}
