import type { Command } from 'commander';
import { describeFailure, EXIT_FAILURE, EXIT_USAGE, type Failure } from './failure.js';

/** Prints a result as JSON (`--json`) or as the given human-readable lines. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/**
 * Prints a failure as one line on stderr and, with `--json`, as `{"error":{…}}` on stdout
 * too, so a script reading stdout sees the error; sets the exit code (2 usage, 1 failure).
 */
export function reportFailure(failure: Failure, json: boolean): void {
  process.stderr.write(`glasshouse: ${failure.message}\n`);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: failure.code, message: failure.message, exitCode: failure.exitCode } }, null, 2)}\n`,
    );
  }
  process.exitCode = failure.exitCode;
}

/**
 * Runs a command body, turning every error into one line that says what to do (never a
 * stack trace): exit 2 for a usage error, 1 for a failure.
 */
export function action<Args extends unknown[]>(body: (...args: Args) => Promise<void>) {
  return async (...args: Args): Promise<void> => {
    try {
      await body(...args);
    } catch (error) {
      const command = args.at(-1) as Command | undefined;
      reportFailure(describeFailure(error), command?.opts?.().json === true);
    }
  };
}

export { EXIT_FAILURE, EXIT_USAGE };
