/**
 * Who did something: the role and the id (never the secret) of the token used, and the
 * person holding it as a commitment (never the name: docs/log.md).
 */
export interface Actor {
  readonly role: string;
  readonly token: string;
  readonly person?: string;
}

/**
 * One record of something sensitive. Entries never hold personal data in clear: ids of
 * installations and file names appear only as commitments (the log issue adds them).
 */
export interface AuditEntry {
  readonly type: string;
  readonly time: string;
  readonly actor: Actor;
  readonly [field: string]: unknown;
}

/**
 * Where every node records what it did. `append` resolves only once the entry is durable,
 * so a caller may act (hand out a sample, say) only after the record exists.
 *
 * @example
 * await audit.append({ type: 'sample.download', time: now.toISOString(), actor, site, sha256 });
 */
export interface AuditSink {
  append(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}
