import type { FastifyInstance } from 'fastify';

/** Every `/v1` operation the served OpenAPI document lists, as `METHOD /path`, sorted. */
export async function documentedV1Routes(app: FastifyInstance): Promise<string[]> {
  const spec = (await app.inject({ url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  return Object.entries(spec.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}
