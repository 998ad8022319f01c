import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ConfigErrorCode } from '../config/config-errors.js';
import type { KeyErrorCode } from '../config/key-errors.js';
import type { AuthErrorCode } from '../control/auth/auth-errors.js';
import type { LegalErrorCode } from '../control/legal/legal-errors.js';
import type { LookupErrorCode } from '../control/lookup/lookup-errors.js';
import type { PrivacyErrorCode } from '../control/privacy/privacy-errors.js';
import type { RelocationErrorCode } from '../control/relocation/relocation-errors.js';
import type { ReportErrorCode } from '../control/reports/report-errors.js';
import type { RegistryErrorCode } from '../control/residency/registry-errors.js';
import type { ResidencyErrorCode } from '../control/residency/residency-errors.js';
import type { SampleZipErrorCode } from '../control/samples/sample-zip.js';
import type { LedgerErrorCode } from '../ledger/ledger-errors.js';
import type { MerkleErrorCode } from '../ledger/merkle/index.js';
import type { NoteErrorCode } from '../ledger/note/index.js';
import type { BackupErrorCode } from '../operations/backup/backup-errors.js';
import type { EvidenceErrorCode } from '../operations/evidence/evidence-errors.js';
import type { PkiErrorCode } from '../pki/pki-errors.js';
import type { CatalogueErrorCode } from '../shared/catalogue-errors.js';
import type { CursorErrorCode } from '../shared/cursor.js';
import { GlasshouseError } from '../shared/errors.js';
import type { HuntErrorCode } from '../shared/hunt-errors.js';
import type { SiteErrorCode } from '../shared/site-errors.js';
import type { StatsErrorCode } from '../shared/stats-errors.js';
import type { StorageErrorCode } from '../shared/storage-errors.js';
import type { VaultErrorCode } from '../shared/vault-errors.js';
import type { SubjectErrorCode } from '../site/subjects/subject-errors.js';
import type { CryptoErrorCode } from '../site/vault/crypto/index.js';
import type { WitnessErrorCode } from '../witness/witness-errors.js';
import type { HttpErrorCode } from './http-errors.js';
import type { LimitErrorCode } from './limit-errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

type KnownCode =
  | AuthErrorCode
  | ConfigErrorCode
  | KeyErrorCode
  | RegistryErrorCode
  | ResidencyErrorCode
  | StorageErrorCode
  | SubjectErrorCode
  | CryptoErrorCode
  | SampleZipErrorCode
  | VaultErrorCode
  | CatalogueErrorCode
  | LedgerErrorCode
  | MerkleErrorCode
  | NoteErrorCode
  | LookupErrorCode
  | StatsErrorCode
  | LegalErrorCode
  | ReportErrorCode
  | PrivacyErrorCode
  | RelocationErrorCode
  | HuntErrorCode
  | SiteErrorCode
  | HttpErrorCode
  | LimitErrorCode
  | CursorErrorCode
  | PkiErrorCode
  | WitnessErrorCode
  | BackupErrorCode
  | EvidenceErrorCode
  | 'VALIDATION_FAILED'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED';

