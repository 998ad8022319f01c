import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError } from '../auth/auth-errors.js';
import type { Principal, Role } from '../auth/roles.js';
import type { TokenService } from '../auth/token-service.js';
import './fastify-types.js';

/**
 * Bearer-token authentication and role checks for every `/v1` route. It runs `onRequest`,
 * before any body is read, so an unauthenticated upload is refused without being received.
 * A `/v1` route that forgets to declare its roles fails at start-up, not at run time.
 */
export function registerAuthentication(app: FastifyInstance, tokens: TokenService): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (
      route.url.startsWith('/v1/') &&
      (route.config?.roles === undefined || route.config.roles.length === 0)
    ) {
      throw new Error(`route ${route.method} ${route.url} declares no roles`);
    }
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const roles = request.routeOptions.config.roles;
    if (roles === undefined) return done();
    // Known tokens are answered from memory without a promise: this hook runs before every
    // look-up, the busiest route.
    const cached = tokens.authenticateCached(bearerOf(request));
    if (cached !== undefined) {
      request.principal = cached;
      return done(authorizationError(cached, roles));
    }
    authenticate(request, tokens).then(
      (principal) => {
        request.principal = principal;
        done(authorizationError(principal, roles));
      },
      (error: Error) => done(error),
    );
  });
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

async function authenticate(request: FastifyRequest, tokens: TokenService): Promise<Principal> {
  const presented = bearerOf(request);
  if (presented === undefined) throw new AuthError('UNAUTHENTICATED', 'send `Authorization: Bearer <token>`');
  const principal = await tokens.authenticate(presented);
  if (principal === undefined) throw new AuthError('UNAUTHENTICATED', 'the token is unknown or revoked');
  return principal;
}

function authorizationError(principal: Principal, roles: readonly Role[]): AuthError | undefined {
  if (roles.includes(principal.role)) return undefined;
  return new AuthError(
    'FORBIDDEN_ROLE',
    `this route admits the roles ${roles.join(', ')}; the token's role is ${principal.role}`,
  );
}

/** The caller of a route that declared roles; set by the hook above. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new AuthError('UNAUTHENTICATED', 'not authenticated');
  return request.principal;
}
