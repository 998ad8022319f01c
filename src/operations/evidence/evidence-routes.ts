import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { assertEverySite } from '../../control/auth/site-scope.js';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses } from '../../http/schemas.js';
import { parseEvidencePeriod } from './evidence-period.js';
import { type EvidenceService, zipPack } from './evidence-service.js';

export interface EvidenceRoutesOptions {
  readonly evidence: EvidenceService;
  /** Every configured site: the pack covers them all, so only a token of every site asks for it. */
  readonly sites: Iterable<string>;
}

/** The evidence pack for an ISO/IEC 27001 audit, as one zip. */
export const evidenceRoutes: FastifyPluginAsyncTypebox<EvidenceRoutesOptions> = async (
  app,
  { evidence, sites },
) => {
  app.get(
    '/evidence',
    {
      config: { roles: ['auditor', 'admin'] },
      schema: {
        summary:
          'The evidence pack of a period (dates UTC, both included) as a zip: index.html, evidence.json, a CSV and a JSON file per section, the signed checkpoints; every token of every site',
        tags: ['operations'],
        querystring: Type.Object({
          from: Type.String({ maxLength: 10, description: 'first day, YYYY-MM-DD (UTC)' }),
          to: Type.String({ maxLength: 10, description: 'last day, YYYY-MM-DD (UTC), included' }),
        }),
        produces: ['application/zip'],
        response: { ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      assertEverySite(principalOf(request), sites);
      const period = parseEvidencePeriod(request.query.from, request.query.to);
      const folder = `evidence-${period.from}-${period.to}`;
      const zip = await zipPack(await evidence.build(period), folder);
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${folder}.zip"`)
        .header('cache-control', 'no-store')
        .send(zip);
    },
  );
};
