import { CommanderError, InvalidArgumentError } from 'commander';
import { GlasshouseError } from '../shared/errors.js';

/** A usage error: a missing or wrong option. Exits 2, like commander's own. */
export class UsageError extends GlasshouseError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Failure {
  readonly code: string;
  /** One line (or, for a file's bad rows, one line per row): what went wrong and what to do. */
  readonly message: string;
  readonly exitCode: typeof EXIT_FAILURE | typeof EXIT_USAGE;
}

/** Node's system error codes that mean "nobody answered at that address". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

/**
 * What an operator reads when a command fails: known errors by their message and code,
 * system errors translated into what to do, anything else by its message alone.
 *
 * @example
 * describeFailure(new UsageError('give --token')) // { code: 'USAGE', exitCode: 2, … }
 */
export function describeFailure(error: unknown): Failure {
  if (error instanceof UsageError || error instanceof InvalidArgumentError) {
    return { code: 'USAGE', message: error.message, exitCode: EXIT_USAGE };
  }
  if (error instanceof CommanderError) {
    return { code: 'USAGE', message: error.message.replace(/^error: /, ''), exitCode: EXIT_USAGE };
  }
  if (error instanceof GlasshouseError) {
    return { code: error.code, message: `${error.message} [${error.code}]`, exitCode: EXIT_FAILURE };
  }
  const system = systemError(error);
  if (system !== undefined) return { ...system, exitCode: EXIT_FAILURE };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'FAILED', message: firstLine(message), exitCode: EXIT_FAILURE };
}

function systemError(error: unknown): { code: string; message: string } | undefined {
  // fetch() wraps the socket's error as its cause; node:http gives it directly.
  const cause = error instanceof TypeError && error.cause instanceof Error ? error.cause : error;
  const { code, address, port, path, syscall, hostname } = (cause ?? {}) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
    hostname?: string;
  };
  if (code === 'EADDRINUSE') {
    return {
      code: 'PORT_IN_USE',
      message: `${address ?? 'the address'}:${port ?? '?'} is already in use; stop what listens there or choose another port with --port (or $GLASSHOUSE_PORT)`,
    };
  }
  if (code === 'EADDRNOTAVAIL') {
    return {
      code: 'ADDRESS_NOT_AVAILABLE',
      message: `cannot listen on ${address ?? 'that address'}: no such address on this machine; choose another with --host (or $GLASSHOUSE_HOST)`,
    };
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    const where = address === undefined ? (hostname ?? 'the server') : `${address}:${port ?? ''}`;
    return {
      code: 'SERVER_UNREACHABLE',
      message: `no answer from ${where} (${code}); is \`glasshouse up\` running there? Give its address with --url (or $GLASSHOUSE_URL)`,
    };
  }
  if (code === 'ENOENT' && syscall !== undefined && path !== undefined) {
    return { code: 'FILE_NOT_FOUND', message: `${path}: no such file or directory` };
  }
  if ((code === 'EACCES' || code === 'EPERM') && path !== undefined) {
    return { code: 'PERMISSION_DENIED', message: `${path}: permission denied` };
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const reason = error.cause instanceof Error ? error.cause.message : 'no answer';
    return {
      code: 'SERVER_UNREACHABLE',
      message: `cannot reach the server (${reason}); check its address (--url or $GLASSHOUSE_URL) and that \`glasshouse up\` runs there`,
    };
  }
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return {
      code: 'SERVER_UNREACHABLE',
      message:
        'the server did not answer in time; check that it runs and the address (--url or $GLASSHOUSE_URL)',
    };
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
