import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { PERIOD_PATTERN } from './period.js';
import { ReportError } from './report-errors.js';
import { type SiteFiles, VERIFIER_SCRIPT } from './report-site.js';

export interface PublicReportRoutesOptions {
  /** The published reports as files, with the verify command pointing at `baseUrl`. */
  readonly site: (baseUrl: string) => Promise<SiteFiles>;
  /** The `Verify` button's script (`npm run build:console`); `undefined` when it is not built. */
  readonly verifierScript?: () => Buffer | undefined;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

const PeriodParam = Type.Object({
  period: Type.String({ pattern: PERIOD_PATTERN, maxLength: 7, description: 'a published period' }),
});

/**
 * The published transparency reports, for anyone: no token. The same files as the static
 * site of `report build --out`: `/reports/` (index), `/reports/index.json`,
 * `/reports/2021-H2/` (the page), and its `report.json`, `report.md` and CSV tables beside it.
 * Only periods an admin published are served (404 `REPORT_NOT_PUBLISHED` otherwise).
 */
export const publicReportRoutes: FastifyPluginAsyncTypebox<PublicReportRoutesOptions> = async (
  app,
  { site, verifierScript },
) => {
  const send = async (request: FastifyRequest, reply: FastifyReply, path: string) => {
    const files = await site(`${request.protocol}://${request.host}`);
    const content = files.get(path);
    if (content === undefined) {
      const period = path.split('/')[0] ?? '';
      throw new ReportError(
        'REPORT_NOT_PUBLISHED',
        files.has(`${period}/index.html`)
          ? `no file ${path} in the published report of ${period}`
          : `the report of ${period} is not published`,
      );
    }
    return reply
      .type(TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'text/plain; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(content);
  };
  const common = { tags: ['reports'], security: [] };

  app.get('/reports', { schema: { ...common, hide: true } }, (_request, reply) =>
    reply.redirect('/reports/', 301),
  );
  app.get(
    '/reports/',
    {
      schema: {
        ...common,
        operationId: 'getPublicReportIndex',
        summary: 'The published transparency reports (HTML index); no token',
      },
    },
    (request, reply) => send(request, reply, 'index.html'),
  );
  app.get('/reports/index.html', { schema: { ...common, hide: true } }, (request, reply) =>
    send(request, reply, 'index.html'),
  );
  app.get(
    '/reports/index.json',
    {
      schema: {
        ...common,
        operationId: 'getPublicReportIndexJson',
        summary: 'The published periods, their files and the control log key; no token',
      },
    },
    (request, reply) => send(request, reply, 'index.json'),
  );
  app.get(
    `/reports/${VERIFIER_SCRIPT}`,
    {
      schema: {
        ...common,
        operationId: 'getPublicReportVerifier',
        summary: 'The script of the Verify button of the published report pages; no token',
      },
    },
    (_request, reply) => {
      const script = verifierScript?.();
      if (script === undefined) {
        throw new ReportError(
          'REPORT_NOT_PUBLISHED',
          'the report verifier is not built: run `npm run build`',
        );
      }
      return reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(script);
    },
  );
  app.get('/reports/:period', { schema: { ...common, hide: true, params: PeriodParam } }, (request, reply) =>
    reply.redirect(`/reports/${request.params.period}/`, 301),
  );
  app.get(
    '/reports/:period/',
    {
      schema: {
        ...common,
        operationId: 'getPublicReportPage',
        summary: 'A published transparency report as an HTML page; no token',
        params: PeriodParam,
      },
    },
    (request, reply) => send(request, reply, `${request.params.period}/index.html`),
  );
  app.get(
    '/reports/:period/:file',
    {
      schema: {
        ...common,
        operationId: 'getPublicReportFile',
        summary: 'A file of a published report: report.json, report.md or a CSV table; no token',
        params: Type.Object({
          ...PeriodParam.properties,
          file: Type.String({ pattern: '^[a-z-]+\\.(json|md|csv|html)$', maxLength: 64 }),
        }),
      },
    },
    (request, reply) => send(request, reply, `${request.params.period}/${request.params.file}`),
  );
};
