import { type Command, InvalidArgumentError, Option } from 'commander';
import { GlasshouseError } from '../shared/errors.js';
import { UsageError } from './failure.js';

/** The options of a command that talks to a running server. */
export interface ServerOptions {
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Adds `--url` ($GLASSHOUSE_URL), `--token` ($GLASSHOUSE_TOKEN) and `--json` to a command. */
export function withServerOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <base>', 'the server').env('GLASSHOUSE_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'an analyst token').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON');
}

/**
 * Sends one request to the server and answers its JSON; a problem document becomes an error
 * with its code and detail (and, for a rule set, the line and column it names).
 */
export async function requestJson<T>(
  options: ServerOptions,
  path: string,
  request: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; params?: URLSearchParams; body?: unknown } = {},
): Promise<T> {
  if (options.token === undefined || options.token === '') {
    throw new UsageError('give a token: --token or $GLASSHOUSE_TOKEN');
  }
  const url = new URL(path, options.url);
  if (request.params !== undefined) url.search = request.params.toString();
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  // A body-less POST must not claim JSON: the server refuses an empty JSON body.
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: request.method ?? 'GET',
    headers,
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const text = await response.text();
  const parsed = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  if (!response.ok) {
    throw new GlasshouseError(String(parsed.code ?? `HTTP_${response.status}`), problemMessage(parsed, text));
  }
  return parsed as unknown as T;
}

function problemMessage(problem: Record<string, unknown>, text: string): string {
  const detail = String(problem.detail ?? text);
  if (typeof problem.line !== 'number') return detail;
  const column = typeof problem.column === 'number' ? `, column ${problem.column}` : '';
  return `line ${problem.line}${column}: ${detail}`;
}

/** `--limit` and the like: a whole number of 0 or more (the server says what it accepts). */
export function parseCount(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError('a whole number');
  return value;
}

/** The query of a paged list: `limit` and `cursor` where given. */
export function pageParams(options: { readonly limit?: number; readonly cursor?: string }): URLSearchParams {
  const params = new URLSearchParams();
  if (options.limit !== undefined) params.set('limit', String(options.limit));
  if (options.cursor !== undefined) params.set('cursor', options.cursor);
  return params;
}

export const sampleHashArgument = ['<hash>', 'MD5, SHA-1, SHA-256 or SHA-512 of a sample'] as const;
