import { connect } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { storesAndLogs } from './support/snapshot.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const MD5 = '44d88612fea8a8f36de82e1278abb02f';

let h: Harness;
let analyst: Record<string, string>;
let product: Record<string, string>;
let legal: Record<string, string>;
let admin: Record<string, string>;

beforeAll(async () => {
  h = await startHarness({ now: () => NOW });
  analyst = bearer(await h.token('analyst'));
  product = bearer(await h.token('product'));
  legal = bearer(await h.token('legal'));
  admin = bearer(await h.token('admin'));
});
afterAll(() => h.close());

const json = { 'content-type': 'application/json' };

function expectProblem(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.json()).toMatchObject({ status, code });
}

/** The request is refused with that status and code, and every store and log is as it was. */
async function expectRefusedUnchanged(request: InjectOptions, status: number, code: string) {
  const before = await storesAndLogs(h);
  expectProblem(await h.app.inject(request), status, code);
  expect(await storesAndLogs(h)).toEqual(before);
}

function newLegalRequest(overrides: Record<string, unknown> = {}) {
  return {
    receivedAt: '2024-04-03',
    requesterCountry: 'DE',
    authorityKind: 'law_enforcement',
    authority: 'Bundeskriminalamt',
    legalBasis: '§ 100a StPO',
    reference: 'AZ 1',
    category: 'technical_expertise',
    scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '' },
    ...overrides,
  };
}

describe('a verdict set with text that is not Unicode', () => {
  it('is refused with 400 INVALID_TEXT, and the verdict, the stores and the logs stay as they were', async () => {
    const set = await h.app.inject({
      method: 'PUT',
      url: `/v1/verdicts/${MD5}`,
      headers: analyst,
      payload: { verdict: 'suspicious', threat: 'Before' },
    });
    expect(set.statusCode, set.body).toBe(200);
    for (const threat of ['Evil\\ud800', 'Evil\\udc00x', 'Evil\\u0000', 'Evil\\u001b[31m']) {
      await expectRefusedUnchanged(
        {
          method: 'PUT',
          url: `/v1/verdicts/${MD5}`,
          headers: { ...analyst, ...json },
          payload: `{"verdict":"malicious","threat":"${threat}"}`,
        },
        400,
        'INVALID_TEXT',
      );
    }
    const lookup = await h.app.inject({ url: `/v1/lookup/${MD5}`, headers: product });
    expect(lookup.json()).toMatchObject({ verdict: 'suspicious', threat: 'Before' });
  });
});

describe('a legal request or action with text that is not Unicode', () => {
  it('is refused with 400 INVALID_TEXT and changes nothing', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/legal-requests',
      headers: legal,
      payload: newLegalRequest(),
    });
    expect(created.statusCode, created.body).toBe(201);
    const body = JSON.stringify(newLegalRequest()).replace('Bundeskriminalamt', 'BKA\\ud800');
    await expectRefusedUnchanged(
      { method: 'POST', url: '/v1/legal-requests', headers: { ...legal, ...json }, payload: body },
      400,
      'INVALID_TEXT',
    );
    await expectRefusedUnchanged(
      {
        method: 'POST',
        url: `/v1/legal-requests/${created.json().id}/actions`,
        headers: { ...legal, ...json },
        payload: '{"action":"start_verification","note":"seen\\udfff"}',
      },
      400,
      'INVALID_TEXT',
    );
  });
});

