import type { Principal, Role } from '../control/auth/roles.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The roles a `/v1` route admits; every such route must declare them. */
    roles?: readonly Role[];
    /** Also admit `Authorization: Installation ID:SECRET` (a user's own privacy requests). */
    installationAuth?: boolean;
    /** Also admit `Authorization: Receipt TOKEN`, checked by the route itself (erasure receipts). */
    receiptAuth?: boolean;
    /**
     * The route acts on every site's data (a policy version, a relocation): the token must
     * reach every configured site, else 403 `FORBIDDEN_SITE` (see `control/auth/site-scope.ts`).
     */
    everySite?: boolean;
    /** The route takes no body: one sent anyway (even `null`) is refused, 400 `UNEXPECTED_BODY`. */
    noBody?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** The installation that authenticated with its secret, on `installationAuth` routes. */
    installation: string | null;
    /** The token of `Authorization: Receipt TOKEN`, on `receiptAuth` routes; unchecked. */
    receiptToken: string | null;
  }
}
