import { CatalogueError } from './catalogue-errors.js';

/** A tag's namespace (`family`, `campaign`, …) and a plain word share this shape. */
const WORD = '[a-z0-9][a-z0-9._-]*';
const TAG_PATTERN = new RegExp(`^${WORD}(?::${WORD})?$`);
export const MAX_TAG_LENGTH = 128;
export const MAX_TAG_NAMESPACE_LENGTH = 32;
/** Tags one sample carries at one site: enough for families, campaigns and labels, not a dump. */
export const MAX_TAGS_PER_SAMPLE = 64;
/** A comment is a note between analysts, not a report: longer text belongs elsewhere. */
export const MAX_COMMENT_LENGTH = 4000;

/**
 * Checks a tag: lower-case `namespace:value` (`family:emotet`) or a plain word (`packed`),
 * letters, digits, `.`, `_` and `-`, at most 128 characters (namespace at most 32).
 *
 * @example
 * parseTag('family:emotet') // 'family:emotet'
 * parseTag('Family:Emotet') // throws INVALID_TAG
 */
export function parseTag(text: string): string {
  const namespace = text.includes(':') ? text.slice(0, text.indexOf(':')) : '';
  if (
    text.length > MAX_TAG_LENGTH ||
    namespace.length > MAX_TAG_NAMESPACE_LENGTH ||
    !TAG_PATTERN.test(text)
  ) {
    throw new CatalogueError(
      'INVALID_TAG',
      `a tag is a lower-case word or namespace:value (letters, digits, . _ -), at most ${MAX_TAG_LENGTH} characters`,
      { details: { limit: MAX_TAG_LENGTH } },
    );
  }
  return text;
}

/**
 * Checks a comment's text: not blank, at most 4000 characters, no control characters but
 * line breaks and tabs. Returned trimmed.
 */
export function parseCommentText(text: string): string {
  const trimmed = text.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses
  const controls = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
  if (trimmed.length === 0 || trimmed.length > MAX_COMMENT_LENGTH || controls.test(trimmed)) {
    throw new CatalogueError(
      'INVALID_COMMENT',
      `a comment holds 1 to ${MAX_COMMENT_LENGTH} characters, without control characters`,
      { details: { limit: MAX_COMMENT_LENGTH } },
    );
  }
  return trimmed;
}
