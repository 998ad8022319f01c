import { Command, CommanderError } from 'commander';
import { registerBackup } from './backup-command.js';
import { registerControl } from './control-command.js';
import { registerEvidence } from './evidence-command.js';
import { describeFailure } from './failure.js';
import { registerHunts } from './hunts-command.js';
import { registerInit } from './init-command.js';
import { registerKeys } from './keys-command.js';
import { registerLedger } from './ledger-command.js';
import { registerLegal } from './legal-command.js';
import { reportFailure } from './output.js';
import { registerPki } from './pki-command.js';
import { registerPolicy } from './policy-command.js';
import { registerPrivacy } from './privacy-command.js';
import { registerRelocate } from './relocate-command.js';
import { registerReport } from './report-command.js';
import { registerSamples } from './samples-command.js';
import { registerSite } from './site-command.js';
import { registerStorage } from './storage-command.js';
import { registerToken } from './token-command.js';
import { registerUp } from './up-command.js';
import { registerVerdicts } from './verdicts-command.js';
import { registerWitness } from './witness-command.js';

const program = new Command()
  .name('glasshouse')
  .description('Threat-data service with data residency and verifiable transparency')
  .version('0.1.0')
  // Usage errors come back here as exceptions (subcommands inherit this): one line, exit 2,
  // and JSON on stdout with --json.
  .exitOverride()
  .configureOutput({ outputError: () => undefined });

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
registerSamples(program);
registerHunts(program);
registerPki(program);
registerSite(program);
registerControl(program);
registerStorage(program);
registerWitness(program);
registerKeys(program);
registerBackup(program);
registerEvidence(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError && error.exitCode === 0) {
    process.exitCode = 0; // --help, --version
  } else {
    const failure = describeFailure(error);
    const hint = failure.exitCode === 2 ? ' (see --help)' : '';
    reportFailure({ ...failure, message: `${failure.message}${hint}` }, process.argv.includes('--json'));
  }
}
