import { randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { peerIdentity, type TlsMaterial } from '../../pki/certificates.js';
import {
  IDEMPOTENCY_KEY_HEADER,
  JSON_TYPE,
  OCTET_STREAM,
  pathOf,
  SITE_ROUTES,
  type SiteRouteName,
} from '../../ports/site-wire.js';
import { SiteIdentityError, SiteUnavailableError } from '../../shared/site-errors.js';
import { RemoteSiteError } from './remote-site-error.js';

export interface SiteTransportOptions {
  /** The site's name, which its certificate must carry (CN, with OU `site`). */
  readonly site: string;
  readonly url: string;
  readonly tls: TlsMaterial;
  /** Connect and idle timeout of each attempt, and the budget for retrying a call. */
  readonly timeoutMs: number;
  readonly retries: number;
}

/** One call to the site API. */
export interface SiteCall {
  readonly route: SiteRouteName;
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly bytes?: Buffer;
  /** Piped as it comes, once the connection is up: a call that never connected can be retried. */
  readonly stream?: Readable;
  readonly headers?: Readonly<Record<string, string>>;
  /** Safe to repeat: retried on a connection failure or a 503. */
  readonly idempotent: boolean;
  /** Changes the site: carries an `Idempotency-Key`, so a repeat gets the first answer. */
  readonly mutating: boolean;
  /**
   * How long the site may work before it answers, when longer than the timeout (a compaction,
   * a scan of every sample); connecting and an idle answer keep the short timeout.
   */
  readonly answerTimeoutMs?: number;
}

/** First retry after this long, then twice as long each time, within the call's timeout. */
const BACKOFF_MS = 100;
const IDLE_CONNECTION_MS = 5_000;
/** A problem document is small; anything longer is not one. */
const MAX_PROBLEM_BYTES = 64 * 1024;
/** 503s that say the site will not get better by asking again. */
const PERMANENT_503 = new Set(['STATS_CLOSED']);

/** Why an attempt failed, and whether the call may be repeated. */
class AttemptFailure extends Error {
  constructor(
    readonly reason: unknown,
    /** No byte of the request reached the site (refused, or failed in the handshake). */
    readonly nothingSent: boolean,
  ) {
    super('attempt failed');
  }
}

/**
 * HTTPS with mutual TLS to one site: keep-alive connections, timeouts, retries of what is
 * safe to repeat, and the site's problem documents turned back into errors.
 */
export class SiteTransport {
  readonly #o: SiteTransportOptions;
  readonly #base: URL;
  readonly #agent: Agent;

  constructor(options: SiteTransportOptions) {
    this.#o = options;
    this.#base = new URL(options.url);
    this.#agent = new Agent({
      keepAlive: true,
      // Idle connections go after this long, well before the site's keep-alive timeout (72 s):
      // a request never lands on a connection the site is closing.
      timeout: IDLE_CONNECTION_MS,
      ca: options.tls.ca,
      cert: options.tls.cert,
      key: options.tls.key,
      // The CA signs every peer of the deployment: the host check alone would let any site
      // (or the control plane) answer at this site's address.
      checkServerIdentity: (host, certificate) => this.#checkIdentity(host, certificate),
    });
  }

  /** The call's answer as JSON. */
  async json<T>(call: SiteCall): Promise<T> {
    return JSON.parse((await this.bytes(call)).toString('utf8')) as T;
  }

  /** The call's answer as bytes (small answers: JSON, a log tile). */
  async bytes(call: SiteCall): Promise<Buffer> {
    const response = await this.send(call);
    const body = await readAll(response, Number.POSITIVE_INFINITY).catch((error: unknown) => {
      throw this.#unavailable(error);
    });
    return body ?? Buffer.alloc(0);
  }

  /** Waits for the call's (empty) answer. */
  async empty(call: SiteCall): Promise<void> {
    await this.bytes(call);
  }

  /** The call's answer as a stream, in bounded memory; a site that stops sending fails it. */
  async stream(call: SiteCall): Promise<Readable> {
    const response = await this.send(call);
    const out = new PassThrough();
    response.on('error', (error) => out.destroy(this.#unavailable(error)));
    out.on('close', () => {
      if (!response.complete) response.destroy();
    });
    return response.pipe(out);
  }

  /** A successful answer, its body unread; a refusal as the site's error. */
  async send(call: SiteCall): Promise<IncomingMessage> {
    const deadline = Date.now() + this.#o.timeoutMs;
    const key = call.mutating ? randomUUID() : undefined;
    for (let attempt = 0; ; attempt += 1) {
      const wait = BACKOFF_MS * 2 ** attempt * (0.5 + Math.random() / 2);
      // A retry waits for its answer only as long as the call's timeout has left.
      const patience = Math.max(1, Math.min(this.#o.timeoutMs, deadline - Date.now()));
      const mayRetry = () => attempt < this.#o.retries && Date.now() + wait < deadline;
      let response: IncomingMessage;
      try {
        response = await this.#attempt(call, key, patience);
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw error;
        const repeatable =
          call.stream === undefined ? call.idempotent || error.nothingSent : error.nothingSent;
        if (!(repeatable && isConnectionFailure(error.reason) && mayRetry()))
          throw this.#failure(error.reason);
        await sleep(wait);
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return response;
      const refusal = await this.#refusal(response);
      const retryable = status === 503 && call.idempotent && call.stream === undefined;
      if (!(retryable && !PERMANENT_503.has(refusal.code) && mayRetry())) throw refusal;
      await sleep(wait);
    }
  }

  /** Closes the idle connections. */
  close(): void {
    this.#agent.destroy();
  }

  #attempt(call: SiteCall, key: string | undefined, patience: number): Promise<IncomingMessage> {
    const route = SITE_ROUTES[call.route];
    const query = new URLSearchParams(call.query ?? {}).toString();
    const bytes = call.json === undefined ? call.bytes : Buffer.from(JSON.stringify(call.json), 'utf8');
    const headers: Record<string, string> = {
      accept: `${JSON_TYPE}, ${OCTET_STREAM}`,
      ...call.headers,
      ...(key === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: key }),
    };
    if (call.json !== undefined) headers['content-type'] = JSON_TYPE;
    else if (call.bytes !== undefined || call.stream !== undefined) headers['content-type'] = OCTET_STREAM;
    if (bytes !== undefined) headers['content-length'] = String(bytes.length);
    return new Promise((resolve, reject) => {
      let connected = false;
      let response: IncomingMessage | undefined;
      const body = call.stream;
      // The body's own failure (a stop, a source that broke) is the caller's, not the site's.
      const onBodyError = (error: unknown) => {
        request.destroy();
        reject(error);
      };
      body?.once('error', onBodyError);
      const request = httpsRequest({
        agent: this.#agent,
        protocol: 'https:',
        hostname: this.#base.hostname.replace(/^\[|\]$/g, ''),
        port: this.#base.port === '' ? 443 : Number(this.#base.port),
        method: route.method,
        path: pathOf(call.route, call.params) + (query === '' ? '' : `?${query}`),
        headers,
        timeout: Math.max(patience, call.answerTimeoutMs ?? 0),
      });
      const timedOut = () =>
        Object.assign(new Error(`no answer from site ${this.#o.site} in ${this.#o.timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
      // Until the TLS session is up; from then on the socket's idle timeout speaks.
      const connectTimer = setTimeout(() => request.destroy(timedOut()), patience);
      request.on('timeout', () => {
        // An answer streaming to a reader that is busy elsewhere is not idle: wait for it.
        if (response !== undefined && isHeldByReader(response)) {
          request.setTimeout(this.#o.timeoutMs);
          return;
        }
        if (response === undefined) request.destroy(timedOut());
        else response.destroy(timedOut());
      });
      request.on('error', (error) => {
        clearTimeout(connectTimer);
        body?.off('error', onBodyError);
        reject(new AttemptFailure(error, !connected));
      });
      request.on('response', (answer) => {
        response = answer;
        // From here on the timeout is the idle time of the answer's stream.
        request.setTimeout(this.#o.timeoutMs);
        // The site answered before taking the whole body (it held the sample, or refused it).
        // It reads on and drops the rest rather than closing under our writes (an EPIPE that
        // would hide its answer); the request never ends, so once the answer is read the
        // connection goes: it cannot carry another call.
        if (body !== undefined && !body.readableEnded) {
          body.unpipe(request);
          body.destroy();
          // The request stays short of its body: its connection carries nothing more.
          answer.once('end', () => request.destroy());
        }
        resolve(answer);
      });
      request.on('socket', (socket) => {
        const start = () => {
          clearTimeout(connectTimer);
          connected = true;
          body?.pipe(request);
        };
        if (request.reusedSocket || !(socket as TLSSocket).connecting) start();
        else socket.once('secureConnect', start);
      });
      if (body === undefined) request.end(bytes);
    });
  }

  #checkIdentity(host: string, certificate: PeerCertificate): Error | undefined {
    const hostError = checkServerIdentity(host, certificate);
    if (hostError !== undefined) return hostError;
    const peer = peerIdentity(new X509Certificate(certificate.raw));
    if (peer?.role === 'site' && peer.name === this.#o.site) return undefined;
    return new SiteIdentityError(
      this.#o.site,
      peer === undefined ? 'no peer of the deployment' : `${peer.role} ${peer.name}`,
    );
  }

  async #refusal(response: IncomingMessage): Promise<RemoteSiteError | SiteUnavailableError> {
    const text = await readAll(response, MAX_PROBLEM_BYTES).catch(() => undefined);
    const parsed = parseProblem(text);
    if (parsed === undefined) {
      return this.#unavailable(
        new Error(`site ${this.#o.site} answered ${response.statusCode} without a problem`),
      );
    }
    return new RemoteSiteError(this.#o.site, parsed.code, parsed.detail, {
      ...(parsed.details === undefined ? {} : { details: parsed.details }),
    });
  }

  #failure(reason: unknown): Error {
    if (reason instanceof SiteIdentityError) return reason;
    return this.#unavailable(reason);
  }

  #unavailable(cause: unknown): SiteUnavailableError {
    return cause instanceof SiteUnavailableError ? cause : new SiteUnavailableError(this.#o.site, { cause });
  }
}

/** Failures where the site may simply not have been there: worth another try. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof SiteIdentityError) return false;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return [
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EAI_AGAIN',
    'ENOTFOUND',
    'ECONNABORTED',
  ].includes(code);
}

/** The reader holds the answer back (paused, or its buffer full), or has it all already. */
function isHeldByReader(response: IncomingMessage): boolean {
  return (
    response.complete || response.isPaused() || response.readableLength >= response.readableHighWaterMark
  );
}

/** The whole stream, or `undefined` past `limit` bytes (the rest is not read). */
async function readAll(stream: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, length);
}

function parseProblem(
  text: Buffer | undefined,
): { code: string; detail: string; details: Record<string, unknown> | undefined } | undefined {
  if (text === undefined) return undefined;
  try {
    const body = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
    if (typeof body.code !== 'string') return undefined;
    const details =
      typeof body.details === 'object' && body.details !== null
        ? (body.details as Record<string, unknown>)
        : undefined;
    return { code: body.code, detail: typeof body.detail === 'string' ? body.detail : body.code, details };
  } catch {
    return undefined;
  }
}
