import { GlasshouseError } from '../shared/errors.js';

/** Prints a result as JSON (`--json`) or as the given human-readable lines. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/**
 * Runs a command body, turning known errors into a one-line message and exit code 1 (2 for
 * usage errors is commander's own), and never a stack trace for an operator mistake.
 */
export function action<Args extends unknown[]>(body: (...args: Args) => Promise<void>) {
  return async (...args: Args): Promise<void> => {
    try {
      await body(...args);
    } catch (error) {
      if (error instanceof GlasshouseError) {
        process.stderr.write(`glasshouse: ${error.message} [${error.code}]\n`);
      } else {
        process.stderr.write(
          `glasshouse: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
      }
      process.exitCode = 1;
    }
  };
}
