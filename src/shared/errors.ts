/**
 * The one base class of every domain error. Domains declare a closed union of codes and
 * never an HTTP status: `http/problem.ts` is the only place that maps codes to statuses.
 *
 * @example
 * export type VaultErrorCode = 'SAMPLE_NOT_FOUND' | 'SAMPLE_TOO_LARGE';
 * export class VaultError extends GlasshouseError<VaultErrorCode> {}
 * throw new VaultError('SAMPLE_NOT_FOUND', 'no sample with that hash');
 */
export class GlasshouseError<Code extends string = string> extends Error {
  readonly code: Code;
  /** Extra, non-personal members for the problem document (e.g. the offending key). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: Code, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
}
