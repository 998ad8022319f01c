import type { Principal, Role } from '../auth/roles.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The roles a `/v1` route admits; every such route must declare them. */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}
