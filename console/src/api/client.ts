import { ApiProblem } from './problem';

/**
 * The console's only way to the server: the public API, with the signed-in token as a bearer
 * token. Anything the console does, a script with the same token can do.
 */
export type Query = Readonly<Record<string, string | number | boolean | undefined | null>>;

export interface RequestOptions {
  readonly query?: Query;
  /** A JSON body (serialized here) or a raw body (a file, CSV text) sent as it is. */
  readonly json?: unknown;
  readonly body?: BodyInit;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Another credential than the session's bearer token (an erasure receipt token). */
  readonly authorization?: string;
}

export class ApiClient {
  readonly #token: string | null;

  constructor(token: string | null) {
    this.#token = token;
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, options);
  }

  put<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, options);
  }

  delete<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /** The answer as bytes, for downloads (zip files, CSV tables). */
  async blob(path: string, options: RequestOptions = {}): Promise<Blob> {
    const response = await this.fetch('GET', path, options);
    return response.blob();
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.fetch(method, path, options);
    if (response.status === 204) return undefined as T;
    const type = response.headers.get('content-type') ?? '';
    if (type.includes('json')) return (await response.json()) as T;
    return (await response.text()) as T;
  }

  async fetch(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers = new Headers({ accept: 'application/json' });
    const authorization =
      options.authorization ?? (this.#token === null ? undefined : `Bearer ${this.#token}`);
    if (authorization !== undefined) headers.set('authorization', authorization);
    let body = options.body;
    if (options.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(options.json);
    } else if (options.contentType !== undefined) {
      headers.set('content-type', options.contentType);
    }
    const init: RequestInit = { method, headers, cache: 'no-store' };
    if (body !== undefined) init.body = body;
    if (options.signal !== undefined) init.signal = options.signal;
    const response = await fetch(urlOf(path, options.query), init);
    if (!response.ok) throw await problemOf(response);
    return response;
  }
}

export function urlOf(path: string, query: Query | undefined): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

async function problemOf(response: Response): Promise<ApiProblem> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null)
      return new ApiProblem(response.status, body as Record<string, unknown>);
  } catch {
    // Not a problem document (a proxy's error page): say what came back.
  }
  return new ApiProblem(response.status, {
    title: response.statusText || `HTTP ${response.status}`,
    detail: text.slice(0, 200),
  });
}
