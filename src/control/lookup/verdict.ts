import { LookupError } from './lookup-errors.js';

/** The hash kinds a verdict may be keyed by; the index has one table per kind. */
export type VerdictHashKind = 'md5' | 'sha1' | 'sha256';
export const VERDICT_HASH_KINDS: readonly VerdictHashKind[] = ['md5', 'sha1', 'sha256'];
export const DIGEST_BYTES: Readonly<Record<VerdictHashKind, number>> = { md5: 16, sha1: 20, sha256: 32 };

export type VerdictName = 'malicious' | 'suspicious' | 'clean';
export const VERDICT_NAMES: readonly VerdictName[] = ['malicious', 'suspicious', 'clean'];

/** The 2-bit code of a verdict, in the store and the index; 0 is never used (it marks "empty"). */
export const VERDICT_CODE: Readonly<Record<VerdictName, 1 | 2 | 3>> = {
  malicious: 1,
  suspicious: 2,
  clean: 3,
};
export const VERDICT_BY_CODE: readonly (VerdictName | undefined)[] = [
  undefined,
  'malicious',
  'suspicious',
  'clean',
];

/** A verdict about one hash, as set by an analyst or loaded from a feed. */
export interface VerdictInput {
  readonly kind: VerdictHashKind;
  readonly digest: Buffer;
  readonly verdict: VerdictName;
  /** Empty when the feed names no threat. */
  readonly threat: string;
  /** Seconds since the epoch. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly source: string;
}

/** A verdict as the index holds it: the threat by its id in the threat-name table. */
export interface IndexedVerdict {
  readonly kind: VerdictHashKind;
  readonly digest: Buffer;
  readonly verdict: VerdictName;
  readonly threatId: number;
  readonly firstSeen: number;
}

export const MAX_THREAT_LENGTH = 256;
export const MAX_SOURCE_LENGTH = 256;
/** Threat ids share a 32-bit word with the verdict's 2 bits. */
export const MAX_THREAT_ID = 2 ** 30 - 1;

const KIND_BY_HEX_LENGTH: Readonly<Record<number, VerdictHashKind>> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };

/** The kind and digest of an MD5, SHA-1 or SHA-256 in hex; `undefined` for anything else. */
export function decodeVerdictHash(text: string): { kind: VerdictHashKind; digest: Buffer } | undefined {
  const kind = KIND_BY_HEX_LENGTH[text.length];
  if (kind === undefined) return undefined;
  const digest = Buffer.from(text, 'hex');
  return digest.length === DIGEST_BYTES[kind] ? { kind, digest } : undefined;
}

export function parseVerdictHash(text: string): { kind: VerdictHashKind; digest: Buffer } {
  const decoded = decodeVerdictHash(text);
  if (decoded === undefined) {
    throw new LookupError('MALFORMED_HASH', 'expected an MD5, SHA-1 or SHA-256 digest in hex', {
      details: { field: 'hash' },
    });
  }
  return decoded;
}

export function isVerdictName(value: unknown): value is VerdictName {
  return value === 'malicious' || value === 'suspicious' || value === 'clean';
}

/**
 * `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time with a zone, as seconds since the
 * epoch (what the index stores in 32 bits: 1970 to 2106); `undefined` if not one.
 */
export function parseSeenTime(text: string): number | undefined {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/.test(iso))
    return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const seconds = Math.floor(ms / 1000);
  return seconds >= 0 && seconds < 2 ** 32 ? seconds : undefined;
}

export function formatSeenTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
}
