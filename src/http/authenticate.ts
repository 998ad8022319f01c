import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError } from '../control/auth/auth-errors.js';
import type { Principal, Role } from '../control/auth/roles.js';
import { everySiteRefusal } from '../control/auth/site-scope.js';
import type { TokenService } from '../control/auth/token-service.js';
import './fastify-types.js';

/**
 * Bearer-token authentication and role checks for every `/v1` route. It runs `onRequest`,
 * before any body is read, so an unauthenticated upload is refused without being received.
 * A `/v1` route that forgets to declare its roles fails at start-up, not at run time. A route
 * that declares `everySite` (deployment-wide actions) also refuses a token that does not reach
 * every configured site, before any body is read.
 */
export function registerAuthentication(
  app: FastifyInstance,
  tokens: TokenService,
  options: { readonly installations?: InstallationVerifier; readonly sites: readonly string[] },
): void {
  const { installations, sites } = options;
  app.decorateRequest('principal', null);
  app.decorateRequest('installation', null);
  app.decorateRequest('receiptToken', null);
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
    const config = request.routeOptions.config;
    if (config.installationAuth === true && installations !== undefined) {
      const credential = installationCredential(request.headers.authorization);
      if (credential !== undefined) {
        authenticateInstallation(credential, installations).then((id) => {
          request.installation = id;
          done();
        }, done);
        return;
      }
    }
    if (config.receiptAuth === true) {
      const receipt = RECEIPT_SCHEME.exec(request.headers.authorization ?? '');
      if (receipt !== null) {
        request.receiptToken = receipt[1]!;
        return done();
      }
    }
    // Known tokens are answered from memory without a promise: this hook runs before every
    // look-up, the busiest route.
    const cached = tokens.authenticateCached(bearerOf(request));
    if (cached !== undefined) {
      request.principal = cached;
      return done(authorizationError(cached, roles, config.everySite === true ? sites : undefined));
    }
    authenticate(request, tokens).then(
      (principal) => {
        request.principal = principal;
        done(authorizationError(principal, roles, config.everySite === true ? sites : undefined));
      },
      (error: Error) => done(error),
    );
  });
}

/** Checks an installation's secret (the registry's `verifySecret`). */
export interface InstallationVerifier {
  verifySecret(id: string, secret: string): Promise<boolean>;
}

const RECEIPT_SCHEME = /^Receipt\s+(\S+)\s*$/i;
const INSTALLATION_SCHEME = /^Installation\s+([^\s:]+):(\S+)\s*$/i;

function installationCredential(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header === undefined ? null : INSTALLATION_SCHEME.exec(header);
  return match === null ? undefined : { id: match[1]!, secret: match[2]! };
}

async function authenticateInstallation(
  credential: { id: string; secret: string },
  installations: InstallationVerifier,
): Promise<string> {
  // One answer for an unknown id and a wrong secret: nothing tells which installations exist.
  if (!(await installations.verifySecret(credential.id, credential.secret))) {
    throw new AuthError('UNAUTHENTICATED', 'the installation credential is not valid');
  }
  return credential.id;
}

function bearerOf(request: FastifyRequest): string | undefined {
  return bearerToken(request.headers.authorization);
}

const BEARER_SCHEME = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER_SCHEME.exec(header)?.[1];
}

async function authenticate(request: FastifyRequest, tokens: TokenService): Promise<Principal> {
  const presented = bearerOf(request);
  if (presented === undefined) throw new AuthError('UNAUTHENTICATED', 'send `Authorization: Bearer <token>`');
  const principal = await tokens.authenticate(presented);
  if (principal === undefined) throw new AuthError('UNAUTHENTICATED', 'the token is unknown or revoked');
  return principal;
}

function authorizationError(
  principal: Principal,
  roles: readonly Role[],
  everySite: readonly string[] | undefined,
): AuthError | undefined {
  if (!roles.includes(principal.role)) {
    return new AuthError(
      'FORBIDDEN_ROLE',
      `this route admits the roles ${roles.join(', ')}; the token's role is ${principal.role}`,
    );
  }
  return everySite === undefined ? undefined : everySiteRefusal(principal, everySite);
}

/** The installation that authenticated with its own secret, or `undefined` for a token. */
export function installationOf(request: FastifyRequest): string | undefined {
  return request.installation ?? undefined;
}

/** The caller of a route that declared roles; set by the hook above. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new AuthError('UNAUTHENTICATED', 'not authenticated');
  return request.principal;
}
