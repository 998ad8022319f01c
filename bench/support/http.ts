import { Agent, type IncomingHttpHeaders, request } from 'node:http';

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A small node:http client over a keep-alive agent, one socket per concurrent request. Plain
 * node:http rather than fetch, so the client's own overhead stays small next to the server's.
 */
export class HttpClient {
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #token: string | undefined;

  constructor(options: { baseUrl: string; token?: string; maxSockets?: number }) {
    const url = new URL(options.baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#token = options.token;
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  }

  /** A JSON request; the body of the answer is returned as text whatever its status. */
  json(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return this.send(method, path, {
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { body: payload }),
    });
  }

  /**
   * Sends `body` whole, or streams it from an iterable with backpressure (never holding more
   * than the socket's buffer plus one chunk); `contentLength` is required when streaming.
   */
  send(
    method: string,
    path: string,
    options: {
      headers?: Record<string, string>;
      body?: Buffer | AsyncIterable<Buffer> | Iterable<Buffer>;
      contentLength?: number;
    } = {},
  ): Promise<HttpResult> {
    const { body } = options;
    const length = Buffer.isBuffer(body) ? body.length : options.contentLength;
    const headers: Record<string, string> = {
      ...(this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` }),
      ...(length === undefined ? {} : { 'content-length': String(length) }),
      ...options.headers,
    };
    return new Promise<HttpResult>((resolve, reject) => {
      const req = request(
        { host: this.#host, port: this.#port, method, path, headers, agent: this.#agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.once('error', reject);
      if (body === undefined || Buffer.isBuffer(body)) {
        req.end(body);
        return;
      }
      streamInto(req, body).catch((error: unknown) => {
        // The server may answer early (413, 404) and close: its answer wins over the write error.
        if (!req.destroyed) req.destroy(error as Error);
      });
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

async function streamInto(
  req: ReturnType<typeof request>,
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
): Promise<void> {
  for await (const chunk of body) {
    if (req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          req.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          req.off('drain', onDrain);
          reject(new Error('connection closed while sending'));
        };
        req.once('drain', onDrain);
        req.once('close', onClose);
      });
    }
  }
  req.end();
}
