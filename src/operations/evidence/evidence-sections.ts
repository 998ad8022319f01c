import type { Principal } from '../../control/auth/roles.js';
import type { TokenService } from '../../control/auth/token-service.js';
import type { LegalDesk } from '../../control/legal/legal-desk.js';
import type { LegalRequest } from '../../control/legal/legal-request.js';
import type { PrivacyDesk } from '../../control/privacy/privacy-desk.js';
import type { PrivacyRequest } from '../../control/privacy/privacy-request.js';
import type { ResidencyAuditReport } from '../../control/relocation/residency-audit.js';
import type { KeyRecord } from '../keys/key-inventory.js';
import type { AnnexAControl } from './annex-a.js';
import { type EvidencePeriod, inPeriod } from './evidence-period.js';
import type { CheckpointEvidence, ProvenEntry } from './log-evidence.js';

export type Cell = string | number | boolean | null;

/** One section of the pack: a table of rows, the controls it evidences, the log entries that prove it. */
export interface EvidenceSection {
  readonly id: string;
  readonly title: string;
  readonly controls: readonly AnnexAControl[];
  /** What the rows are and how to read them, for the index. */
  readonly description: string;
  readonly columns: readonly string[];
  readonly rows: readonly Readonly<Record<string, Cell>>[];
  readonly entries: readonly ProvenEntry[];
}

/** The log entry types each section is proven by. */
export const SECTION_ENTRY_TYPES: Readonly<Record<string, readonly string[]>> = {
  'access-review': ['token.created', 'token.revoked'],
  keys: ['master-key.rotation.started', 'master-key.rotation.resumed', 'master-key.rotation.finished'],
  backups: ['backup.made', 'backup.restored', 'log.rollback'],
  'legal-requests': ['legal.request', 'legal.package.downloaded'],
  'privacy-requests': ['privacy.request', 'installation.erased', 'stats.erased'],
  residency: ['policy.version.added', 'relocation.started', 'relocation.finished'],
};

/** The section an entry proves, if any. */
export function sectionOfEntry(type: unknown): string | undefined {
  for (const [section, types] of Object.entries(SECTION_ENTRY_TYPES)) {
    if (types.includes(type as string)) return section;
  }
  return undefined;
}

/** The desks read as an auditor who sees every site: the pack covers the whole deployment. */
export const EVIDENCE_READER: Principal = { tokenId: 'evidence', role: 'auditor', sites: '*', person: null };
const PAGE = 500;

export async function accessReview(
  tokens: Pick<TokenService, 'list'>,
  period: EvidencePeriod,
  entries: readonly ProvenEntry[],
): Promise<EvidenceSection> {
  const rows = (await tokens.list())
    .filter((t) => t.createdAt < period.end)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
    .map((t) => ({
      token: t.id,
      person: t.person,
      role: t.role,
      sites: t.sites === '*' ? '*' : t.sites.join(' '),
      label: t.label,
      created: t.createdAt,
      expires: t.expiresAt,
      revoked: t.revokedAt,
      last_used: t.lastUsedAt,
      active_at_period_end:
        (t.revokedAt === null || t.revokedAt >= period.end) &&
        (t.expiresAt === null || t.expiresAt >= period.end),
    }));
  return {
    id: 'access-review',
    title: 'Access review: every API token',
    controls: ['A.5.15', 'A.5.18'],
    description:
      'Every token created before the end of the period, with the person it belongs to, its role and sites, when it was created, last used (to the minute) and revoked. The log entries are the tokens created and revoked within the period.',
    columns: Object.keys(rows[0] ?? TOKEN_COLUMNS),
    rows,
    entries,
  };
}

const TOKEN_COLUMNS = Object.fromEntries(
  [
    'token',
    'person',
    'role',
    'sites',
    'label',
    'created',
    'expires',
    'revoked',
    'last_used',
    'active_at_period_end',
  ].map((c) => [c, null]),
);

export function keyInventory(keys: readonly KeyRecord[], entries: readonly ProvenEntry[]): EvidenceSection {
  const columns = ['kind', 'node', 'id', 'created', 'age_days', 'last_rotation', 'rotating_to', 'file'];
  return {
    id: 'keys',
    title: 'Key inventory and rotations',
    controls: ['A.8.24'],
    description:
      "Every key of the data directory the pack was built from (identities only, never key material): each site's master key, each node's log signing key, the deployment CA's key. The log entries are the master-key rotations within the period, from each site's log.",
    columns,
    rows: keys.map((k) => ({
      kind: k.kind,
      node: k.node,
      id: k.id,
      created: k.created,
      age_days: k.ageDays,
      last_rotation: k.lastRotation,
      rotating_to: k.rotatingTo ?? null,
      file: k.file,
    })),
    entries,
  };
}

