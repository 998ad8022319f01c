import { describe, expect, it } from 'vitest';
import { textFault } from './text.js';

describe('textFault', () => {
  describe('when the text is well formed', () => {
    it('accepts letters of any script, tabs and line breaks', () => {
      expect(textFault('Trojan.Win32.Agent — 木马 😀')).toBeUndefined();
      expect(textFault('line one\r\n\tline two')).toBeUndefined();
    });
  });

  describe('when the text holds a lone surrogate', () => {
    it('refuses it, high or low, anywhere', () => {
      for (const value of ['Evil\ud800', '\udc00x', 'a\ud83d'])
        expect(textFault(value)).toMatch(/lone surrogate/);
    });
  });

  describe('when the text holds a control character', () => {
    it('refuses NUL, the other C0 controls, DEL and C1 controls', () => {
      expect(textFault('Evil\u0000')).toMatch(/NUL/);
      for (const value of ['a\u001bb', 'a\u007f', 'a\u0085', '\u000b'])
        expect(textFault(value)).toMatch(/control/);
    });
  });
});