/** The only place that knows HTTP statuses; documented in docs/errors.md. */
export const PROBLEM_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN_ROLE: 403,
  FORBIDDEN_SITE: 403,
  TOKEN_NOT_FOUND: 404,
  TOKEN_ALREADY_REVOKED: 409,
  INVALID_TOKEN_REQUEST: 400,
  TOKEN_EXPIRED: 401,
  ACTIVE_TOKEN_EXISTS: 409,
  PERSON_REQUIRED: 403,
  CONFIG_NOT_FOUND: 500,
  INVALID_CONFIG: 500,
  INSTALLATION_NOT_FOUND: 404,
  INVALID_INSTALLATION: 400,
  UNKNOWN_SITE: 400,
  UNKNOWN_REGION: 400,
  UNKNOWN_COUNTRY: 400,
  INVALID_REGION: 400,
  INVALID_POLICY: 400,
  EFFECTIVE_IN_PAST: 400,
  CONFLICTING_ASSIGNMENT: 400,
  NO_POLICY_IN_FORCE: 404,
  BLOB_NOT_FOUND: 500,
  INVALID_BLOB_KEY: 500,
  INVALID_TILE_KEY: 500,
  DATA_DIR_IN_USE: 500,
  MASTER_KEY_NOT_FOUND: 500,
  KEY_ROTATION_UNFINISHED: 500,
  // Backup and restore are CLI operations on the data directory: no route answers with them.
  BACKUP_ENGINE_UNSUPPORTED: 500,
  BACKUP_INVALID: 500,
  BACKUP_PASSPHRASE: 500,
  RESTORE_TARGET_NOT_EMPTY: 500,
  RESTORE_TARGET_IN_USE: 500,
  RESTORE_INTERRUPTED: 500,
  RESTORE_ROLLBACK_REFUSED: 500,
  RESTORE_LOG_DIVERGED: 500,
  RESTORE_CHECKPOINT_INVALID: 500,
  INVALID_EVIDENCE_PERIOD: 400,
  // `glasshouse evidence` only.
  EVIDENCE_OUT_EXISTS: 500,
  EVIDENCE_PACK_INVALID: 500,
  STORAGE_UNAVAILABLE: 500,
  INVALID_STORAGE_URL: 500,
  NOTHING_TO_MIGRATE: 500,
  STORAGE_NOT_EMPTY: 500,
  MIGRATION_MISMATCH: 500,
  SUBJECT_NOT_AT_SITE: 409,
  DECRYPT_FAILED: 500,
  BAD_HEADER: 500,
  SAMPLE_SIZE_MISMATCH: 500,
  UNSAFE_ENTRY_NAME: 500,
  SAMPLE_NOT_FOUND: 404,
  SAMPLE_TOO_LARGE: 413,
  EMPTY_SAMPLE: 400,
  MALFORMED_HASH: 400,
  INVALID_FILENAME: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_TAG: 400,
  INVALID_COMMENT: 400,
  TOO_MANY_TAGS: 409,
  INVALID_TLSH: 400,
  LOG_NOT_FOUND: 404,
  TILE_NOT_FOUND: 404,
  ENTRY_TOO_LARGE: 500,
  INVALID_PROOF_REQUEST: 400,
  LOG_CLOSED: 503,
  LOG_INCONSISTENT: 500,
  LOG_FORKED: 409,
  LOG_KEY_ROTATION_UNDER_WAY: 409,
  LOG_KEY_MISSING: 500,
  WITNESS_FAILED: 500,
  WITNESS_QUORUM_NOT_MET: 500,
  INVALID_PROOF: 400,
  INVALID_TREE_SIZE: 400,
  INVALID_INDEX: 400,
  INVALID_TILE: 404,
  INVALID_TILE_PATH: 404,
  INVALID_ENTRY_BUNDLE: 500,
  INVALID_HASH: 400,
  INVALID_HASH_READ: 500,
  MALFORMED_NOTE: 400,
  UNVERIFIED_NOTE: 400,
  INVALID_SIGNATURE: 400,
  INVALID_KEY: 400,
  MALFORMED_CHECKPOINT: 400,
  UNEXPECTED_ORIGIN: 400,
  UNREPRESENTABLE_JSON: 500,
  INVALID_VERDICT: 400,
  INVALID_EVENT_BATCH: 400,
  EVENT_BATCH_TOO_LARGE: 413,
  INVALID_STATS_QUERY: 400,
  STATS_CLOSED: 503,
  // Only `glasshouse backup` asks a serving process for a copy of its statistics.
  STATS_SNAPSHOT_FAILED: 500,
  STATS_WAL_CORRUPT: 500,
  INVALID_FEED: 400,
  BATCH_TOO_LARGE: 413,
  INVALID_PERIOD: 400,
  INVALID_REPORT: 400,
  REPORT_MISMATCH: 409,
  INVALID_EXAMPLE_DATA: 400,
  REPORT_NOT_PUBLISHED: 404,
  RELOCATION_NOT_FOUND: 404,
  RELOCATION_ACTIVE: 409,
  RELOCATION_STATE: 409,
  RELOCATION_UNAVAILABLE: 503,
  INVALID_RELOCATION: 409,
  INVALID_YARA_RULES: 400,
  HUNT_NOT_FOUND: 404,
  HUNT_STATE: 409,
  HUNT_UNAVAILABLE: 503,
  VALIDATION_FAILED: 400,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INVALID_CURSOR: 400,
  LEGAL_REQUEST_NOT_FOUND: 404,
  INVALID_LEGAL_REQUEST: 400,
  INVALID_TRANSITION: 409,
  FOUR_EYES_REQUIRED: 409,
  INVALID_LEGAL_HISTORY: 400,
  LEGAL_HISTORY_ALREADY_IMPORTED: 409,
  LEGAL_PACKAGE_NOT_FOUND: 404,
  PERSONAL_DATA_IN_TECHNICAL_PACKAGE: 500,
  INVALID_STIX_BUNDLE: 500,
  PRIVACY_REQUEST_NOT_FOUND: 404,
  INVALID_PRIVACY_REQUEST: 400,
  PRIVACY_REQUEST_CLOSED: 409,
  EXPORT_NOT_AVAILABLE: 409,
  INVALID_PRIVACY_HISTORY: 400,
  // Refused before a route: the HTTP framing, the URL, text no route could store or log.
  MALFORMED_REQUEST: 400,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  INVALID_URL: 400,
  INVALID_TEXT: 400,
  BODY_TOO_DEEP: 400,
  NUMBER_OUT_OF_RANGE: 400,
  MISSING_BODY: 400,
  UNEXPECTED_BODY: 400,
  SITE_NOT_RUNNING: 503,
  SITE_UNAVAILABLE: 503,
  SITE_IDENTITY_MISMATCH: 500,
  FORBIDDEN_PEER: 403,
  RATE_LIMITED: 429,
  BODY_TOO_LARGE: 413,
  PRIVACY_HISTORY_ALREADY_IMPORTED: 409,
  // The deployment's certificates: set up by the CLI; a server that meets one is misconfigured.
  INVALID_SUBJECT: 500,
  INVALID_CA: 500,
  BUNDLE_INCOMPLETE: 500,
  PKI_EXISTS: 500,
  PKI_NOT_FOUND: 500,
  // A witness (C2SP tlog-witness §add-checkpoint names these statuses).
  WITNESS_BAD_REQUEST: 400,
  WITNESS_UNKNOWN_LOG: 404,
  WITNESS_UNTRUSTED_CHECKPOINT: 403,
  WITNESS_OLD_SIZE_MISMATCH: 409,
  WITNESS_ROOT_MISMATCH: 409,
  WITNESS_INVALID_PROOF: 422,
  WITNESS_LOG_EXISTS: 409,
} as const satisfies Record<KnownCode, number>;

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(
  status: number,
  code: string,
  detail: string,
  extensions: Record<string, unknown> = {},
): Problem {
  return {
    type: `urn:glasshouse:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extensions,
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  if (body.status === 401) reply.header('www-authenticate', 'Bearer realm="glasshouse"');
  return reply.status(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/**
 * Turns every error into an RFC 9457 problem document. Domain errors carry a code mapped
 * above; Fastify's own 4xx errors keep their code; anything else is logged and answered
 * with a 500 that says nothing more, so internals never leak to a caller.
 */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const body = toProblem(error);
  if (body.status >= 500) request.log.error({ err: error }, 'request failed');
  if (reply.raw.headersSent) {
    reply.raw.destroy(error);
    return reply;
  }
  return sendProblem(reply, { ...body, instance: request.url.split('?')[0] ?? '' });
}

function toProblem(error: FastifyError | Error): Problem {
  if (error instanceof GlasshouseError && error.code in PROBLEM_STATUS) {
    const status = PROBLEM_STATUS[error.code as KnownCode];
    // A 503 says to come back later; any other server-side failure says nothing more.
    if (status >= 500 && status !== 503)
      return problem(500, 'INTERNAL', 'the server failed to complete the request');
    return problem(status, error.code, error.message, safeDetails(error.details));
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return problem(400, 'VALIDATION_FAILED', error.message, {
      errors: fastifyError.validation.map((v) => ({
        field: v.instancePath || v.params?.missingProperty,
        message: v.message,
      })),
    });
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return problem(status, fastifyError.code ?? 'BAD_REQUEST', error.message);
  }
  return problem(500, 'INTERNAL', 'the server failed to complete the request');
}

/** Only the non-personal hints a caller needs to fix the request. */
function safeDetails(details: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  if (details === undefined) return {};
  const { field, value, limit, sites, country, region, invalidLines, errors, retryAfter } = details;
  // A history file refused as already imported: which file, when, how many rows.
  const { sha256, imports, importedAt, rows } = details;
  // A rule set that does not compile: where the compiler stopped.
  const { line, column } = details;
  return Object.fromEntries(
    Object.entries({
      ...{ field, value, limit, sites, country, region, invalidLines, errors, retryAfter },
      ...{ sha256, imports, importedAt, rows, line, column },
    }).filter(([, v]) => v !== undefined),
  );
}
