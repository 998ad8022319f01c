import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problem, sendProblem } from './problem.js';

/** Where `npm run build` (and so `npm install`) puts the built console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** Where `npm run build:console` puts the published report's `Verify` script. */
export const REPORT_VERIFIER_FILE = fileURLToPath(
  new URL('../../dist/report-verify/verify-report.js', import.meta.url),
);

/** The built `Verify` script, or `undefined` in a checkout built without the console. */
export function readReportVerifier(): Buffer | undefined {
  return existsSync(REPORT_VERIFIER_FILE) ? readFileSync(REPORT_VERIFIER_FILE) : undefined;
}

/**
 * The console's own policy: everything from this origin, nothing inline, nothing framed. The
 * console speaks only to this server's API, so `connect-src 'self'` is all it needs.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

/**
 * The web console, served as static files at `/console/` by `up` and `control`: the built
 * assets under their hashed names (cached for good), and `index.html` for every other path
 * below `/console/`, where the console's own router takes over. `/` leads to it.
 */
export async function consoleRoutes(
  app: FastifyInstance,
  options: { readonly dir?: string } = {},
): Promise<void> {
  const dir = options.dir ?? CONSOLE_DIR;
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/', 302));
  const indexFile = `${dir}/index.html`;
  if (!existsSync(indexFile)) {
    // A checkout built without the console (`tsc` alone): the API works, the console says why not.
    const notBuilt = (_request: unknown, reply: FastifyReply) =>
      sendProblem(reply, problem(503, 'CONSOLE_NOT_BUILT', 'the console is not built: run `npm run build`'));
    app.get('/console', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  const index = readFileSync(indexFile);
  const sendIndex = (_request: unknown, reply: FastifyReply) =>
    reply
      .headers(SECURITY_HEADERS)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(index);

  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/console/',
    // One route per built file, so every other path below /console/ reaches the router below.
    wildcard: false,
    index: false,
    decorateReply: false,
    schemaHide: true,
    setHeaders(response, path) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.header(name, value);
      // Vite names assets by their content: a changed file is a new name.
      response.header(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/', { schema: { hide: true } }, sendIndex);
  app.get('/console/*', { schema: { hide: true } }, sendIndex);
}