export function backups(entries: readonly ProvenEntry[]): EvidenceSection {
  const columns = ['time', 'node', 'event', 'backup', 'log_sizes', 'files', 'bytes', 'keys', 'detail'];
  return {
    id: 'backups',
    title: 'Backups made and restores run',
    controls: ['A.8.13'],
    description:
      'Each backup made (backup.made), each restore (backup.restored, into a fresh directory or over the node) and each rollback a restore recorded (log.rollback), from the logs, within the period.',
    columns,
    rows: entries.map(({ node, entry: e }) => ({
      time: str(e.time),
      node,
      event: str(e.type),
      backup: str(e.backup),
      log_sizes: logSizes(e),
      files: num(e.files),
      bytes: num(e.bytes),
      keys: str(e.keys),
      detail:
        e.type === 'backup.made'
          ? null
          : `restored to ${num(e.restoredTo) ?? '?'} entries; erasures re-applied: ${num(e.erasuresReapplied) ?? 0}` +
            (e.target === undefined ? '' : `; target ${str(e.target)}`),
    })),
    entries,
  };
}

export function checkpointSection(checkpoints: readonly CheckpointEvidence[]): EvidenceSection {
  const columns = ['node', 'origin', 'size', 'root', 'signature', 'entries_match_root', 'verifier_key'];
  return {
    id: 'log-checkpoints',
    title: 'Log checkpoints and their verification',
    controls: ['A.8.15'],
    description:
      "Each node's latest signed checkpoint when the pack was built: the signature checked under the node's key (where the control plane holds it), and every entry of the log read and hashed to the checkpoint's root (RFC 9162). Each inclusion proof in this pack is at these checkpoints; the signed notes are in checkpoints/.",
    columns,
    rows: checkpoints.map((c) => ({
      node: c.node,
      origin: c.origin,
      size: c.size,
      root: c.root,
      signature: c.signature,
      entries_match_root: c.entriesMatchRoot,
      verifier_key: c.verifierKey,
    })),
    entries: [],
  };
}

export async function legalRequests(
  legal: Pick<LegalDesk, 'list'>,
  period: EvidencePeriod,
  entries: readonly ProvenEntry[],
): Promise<EvidenceSection> {
  const requests: LegalRequest[] = [];
  let cursor: string | undefined;
  do {
    const page = await legal.list(
      { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) },
      EVIDENCE_READER,
    );
    requests.push(...page.requests.filter((r) => overlaps(period, r.receivedAt, r.closedAt)));
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  const columns = [
    'request',
    'received',
    'requester_country',
    'authority_kind',
    'category',
    'state',
    'reason',
    'closed',
    'verification_valid',
    'jurisdictions',
    'proposed_by',
    'proposed_by_person',
    'proposed_at',
    'confirmed_by',
    'confirmed_by_person',
    'confirmed_at',
    'four_eyes',
    'officers',
    'historical',
  ];
  return {
    id: 'legal-requests',
    title: 'Legal requests: the four-eyes record',
    controls: ['A.5.31', 'A.5.3'],
    description:
      'Every government or law-enforcement request open during the period: its verification, proposed by one officer and confirmed by another (tokens and the commitments to their holders; four_eyes is true when two different people decided), and its outcome. The authority, legal basis and scope are confidential and not in the pack: each log entry commits to them.',
    columns,
    rows: requests.map((r) => {
      const v = r.verification;
      return {
        request: r.id,
        received: r.receivedAt,
        requester_country: r.requesterCountry,
        authority_kind: r.authorityKind,
        category: r.category,
        state: r.state,
        reason: r.reason,
        closed: r.closedAt,
        verification_valid: v?.valid ?? null,
        jurisdictions: v === null ? null : v.jurisdictions.join(' '),
        proposed_by: v?.proposedBy ?? null,
        proposed_by_person: v?.proposedByPerson ?? null,
        proposed_at: v?.proposedAt ?? null,
        confirmed_by: v?.confirmedBy ?? null,
        confirmed_by_person: v?.confirmedByPerson ?? null,
        confirmed_at: v?.confirmedAt ?? null,
        four_eyes: v === null || v.confirmedBy === null ? null : fourEyes(v),
        officers: r.officers.join(' '),
        historical: r.historical,
      };
    }),
    entries,
  };
}

