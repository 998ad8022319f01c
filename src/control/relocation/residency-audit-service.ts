import type { SiteClient } from '../../ports/site-client.js';
import type { Principal } from '../auth/roles.js';
import { visibleSiteMap } from '../auth/site-scope.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { PolicyService } from '../residency/policy-service.js';
import { auditResidency, type ResidencyAuditReport } from './residency-audit.js';

export interface ResidencyAuditOptions {
  readonly registry: Pick<InstallationRegistry, 'placements'>;
  readonly policy: PolicyService;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly now: () => Date;
}

/** The residency audit over the control plane's registry and policy and every site. */
export class ResidencyAuditService {
  readonly #o: ResidencyAuditOptions;

  constructor(options: ResidencyAuditOptions) {
    this.#o = options;
  }

  /**
   * The audit of every site, or, for a token of some sites, of those sites only: their
   * counts, and the violations at them or of installations assigned to them.
   */
  run(principal?: Principal): Promise<ResidencyAuditReport> {
    const scoped = principal !== undefined && principal.sites !== '*';
    const sites = principal === undefined ? this.#o.sites : visibleSiteMap(principal, this.#o.sites);
    return auditResidency({ ...this.#o, sites, scoped, now: this.#o.now() });
  }
}
