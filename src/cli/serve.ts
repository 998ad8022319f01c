import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { buildApp } from '../http/app.js';
import type { Glasshouse } from '../main.js';

/**
 * Serves the public API of an opened deployment (`up` or `control`) until SIGTERM or SIGINT,
 * then closes the server and the deployment and exits 0. If it cannot listen (a port in use,
 * say) it closes what was opened, so the process ends with the one-line error.
 */
export async function servePublicApi(
  glasshouse: Glasshouse,
  config: Config,
  onApp: (app: FastifyInstance) => void,
): Promise<{ app: FastifyInstance; address: string }> {
  let ready = true;
  const app = await buildApp({ glasshouse, logLevel: config.log.level, isReady: () => ready });
  onApp(app);
  const shutdown = async (signal: string) => {
    ready = false;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await glasshouse.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  try {
    return { app, address: await app.listen({ host: config.server.host, port: config.server.port }) };
  } catch (error) {
    await app.close();
    await glasshouse.close();
    throw error;
  }
}
