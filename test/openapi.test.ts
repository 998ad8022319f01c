import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdOf } from '../src/http/openapi.js';
import { REPO_ROOT } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';

let h: Harness;
let document: {
  servers?: unknown[];
  components: { securitySchemes: Record<string, { type: string; description?: string }> };
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        security?: Record<string, string[]>[];
        responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
      }
    >
  >;
};

beforeAll(async () => {
  h = await startHarness();
  document = (await h.app.inject({ url: '/openapi.json' })).json();
});
afterAll(() => h.close());

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      key: `${method.toUpperCase()} ${path}`,
      operation,
    })),
  );

describe('GET /openapi.json', () => {
  describe('when linted by redocly with the repository’s rules', () => {
    it('has no error and no warning', () => {
      const dir = mkdtempSync(join(tmpdir(), 'glasshouse-openapi-'));
      try {
        const file = join(dir, 'openapi.json');
        writeFileSync(file, JSON.stringify(document));
        const result = spawnSync(
          join(REPO_ROOT, 'node_modules/.bin/redocly'),
          ['lint', file, '--config', join(REPO_ROOT, 'redocly.yaml'), '--format=json'],
          {
            encoding: 'utf8',
            timeout: 30_000,
            env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
          },
        );
        const report = JSON.parse(result.stdout) as {
          totals: { errors: number; warnings: number };
          problems: { ruleId: string; message: string }[];
        };
        expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
        expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
        expect(result.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });

  describe('when a client generator reads it', () => {
    it('finds a unique operationId on every operation', () => {
      const ids = operations().map(({ operation }) => operation.operationId);
      expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      expect(document.paths['/v1/samples/{hash}/download']?.get?.operationId).toBe(
        'getSamplesByHashDownload',
      );
    });

    it('finds a description on every response, and no generic one', () => {
      for (const { key, operation } of operations()) {
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(response.description, `${key} ${status}`).toMatch(/\w/);
          expect(response.description, `${key} ${status}`).not.toBe('Default Response');
        }
      }
    });

    it.each([
      ['GET /v1/samples/{hash}/download', 'application/zip'],
      ['GET /v1/legal-requests/{id}/package', 'application/zip'],
      ['GET /v1/privacy-requests/{id}/export', 'application/zip'],
      ['GET /v1/reports/{period}', 'text/html'],
      ['GET /log/{node}/tile/{tilePath}', 'application/octet-stream'],
    ])('finds the binary answer of %s described as %s', (key, type) => {
      const operation = operations().find((o) => o.key === key)?.operation;
      expect(operation?.responses['200']?.content).toHaveProperty([type]);
    });

    it('finds every security scheme, and the routes that take each', () => {
      expect(Object.keys(document.components.securitySchemes).sort()).toEqual([
        'bearer',
        'installation',
        'receipt',
      ]);
      expect(document.components.securitySchemes.installation?.description).toMatch(/Installation ID:SECRET/);
      expect(document.components.securitySchemes.receipt?.description).toMatch(/Receipt TOKEN/);
      expect(document.paths['/v1/privacy-requests/{id}/receipt']?.get?.security).toEqual([
        { bearer: [] },
        { receipt: [] },
      ]);
      expect(document.paths['/v1/privacy-requests']?.post?.security).toEqual([
        { bearer: [] },
        { installation: [] },
      ]);
      expect(document.servers).toHaveLength(1);
    });
  });
});

describe('operationIdOf', () => {
  it.each([
    ['GET', '/v1/legal-requests/:id/package', 'getLegalRequestsByIdPackage'],
    ['POST', '/v1/relocations/:id/pause', 'postRelocationsByIdPause'],
    ['GET', '/log/:node/tile/*', 'getLogByNodeTilePath'],
  ])('names %s %s %s', (method, url, id) => {
    expect(operationIdOf(method, url)).toBe(id);
  });
});

describe('a wrong method on an existing path', () => {
  it('answers 405 with Allow and a problem document', async () => {
    const analyst = await h.token('analyst');
    const response = await h.app.inject({
      method: 'DELETE',
      url: '/v1/stats/detections',
      headers: bearer(analyst),
    });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
  });

  it('lists every method a path with parameters takes', async () => {
    const response = await h.app.inject({ method: 'PUT', url: '/v1/legal-requests/abc' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  it('still answers 404 for a path nobody serves', async () => {
    const response = await h.app.inject({ method: 'DELETE', url: '/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect(response.headers.allow).toBeUndefined();
  });
});
