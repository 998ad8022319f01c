import { type Problem, problem } from '../../http/problem.js';
import { LookupError } from './lookup-errors.js';

/** What a text/plain batch is answered in: one JSON answer a line. */
export const NDJSON = 'application/x-ndjson';
/** Room for the longest hash we answer for (a malformed one is echoed) and a line break. */
const BYTES_PER_LINE = 160;

/** The largest body `POST /v1/lookup` reads (Fastify's route and the fast path alike). */
export function batchBodyLimit(maxBatch: number): number {
  return Math.max(1 << 20, maxBatch * BYTES_PER_LINE);
}

export function batchTooLarge(maxBatch: number): LookupError {
  return new LookupError('BATCH_TOO_LARGE', `a batch may ask about at most ${maxBatch} hashes`, {
    details: { limit: maxBatch },
  });
}

/**
 * The problem document the error handler sends for {@link batchTooLarge} at `instance`, its
 * members in the order the response schema's serializer writes them (the schema's own, then
 * the extension).
 */
export function batchTooLargeProblem(maxBatch: number, instance: string): Problem {
  const error = batchTooLarge(maxBatch);
  return { ...problem(413, error.code, error.message), instance, limit: maxBatch };
}