function fourEyes(v: NonNullable<LegalRequest['verification']>): boolean {
  if (v.proposedByPerson !== undefined && v.confirmedByPerson !== undefined && v.confirmedByPerson !== null) {
    return v.proposedByPerson !== v.confirmedByPerson;
  }
  return v.proposedBy !== v.confirmedBy;
}

export async function privacyRequests(
  privacy: Pick<PrivacyDesk, 'list'>,
  period: EvidencePeriod,
  now: Date,
  entries: readonly ProvenEntry[],
): Promise<EvidenceSection> {
  const requests: PrivacyRequest[] = [];
  let cursor: string | undefined;
  do {
    const page = await privacy.list(
      { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) },
      EVIDENCE_READER,
    );
    requests.push(...page.requests.filter((r) => overlaps(period, r.receivedAt, r.closedAt)));
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  requests.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
  const columns = [
    'request',
    'type',
    'filed_by',
    'received',
    'due',
    'extended_days',
    'state',
    'closed',
    'reason',
    'answered_in_time',
    'overdue_at_build',
  ];
  return {
    id: 'privacy-requests',
    title: 'Privacy requests against their deadlines',
    controls: ['A.5.34'],
    description:
      "Every user's request about their own data (inventory, export, erasure) open during the period, with its deadline (30 days, GDPR art. 12(3), plus any extension) and whether it was answered by then. No installation is named. The log entries are the requests received and closed within the period, and the erasures the sites carried out.",
    columns,
    rows: requests.map((r) => {
      const closed = r.closedAt === null ? null : Date.parse(r.closedAt);
      return {
        request: r.id,
        type: r.type,
        filed_by: r.filedBy,
        received: r.receivedAt,
        due: r.dueAt,
        extended_days: r.extensions.reduce((sum, e) => sum + e.days, 0),
        state: r.state,
        closed: r.closedAt,
        reason: r.reason,
        answered_in_time: closed === null ? null : closed <= Date.parse(r.dueAt) + DAY_MS - 1,
        overdue_at_build: closed === null && now.getTime() > Date.parse(r.dueAt),
      };
    }),
    entries,
  };
}

const DAY_MS = 86_400_000;

export function residency(audit: ResidencyAuditReport, entries: readonly ProvenEntry[]): EvidenceSection {
  const columns = [
    'audited_at',
    'site',
    'installations',
    'submissions',
    'events',
    'samples_referenced',
    'violations',
    'clean',
  ];
  return {
    id: 'residency',
    title: 'Residency audit',
    controls: ['A.5.34', 'A.5.31'],
    description: `A residency audit of every site, run when the pack was built (policy version ${audit.policyVersion ?? 'none'}): every installation at the site the policy assigns it, its key there, no record of it anywhere else, every sample present and intact. The log entries are the policy versions and the relocations of the period.`,
    columns,
    rows: audit.sites.map((s) => {
      const violations = audit.violations.filter((v) => v.site === s.site).length;
      return {
        audited_at: audit.at,
        site: s.site,
        installations: s.installations,
        submissions: s.submissions,
        events: s.events,
        samples_referenced: s.samplesReferenced,
        violations,
        clean: violations === 0,
      };
    }),
    entries,
  };
}

/** Open at some time within the period: received before its end, not closed before its start. */
function overlaps(period: EvidencePeriod, received: string, closed: string | null): boolean {
  const end = Date.parse(period.end);
  const start = Date.parse(period.start);
  const at = (s: string) => Date.parse(s.length === 10 ? `${s}T00:00:00.000Z` : s);
  return at(received) < end && (closed === null || at(closed) >= start || inPeriod(period, closed));
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

function logSizes(entry: Readonly<Record<string, unknown>>): string | null {
  const nodes = entry.nodes;
  if (typeof nodes !== 'object' || nodes === null) return null;
  return Object.entries(nodes as Record<string, { size?: unknown }>)
    .map(([node, state]) => `${node}:${String(state?.size ?? '?')}`)
    .join(' ');
}
