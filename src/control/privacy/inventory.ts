import type { InstallationRecords } from '../../ports/site-client.js';
import type { Installation } from '../residency/installation-registry.js';
import type { PolicyVersion } from '../residency/policy.js';

/** One category of data at one place: how many records, since when, kept how long. */
export interface InventoryCategory {
  readonly category: 'submissions' | 'samples' | 'telemetry_events' | 'data_key' | 'registration';
  readonly records: number;
  /** The oldest record, `null` when there is none. */
  readonly since: string | null;
  readonly retention: string;
}

export interface InventorySite {
  readonly site: string;
  readonly jurisdiction: string;
  /** When the site admitted the installation. */
  readonly since: string;
  readonly categories: readonly InventoryCategory[];
}

/** The answer of an `inventory` request. It names no file and no installation id. */
export interface Inventory {
  readonly country: string;
  readonly product: string;
  readonly registeredAt: string;
  /** The residency policy version that assigned the installation to its site. */
  readonly policy: { readonly version: number; readonly effectiveFrom: string | null };
  readonly control: readonly InventoryCategory[];
  readonly sites: readonly InventorySite[];
}

const UNTIL_ERASURE = 'until erasure';

/** Summarises what the registry and the sites hold about one installation. */
export function buildInventory(
  installation: Installation,
  policy: PolicyVersion | undefined,
  records: readonly InstallationRecords[],
  retentionDays: number,
): Inventory {
  return {
    country: installation.country,
    product: installation.product,
    registeredAt: installation.registeredAt,
    policy: {
      version: installation.policyVersion,
      effectiveFrom: policy === undefined ? null : policy.effectiveFrom.toISOString(),
    },
    control: [
      {
        category: 'registration',
        records: 1,
        since: installation.registeredAt,
        retention: UNTIL_ERASURE,
      },
    ],
    sites: records.map((r) => ({
      site: r.site,
      jurisdiction: r.jurisdiction,
      since: r.admittedAt,
      categories: [
        {
          category: 'submissions',
          records: r.submissions.length,
          since: r.submissions[0]?.submittedAt ?? null,
          retention: UNTIL_ERASURE,
        },
        {
          category: 'samples',
          records: new Set(r.submissions.map((s) => s.sha256)).size,
          since: r.submissions[0]?.submittedAt ?? null,
          retention: `${UNTIL_ERASURE} (a sample other installations also submitted stays)`,
        },
        {
          category: 'telemetry_events',
          records: r.events.length,
          since: r.events[0]?.ts ?? null,
          retention: `${retentionDays} days`,
        },
        { category: 'data_key', records: 1, since: r.admittedAt, retention: UNTIL_ERASURE },
      ],
    })),
  };
}
