/**
 * What text we accept from outside (request bodies, query strings, feeds). A lone surrogate
 * has no UTF-8 form, so nothing holding one can be stored, logged (RFC 8785 refuses it) or
 * answered faithfully; NUL and the other control characters (bar tab and line breaks)
 * are never part of a name, a reference or a note, and truncate strings in other tools.
 */

const LONE_SURROGATE = /\p{Cs}/u;
/** Controls (C0, DEL, C1), except tab, line feed and carriage return (free text keeps those). */
const CONTROL = /(?![\t\n\r])\p{Cc}/u;

/** Why `value` is not acceptable text; `undefined` when it is. */
export function textFault(value: string): string | undefined {
  if (LONE_SURROGATE.test(value)) return 'holds a lone surrogate (not Unicode text)';
  if (CONTROL.test(value)) {
    return value.includes('\u0000') ? 'holds a NUL character' : 'holds a control character';
  }
  return undefined;
}
