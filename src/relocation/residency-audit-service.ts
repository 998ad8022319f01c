import type { Kysely } from 'kysely';
import type { PolicyService } from '../residency/policy-service.js';
import type { ResidencyTables } from '../residency/residency-tables.js';
import type { SiteClient } from '../site/site-client.js';
import { auditResidency, type ResidencyAuditReport } from './residency-audit.js';

export interface ResidencyAuditOptions {
  readonly db: Kysely<ResidencyTables>;
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

  run(): Promise<ResidencyAuditReport> {
    return auditResidency({ ...this.#o, now: this.#o.now() });
  }
}
