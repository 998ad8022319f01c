import { createHash } from 'node:crypto';

/**
 * A small client for the routes relocation tests drive, over `app.inject` or a real server:
 * `send(method, path, token, body?, contentType?)` returns status and parsed JSON.
 */
export type Send = (
  method: 'GET' | 'POST',
  path: string,
  token: string,
  body?: unknown,
  contentType?: string,
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
) => Promise<{ status: number; json: any }>;

export function injectSender(app: {
  inject(options: object): Promise<{ statusCode: number; body: string }>;
}): Send {
  return async (method, path, token, body, contentType) => {
    const response = await app.inject({
      method,
      url: path,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
      },
      ...(body === undefined
        ? {}
        : { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    return { status: response.statusCode, json: parse(response.body) };
  };
}

export function fetchSender(baseUrl: string): Send {
  return async (method, path, token, body, contentType) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: response.status, json: parse(await response.text()) };
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export async function registerInstallation(send: Send, product: string, country: string) {
  const r = await send('POST', '/v1/installations', product, { country, product: 'endpoint-12' });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { id: string; site: string };
}

export async function uploadSample(
  send: Send,
  product: string,
  installation: string,
  bytes: Buffer,
  filename: string,
) {
  const r = await send(
    'POST',
    `/v1/samples?installation=${installation}&filename=${encodeURIComponent(filename)}`,
    product,
    bytes,
    'application/octet-stream',
  );
  if (r.status !== 201 && r.status !== 200) throw new Error(`upload: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { sha256: string; site: string };
}

export async function sendEvents(send: Send, product: string, installation: string, count: number, at: Date) {
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      ts: new Date(at.getTime() - i * 1000).toISOString(),
      installation,
      type: 'detection',
      sha256: 'a'.repeat(64),
      verdict: 'malicious',
      threat: `Trojan.Test.${i % 3}`,
    }),
  );
  const r = await send('POST', '/v1/events', product, lines.join('\n'), 'application/x-ndjson');
  if (r.status !== 200 || r.json.accepted !== count)
    throw new Error(`events: ${r.status} ${JSON.stringify(r.json)}`);
}

/** A policy version effective now: `assign` maps countries to sites, the rest goes to `fallback`. */
export async function setPolicy(
  send: Send,
  admin: string,
  fallback: string,
  assign: Record<string, string[]>,
) {
  const r = await send('POST', '/v1/policy/versions', admin, {
    default: fallback,
    assign: Object.entries(assign)
      .filter(([, countries]) => countries.length > 0)
      .map(([site, countries]) => ({ countries, site })),
  });
  if (r.status !== 201) throw new Error(`policy: ${r.status} ${JSON.stringify(r.json)}`);
}

export async function waitForRelocation(send: Send, admin: string, id: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await send('GET', `/v1/relocations/${id}`, admin);
    if (r.status === 200 && ['done', 'cancelled', 'failed'].includes(r.json.state)) return r.json;
    if (Date.now() > deadline) throw new Error(`relocation ${id} did not finish: ${JSON.stringify(r.json)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
