import { Command } from 'commander';
import { registerInit } from './init-command.js';
import { registerLedger } from './ledger-command.js';
import { registerLegal } from './legal-command.js';
import { registerPolicy } from './policy-command.js';
import { registerPrivacy } from './privacy-command.js';
import { registerRelocate } from './relocate-command.js';
import { registerReport } from './report-command.js';
import { registerToken } from './token-command.js';
import { registerUp } from './up-command.js';
import { registerVerdicts } from './verdicts-command.js';

const program = new Command()
  .name('glasshouse')
  .description('Threat-data service with data residency and verifiable transparency')
  .version('0.1.0')
  .showHelpAfterError();

registerUp(program);
registerInit(program);
registerToken(program);
registerPolicy(program);
registerLedger(program);
registerVerdicts(program);
registerLegal(program);
registerReport(program);
registerPrivacy(program);
registerRelocate(program);

await program.parseAsync(process.argv);
