import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses } from '../../http/schemas.js';
import { actorOf } from '../auth/roles.js';
import { PERIOD_PATTERN, parsePeriod } from './period.js';
import { CSV_TABLES, renderCsv } from './render-csv.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { ReportPublications } from './report-publications.js';
import type { ReportService } from './report-service.js';

export interface ReportRoutesOptions {
  readonly reports: ReportService;
  readonly publications: ReportPublications;
  /** The control log's verifier key, for the verify command on HTML pages. */
  readonly verifierKey: string;
}

const Publication = Type.Object({ period: Type.String(), publishedAt: Type.String() });

export const REPORT_FORMATS = ['json', 'csv', 'md', 'html'] as const;

/** Transparency reports, for the roles that publish or check them. */
export const reportRoutes: FastifyPluginAsyncTypebox<ReportRoutesOptions> = async (
  app,
  { reports, publications, verifierKey },
) => {
  const periodParams = Type.Object({
    period: Type.String({ pattern: PERIOD_PATTERN, maxLength: 7, description: 'YYYY or YYYY-H1|H2 (UTC)' }),
  });

  app.get(
    '/reports',
    {
      config: { roles: ['admin', 'auditor', 'legal', 'privacy'] },
      schema: {
        summary: 'The published periods, oldest first: their reports are public at /reports/',
        tags: ['reports'],
        response: { 200: Type.Object({ published: Type.Array(Publication) }), ...errorResponses() },
      },
    },
    async () => ({ published: await publications.list() }),
  );

  app.put(
    '/reports/:period/publication',
    {
      config: { roles: ['admin'], noBody: true },
      schema: {
        summary:
          'Publish a period: its report is then served without a token at /reports/{period}/ (logged: report.published)',
        tags: ['reports'],
        params: periodParams,
        response: { 200: Publication, ...errorResponses(400) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return publications.publish(parsePeriod(request.params.period), actorOf(principal));
    },
  );

  app.delete(
    '/reports/:period/publication',
    {
      config: { roles: ['admin'], noBody: true },
      schema: {
        summary:
          'Take a period off the public reports (logged: report.withdrawn); a period not published stays so',
        tags: ['reports'],
        params: periodParams,
        response: { 204: Type.Null(), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await publications.withdraw(parsePeriod(request.params.period), actorOf(principal));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/reports/:period',
    {
      config: { roles: ['admin', 'auditor', 'legal', 'privacy'] },
      schema: {
        summary:
          'A transparency report for a year (2021) or a half-year (2021-H2), computed from the control log at its latest checkpoint',
        tags: ['reports'],
        params: Type.Object({
          period: Type.String({
            pattern: PERIOD_PATTERN,
            maxLength: 7,
            description: 'YYYY or YYYY-H1|H2 (UTC)',
          }),
        }),
        querystring: Type.Object({
          format: Type.Union(
            REPORT_FORMATS.map((f) => Type.Literal(f)),
            { default: 'json', description: 'json (docs/report-schema.json), csv, md or html' },
          ),
          table: Type.Optional(
            Type.Union(
              CSV_TABLES.map((t) => Type.Literal(t)),
              { description: 'with format=csv: which table (default: legal-requests)' },
            ),
          ),
        }),
        produces: ['application/json', 'text/csv', 'text/markdown', 'text/html'],
        response: errorResponses(400, 404),
      },
    },
    async (request, reply) => {
      const report = await reports.build(parsePeriod(request.params.period));
      const { format, table } = request.query;
      const name = `glasshouse-report-${report.period}`;
      switch (format) {
        case 'json':
          return reply.type('application/json; charset=utf-8').send(`${JSON.stringify(report, null, 2)}\n`);
        case 'csv':
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="${name}-${table ?? 'legal-requests'}.csv"`)
            .send(renderCsv(report, table ?? 'legal-requests'));
        case 'md':
          return reply.type('text/markdown; charset=utf-8').send(renderMarkdown(report));
        case 'html':
          return reply.type('text/html; charset=utf-8').send(
            renderHtml(report, {
              verify: { url: `${request.protocol}://${request.host}`, key: verifierKey },
            }),
          );
      }
    },
  );
};