describe('a member name that is not Unicode, or a body nested past the limit', () => {
  it('is refused before validation', async () => {
    await expectRefusedUnchanged(
      {
        method: 'POST',
        url: '/v1/installations',
        headers: { ...product, ...json },
        payload: '{"\\ud800":1}',
      },
      400,
      'INVALID_TEXT',
    );
    await expectRefusedUnchanged(
      {
        method: 'POST',
        url: '/v1/installations',
        headers: { ...product, ...json },
        payload: `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
      },
      400,
      'BODY_TOO_DEEP',
    );
  });
});

describe('a verdict feed with threat names that are not text', () => {
  const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140';

  it('is refused whole with 400 INVALID_FEED listing the lines (CSV: NUL, invalid UTF-8)', async () => {
    const feed = Buffer.concat([
      Buffer.from(`hash,verdict,threat\n${SHA1},malicious,Good\n${MD5},malicious,Evil`),
      Buffer.from([0x00]),
      Buffer.from(`\n${SHA1},clean,Bad`),
      Buffer.from([0xc0, 0xae]),
      Buffer.from('\n'),
    ]);
    const before = await storesAndLogs(h);
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/verdicts/import',
      headers: { ...analyst, 'content-type': 'text/csv' },
      payload: feed,
    });
    expectProblem(response, 400, 'INVALID_FEED');
    expect(response.json().errors.map((e: { line: number }) => e.line)).toEqual([3, 4]);
    expect(await storesAndLogs(h)).toEqual(before);
  });

  it('is refused whole with 400 INVALID_FEED listing the lines (NDJSON: escaped NUL)', async () => {
    const feed = `{"hash":"${SHA1}","verdict":"malicious","threat":"Good"}\n{"hash":"${MD5}","verdict":"malicious","threat":"Evil\\u0000"}\n`;
    const before = await storesAndLogs(h);
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/verdicts/import',
      headers: { ...analyst, 'content-type': 'application/x-ndjson' },
      payload: feed,
    });
    expectProblem(response, 400, 'INVALID_FEED');
    expect(response.json().errors).toEqual([{ line: 2, message: 'threat holds a NUL character' }]);
    expect(await storesAndLogs(h)).toEqual(before);
    const lookup = await h.app.inject({ url: `/v1/lookup/${SHA1}`, headers: product });
    expect(lookup.json().verdict).toBe('unknown');
  });
});

describe('a batch look-up with no body and no content type', () => {
  it('is refused with 400 MISSING_BODY', async () => {
    expectProblem(
      await h.app.inject({ method: 'POST', url: '/v1/lookup', headers: product }),
      400,
      'MISSING_BODY',
    );
  });
});

describe('a relocation whose dryRun is not a boolean', () => {
  it('is refused with 400 and starts nothing (JSON bodies are never coerced)', async () => {
    for (const dryRun of [null, 'false', 0, 'true', 1, [true]]) {
      await expectRefusedUnchanged(
        { method: 'POST', url: '/v1/relocations', headers: admin, payload: { dryRun } },
        400,
        'VALIDATION_FAILED',
      );
    }
    await expectRefusedUnchanged(
      { method: 'POST', url: '/v1/relocations', headers: admin, payload: { batchSize: '10' } },
      400,
      'VALIDATION_FAILED',
    );
    const relocations = await h.app.inject({ url: '/v1/relocations', headers: admin });
    expect(relocations.json().relocations).toEqual([]);
  });

  it('still reads numbers and booleans from query strings, as their schemas say', async () => {
    const listed = await h.app.inject({ url: '/v1/legal-requests?limit=5', headers: legal });
    expect(listed.statusCode, listed.body).toBe(200);
    const refused = await h.app.inject({ url: '/v1/legal-requests?limit=five', headers: legal });
    expectProblem(refused, 400, 'VALIDATION_FAILED');
  });
});

describe('a number in a query string beyond any number (1e309)', () => {
  it('is refused with 400 NUMBER_OUT_OF_RANGE, not read as Infinity past the maximum', async () => {
    const privacy = bearer(await h.token('privacy'));
    for (const [url, headers] of [
      ['/v1/legal-requests?limit=1e309', legal],
      ['/v1/privacy-requests?limit=-1e400', privacy],
      ['/v1/relocations?limit=1E999', admin],
    ] as const) {
      expectProblem(await h.app.inject({ url, headers }), 400, 'NUMBER_OUT_OF_RANGE');
    }
  });

  it('leaves alone text that only looks like one: an identifier such as the token id 3e9918671381', async () => {
    // Token ids are 12 random hex digits, and now and then one reads as a number this large:
    // the route, not the number check, answers for it.
    const revoked = await h.app.inject({ method: 'DELETE', url: '/v1/tokens/3e9918671381', headers: admin });
    expectProblem(revoked, 404, 'TOKEN_NOT_FOUND');
  });
});

describe('a bare JSON string with text that is not Unicode, to a route that takes no body', () => {
  it('is refused with 400 INVALID_TEXT and changes nothing', async () => {
    await expectRefusedUnchanged(
      {
        method: 'PUT',
        url: '/v1/reports/2021-H2/publication',
        headers: { ...admin, ...json },
        payload: '"Evil\\ud800"',
      },
      400,
      'INVALID_TEXT',
    );
  });
});

describe('a body sent to a route that takes none', () => {
  it('is refused with 400 UNEXPECTED_BODY and changes nothing (even null)', async () => {
    await expectRefusedUnchanged(
      {
        method: 'PUT',
        url: '/v1/reports/2021-H2/publication',
        headers: { ...admin, ...json },
        payload: 'null',
      },
      400,
      'UNEXPECTED_BODY',
    );
  });
});

describe('a URL that does not decode', () => {
  it('is answered with a problem document, 400 INVALID_URL', async () => {
    for (const url of ['/v1/samples/%c0%ae', '/v1/lookup/%ff', '/log/control/tile/%e0%80%af']) {
      expectProblem(await h.app.inject({ url, headers: analyst }), 400, 'INVALID_URL');
    }
  });
});

describe('a JSON body that does not parse', () => {
  it('is answered with a coded problem document', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/installations',
      headers: { ...product, ...json },
      payload: '{"country":',
    });
    expectProblem(response, 400, 'FST_ERR_CTP_INVALID_JSON_BODY');
  });
});

describe('a request the HTTP parser refuses', () => {
  let port: number;
  beforeAll(async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });

  /** Sends raw bytes and reads what comes back until the server closes the connection. */
  function raw(request: string): Promise<{ status: number; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const [head = '', body = ''] = text.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body });
      });
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
      socket.end(request);
    });
  }

  const cases = [
    {
      name: 'a bad Content-Length',
      request: 'POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      name: 'two Content-Lengths',
      request: 'POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      name: 'bad chunking',
      request:
        'POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      name: 'oversize headers',
      request: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
  ];

  for (const { name, request, status, code } of cases) {
    it(`answers ${name} with a problem document, ${status} ${code}`, async () => {
      const answer = await raw(request);
      expect(answer.status, answer.body).toBe(status);
      expect(answer.headers).toContain('content-type: application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({ status, code });
    });
  }

  it('answers a URL that does not decode with a problem document over the wire too', async () => {
    const answer = await raw('GET /v1/samples/%c0%ae HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'INVALID_URL' });
  });
});
