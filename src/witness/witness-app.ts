import Fastify, { type FastifyInstance } from 'fastify';
import { handleError, problem, sendProblem } from '../http/problem.js';
import { witnessRoutes } from './witness-routes.js';
import type { WitnessService } from './witness-service.js';

/** A checkpoint with 63 proof lines and a hundred signatures fits well within this. */
const ADD_CHECKPOINT_BODY_LIMIT = 64 * 1024;

export interface WitnessAppOptions {
  readonly witness: WitnessService;
  readonly logLevel?: string;
}

/**
 * The witness's HTTP face, without listening (tests `inject`, the CLI listens).
 *
 * @example
 * const app = await buildWitnessApp({ witness });
 * await app.listen({ host: '127.0.0.1', port: 7380 });
 */
export async function buildWitnessApp(options: WitnessAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    bodyLimit: ADD_CHECKPOINT_BODY_LIMIT,
    forceCloseConnections: true,
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  await app.register(witnessRoutes, { witness: options.witness });
  return app;
}
