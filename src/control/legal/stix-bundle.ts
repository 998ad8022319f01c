import { randomUUID } from 'node:crypto';
import type { VerdictHashKind, VerdictName } from '../lookup/verdict.js';

/** STIX 2.1 §10.7 (hashing-algorithm-ov): how a pattern names each hash kind. */
const STIX_HASH_NAME: Readonly<Record<VerdictHashKind, string>> = {
  md5: 'MD5',
  sha1: 'SHA-1',
  sha256: 'SHA-256',
};

/** STIX 2.1 §10.10 (indicator-type-ov) for each verdict. */
const INDICATOR_TYPE: Readonly<Record<VerdictName, string>> = {
  malicious: 'malicious-activity',
  suspicious: 'anomalous-activity',
  clean: 'benign',
};

export interface HashIndicator {
  readonly kind: VerdictHashKind;
  readonly hash: string;
  readonly verdict: VerdictName;
  /** `''` when the verdict names no threat. */
  readonly threat: string;
  /** ISO 8601. */
  readonly firstSeen: string;
}

export interface StixBundleInput {
  /** Who produced it: the deployment's name. */
  readonly producer: string;
  readonly title: string;
  readonly indicators: readonly HashIndicator[];
  /** Threat families to describe even when no hash of theirs is known. */
  readonly threats: readonly string[];
  readonly now: Date;
}

type StixObject = Record<string, unknown> & { readonly id: string; readonly type: string };

/**
 * A STIX 2.1 bundle: the producer's identity, an indicator with a file-hash pattern per
 * hash, a malware object per threat family, `indicates` relationships between them, and a
 * report that refers to everything. Only technical facts: no installation, no file name.
 *
 * @example
 * const bundle = buildStixBundle({ producer: 'glasshouse-example', title: 'Request 42', indicators, threats: [], now });
 */
export function buildStixBundle(input: StixBundleInput): {
  type: 'bundle';
  id: string;
  objects: StixObject[];
} {
  const created = input.now.toISOString();
  const common = (type: string) => ({
    type,
    spec_version: '2.1',
    id: `${type}--${randomUUID()}`,
    created,
    modified: created,
  });
  const identity = { ...common('identity'), name: input.producer, identity_class: 'organization' };
  const withProducer = (type: string) => ({ ...common(type), created_by_ref: identity.id });

  const families = new Map<string, StixObject>();
  const familyOf = (name: string): StixObject => {
    let malware = families.get(name);
    if (malware === undefined) {
      malware = { ...withProducer('malware'), name, is_family: true };
      families.set(name, malware);
    }
    return malware;
  };
  for (const threat of input.threats) familyOf(threat);

  const indicators: StixObject[] = [];
  const relationships: StixObject[] = [];
  for (const item of input.indicators) {
    const indicator = {
      ...withProducer('indicator'),
      name: `${STIX_HASH_NAME[item.kind]} ${item.hash}`,
      indicator_types: [INDICATOR_TYPE[item.verdict]],
      pattern: `[file:hashes.'${STIX_HASH_NAME[item.kind]}' = '${item.hash}']`,
      pattern_type: 'stix',
      valid_from: item.firstSeen,
    };
    indicators.push(indicator);
    if (item.threat !== '') {
      relationships.push({
        ...withProducer('relationship'),
        relationship_type: 'indicates',
        source_ref: indicator.id,
        target_ref: familyOf(item.threat).id,
      });
    }
  }
  const described = [...indicators, ...families.values(), ...relationships];
  const report = {
    ...withProducer('report'),
    name: input.title,
    report_types: ['threat-report'],
    published: created,
    object_refs: [identity.id, ...described.map((o) => o.id)],
  };
  return { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [identity, ...described, report] };
}
