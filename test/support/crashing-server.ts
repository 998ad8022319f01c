/*
 * `glasshouse up` with a fault injected, for test/privacy-crash.test.ts only:
 *
 *   node --import tsx test/support/crashing-server.ts <steps> up --data DIR ...
 *
 * kills its own process (SIGKILL, as a power cut would) once the privacy job has done
 * <steps> steps. The fault reaches the server through `openGlasshouse`'s options, never
 * through configuration: no deployment can set it.
 */
import { Command } from 'commander';
import { registerUp } from '../../src/cli/up-command.js';

const [steps, ...rest] = process.argv.slice(2);
const crashAfter = Number(steps);
if (!Number.isInteger(crashAfter) || crashAfter < 1) {
  process.stderr.write('usage: crashing-server.ts <steps ≥ 1> up [options]\n');
  process.exit(2);
}

const program = new Command().name('crashing-server');
registerUp(program, {
  afterPrivacyStep: (done) => {
    if (done >= crashAfter) process.kill(process.pid, 'SIGKILL');
  },
});
await program.parseAsync(rest, { from: 'user' });
