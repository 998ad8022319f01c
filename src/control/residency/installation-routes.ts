import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { CountryCode, errorResponses } from '../../http/schemas.js';
import type { InstallationRegistry } from './installation-registry.js';

export const installationRoutes: FastifyPluginAsyncTypebox<{ registry: InstallationRegistry }> = async (
  app,
  { registry },
) => {
  app.post(
    '/installations',
    {
      config: { roles: ['product'] },
      schema: {
        summary: 'Register a product installation; its data goes to the site its country is assigned to',
        description: 'The secret is returned once and stored only as a hash.',
        tags: ['installations'],
        body: Type.Object(
          {
            country: CountryCode,
            product: Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x20-\\x7e]+$' }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ id: Type.String(), secret: Type.String(), site: Type.String() }),
          ...errorResponses(400),
        },
      },
    },
    async (request, reply) => {
      const installation = await registry.register(request.body, principalOf(request));
      return reply
        .status(201)
        .send({ id: installation.id, secret: installation.secret, site: installation.site });
    },
  );
};
