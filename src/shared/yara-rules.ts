import { createHash } from 'node:crypto';
import { compile, type YaraX } from '@litko/yara-x';
import { HuntError } from './hunt-errors.js';

/** The longest YARA rule set a hunt takes, in characters (the public and the site API's limit). */
export const MAX_RULES_LENGTH = 1 << 20;

/** A compiled rule set: what both the control plane (to refuse bad rules) and a site (to scan) hold. */
export interface CompiledRules {
  /** The names of the rules that match `data` (namespace-qualified outside `default`), sorted. */
  matching(data: Buffer): string[];
}

/**
 * Compiles a YARA rule set with YARA-X. `include` is refused: a rule set names no file of
 * the server (an include of a local file would echo its lines back in the compiler's error).
 * A rule set that does not compile is `INVALID_YARA_RULES` with the compiler's message and
 * the line and column it points at (`field: 'rules'`).
 *
 * @example
 * compileRules('rule eicar { strings: $a = "EICAR" condition: $a }').matching(bytes) // ['eicar']
 */
export function compileRules(source: string): CompiledRules {
  let rules: YaraX;
  try {
    rules = compile(source, { enableIncludes: false });
  } catch (error) {
    throw invalidRules(error);
  }
  return {
    matching(data: Buffer): string[] {
      return ruleNames(rules.scan(data));
    },
  };
}

/** Rule sets compiled on this thread, by SHA-256 (oldest first): the hunts running at once, in practice. */
const compiledHere = new Map<string, CompiledRules>();
const RULE_SETS_KEPT = 8;

/**
 * {@link compileRules}, once per rule set and thread: YARA-X takes about a second to compile
 * a hundred rules with regular expressions, which a hunt's batches, the control plane's check
 * and a site in the same process would otherwise each pay again. A rule set that does not
 * compile is not kept (it throws every time).
 */
export function compiledRulesOf(source: string, sha256 = rulesSha256(source)): CompiledRules {
  let compiled = compiledHere.get(sha256);
  if (compiled === undefined) {
    compiled = compileRules(source);
    if (compiledHere.size >= RULE_SETS_KEPT) compiledHere.delete(compiledHere.keys().next().value!);
  } else {
    compiledHere.delete(sha256);
  }
  // Last in the map: the most recently used is the last to go.
  compiledHere.set(sha256, compiled);
  return compiled;
}

/** The SHA-256 (hex) of the rule set's text as sent, the hunt's name for it in the log. */
export function rulesSha256(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

function ruleNames(matches: readonly { ruleIdentifier: string; namespace: string }[]): string[] {
  const names = matches.map((m) =>
    m.namespace === 'default' || m.namespace === '' ? m.ruleIdentifier : `${m.namespace}.${m.ruleIdentifier}`,
  );
  return [...new Set(names)].sort();
}

/** The compiler's report (`error[E001]: syntax error\n --> line:4:1 …`) as a 400 with its position. */
function invalidRules(error: unknown): HuntError {
  const text = error instanceof Error ? error.message : String(error);
  const message = text.replace(/^Compilation error \([A-Z0-9]+\): /, '');
  const at = /--> line:(\d+):(\d+)/.exec(message);
  return new HuntError('INVALID_YARA_RULES', `rules: ${message}`, {
    details: {
      field: 'rules',
      ...(at === null ? {} : { line: Number(at[1]), column: Number(at[2]) }),
    },
    cause: error,
  });
}
