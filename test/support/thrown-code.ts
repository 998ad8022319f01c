import type { GlasshouseError } from '../../src/shared/errors.js';

/**
 * The code of the domain error `action` throws, or `undefined` if it throws nothing. Any
 * other error is rethrown, so a test never mistakes a crash for the refusal it expects.
 *
 * @example
 * expect(thrownCode(() => parseTilePath('tile/0/01'), MerkleError)).toBe('INVALID_TILE_PATH');
 */
export function thrownCode<Code extends string>(
  action: () => unknown,
  errorClass: abstract new (...args: never[]) => GlasshouseError<Code>,
): Code | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof errorClass) return error.code;
    throw error;
  }
  return undefined;
}
