/** The admin desk's answers, as the API's schemas describe them. */

export interface PolicyAssignment {
  readonly regions: readonly string[];
  readonly countries: readonly string[];
  readonly site: string;
}

export interface PolicyVersion {
  readonly version: number;
  readonly effectiveFrom: string;
  readonly default: string;
  readonly assign: readonly PolicyAssignment[];
  readonly createdAt: string;
}

export interface Policy {
  readonly inForce: number | null;
  readonly versions: readonly PolicyVersion[];
  readonly regions: Readonly<Record<string, readonly string[]>>;
  readonly sites: readonly string[];
}

export interface Resolution {
  readonly country: string;
  readonly at: string;
  readonly site: string;
  readonly version: number;
  readonly rule: { readonly kind: string; readonly region?: string };
}

export interface Progress {
  readonly done: number;
  readonly total: number;
}

export interface RelocationStatus {
  readonly id: string;
  readonly state: 'running' | 'paused' | 'cancelling' | 'cancelled' | 'done' | 'failed' | string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly policyVersion: number;
  readonly batchSize: number;
  readonly rateLimitMbps: number;
  readonly installations: {
    readonly done: number;
    readonly total: number;
    readonly skipped: number;
    readonly rolledBack: number;
  };
  readonly records: Progress;
  readonly bytes: Progress;
  readonly rateBytesPerSecond: number;
  readonly etaSeconds: number | null;
  readonly errors: readonly string[];
  readonly waitingFor: readonly string[];
}

export interface RelocationPlan {
  readonly dryRun: true;
  readonly at: string;
  readonly policyVersion: number;
  readonly installations: number;
  readonly groups: readonly {
    readonly source: string;
    readonly target: string;
    readonly installations: number;
    readonly submissions: number;
    readonly samples: { readonly count: number; readonly bytes: number };
    readonly events: number;
  }[];
}

export interface ResidencyAudit {
  readonly at: string;
  readonly policyVersion: number | null;
  readonly installations: number;
  readonly clean: boolean;
  readonly sites: readonly {
    readonly site: string;
    readonly installations: number;
    readonly submissions: number;
    readonly events: number;
    readonly samplesReferenced: number;
    readonly samplesUnreferenced: number;
  }[];
  readonly violations: readonly {
    readonly kind: string;
    readonly site: string;
    readonly installation?: string;
    readonly sha256?: string;
    readonly detail: string;
  }[];
}

export type TokenState = 'active' | 'expired' | 'revoked';

export interface TokenInfo {
  readonly id: string;
  readonly role: string;
  readonly sites: readonly string[] | '*';
  readonly label: string;
  readonly person: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly state: TokenState;
}

export interface CreatedToken extends TokenInfo {
  /** The secret: in this answer only. */
  readonly token: string;
}
