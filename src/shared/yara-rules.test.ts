import { describe, expect, it } from 'vitest';
import { compiledRulesOf } from './yara-rules.js';

const RULES = 'rule eicar { strings: $a = "EICAR" condition: $a }';

describe('compiledRulesOf', () => {
  it('compiles a rule set once on this thread and matches with it', () => {
    const first = compiledRulesOf(RULES);
    expect(compiledRulesOf(RULES)).toBe(first);
    expect(first.matching(Buffer.from('xxEICARxx'))).toEqual(['eicar']);
    expect(first.matching(Buffer.from('nothing'))).toEqual([]);
  });

  it('refuses a rule set that does not compile every time, with its line', () => {
    const bad = 'rule broken {\n  condition: nope\n}';
    for (let i = 0; i < 2; i += 1) {
      expect(() => compiledRulesOf(bad)).toThrow(
        expect.objectContaining({
          code: 'INVALID_YARA_RULES',
          details: expect.objectContaining({ line: 2 }),
        }),
      );
    }
  });
});
