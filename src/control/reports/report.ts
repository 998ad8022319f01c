import type { PolicyVersion, SiteAssignment } from '../residency/policy.js';
import type { ReportNumbers } from './report-numbers.js';

/** The JSON schema of a report (docs/report-schema.json); bumped on any incompatible change. */
export const REPORT_SCHEMA = 'https://glasshouse.dev/schemas/report/v1.json';
export const REPORT_SCHEMA_VERSION = 1;

/** The control-plane checkpoint a report was computed at: the log prefix its numbers count. */
export interface ReportCheckpoint {
  readonly origin: string;
  readonly size: number;
  /** Base64, as in the checkpoint. */
  readonly rootHash: string;
  /** The whole signed note, so that anyone can check its signature with the log's key. */
  readonly note: string;
  /** The witnesses whose cosignatures the note carries (C2SP tlog-cosignature), in note order. */
  readonly witnesses: readonly ReportWitness[];
}

/** A witness that cosigned a report's checkpoint, as the node is configured with it. */
export interface ReportWitness {
  readonly name: string;
  /** The cosignature's key ID, 8 hex digits. */
  readonly keyId: string;
  /** Its verifier key (`glasshouse witness key`), for `report verify --witness`. */
  readonly key: string;
  /** When it cosigned, ISO 8601 UTC (the cosignature's timestamp, whole seconds). */
  readonly cosignedAt: string;
}

export interface SiteShare {
  readonly site: string;
  readonly installations: number;
  /** Percent of all installations, one decimal. */
  readonly share: number;
}

/**
 * Where the data lives. It comes from the installation registry and the policy at the time
 * the report is made: it is not in the log, so `report verify` cannot recompute it.
 */
export interface ResidencySnapshot {
  readonly source: 'registry';
  readonly recomputable: false;
  readonly installations: number;
  readonly bySite: readonly SiteShare[];
  readonly policy: {
    readonly version: number;
    readonly effectiveFrom: string;
    readonly default: string;
    readonly assign: readonly SiteAssignment[];
  } | null;
}

export interface Report extends ReportNumbers {
  readonly $schema: typeof REPORT_SCHEMA;
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly generatedAt: string;
  readonly checkpoint: ReportCheckpoint;
  readonly residency: ResidencySnapshot;
}

/** The members of a report that `report verify` recomputes from the log (all but these). */
export const NOT_FROM_LOG = ['$schema', 'schemaVersion', 'generatedAt', 'checkpoint', 'residency'] as const;

export function residencySnapshot(
  countBySite: Readonly<Record<string, number>>,
  sites: readonly string[],
  policy: PolicyVersion | undefined,
): ResidencySnapshot {
  const names = [...new Set([...sites, ...Object.keys(countBySite)])].sort();
  const installations = names.reduce((sum, site) => sum + (countBySite[site] ?? 0), 0);
  return {
    source: 'registry',
    recomputable: false,
    installations,
    bySite: names.map((site) => {
      const n = countBySite[site] ?? 0;
      return {
        site,
        installations: n,
        share: installations === 0 ? 0 : Math.round((n * 1000) / installations) / 10,
      };
    }),
    policy:
      policy === undefined
        ? null
        : {
            version: policy.version,
            effectiveFrom: policy.effectiveFrom.toISOString(),
            default: policy.default,
            assign: policy.assign,
          },
  };
}
