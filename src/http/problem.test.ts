import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEM_STATUS } from './problem.js';

describe('docs/errors.md', () => {
  describe('when compared with the codes the server knows', () => {
    it('documents every code', () => {
      const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
      const missing = Object.keys(PROBLEM_STATUS).filter((code) => !doc.includes(`\`${code}\``));
      expect(missing).toEqual([]);
    });
  });
});
