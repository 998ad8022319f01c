import { describe, expect, it } from 'vitest';
import { IdempotencyCache } from './idempotency-cache.js';

describe('IdempotencyCache', () => {
  describe('when a key repeats', () => {
    it('answers with the first answer without running the work again', async () => {
      const cache = new IdempotencyCache();
      let runs = 0;
      const work = async () => ({ status: 201, body: { run: ++runs } });
      const first = cache.answer('k', work);
      const repeat = cache.answer('k', work);
      expect(first.repeat).toBe(false);
      expect(repeat.repeat).toBe(true);
      expect(await repeat.answer).toEqual({ status: 201, body: { run: 1 } });
      expect(runs).toBe(1);
    });
  });

  describe('when the first call failed', () => {
    it('forgets the key, so a retry runs again', async () => {
      const cache = new IdempotencyCache();
      await expect(cache.answer('k', () => Promise.reject(new Error('site busy'))).answer).rejects.toThrow();
      await Promise.resolve();
      const retry = cache.answer('k', async () => ({ status: 200, body: 'ok' }));
      expect(retry.repeat).toBe(false);
      expect(await retry.answer).toEqual({ status: 200, body: 'ok' });
    });
  });

  describe('when more keys come than it holds', () => {
    it('forgets the oldest first', async () => {
      const cache = new IdempotencyCache({ capacity: 2 });
      for (const key of ['a', 'b', 'c'])
        await cache.answer(key, async () => ({ status: 200, body: key })).answer;
      expect(cache.size).toBe(2);
      expect(cache.answer('a', async () => ({ status: 200, body: 'again' })).repeat).toBe(false);
      expect(cache.answer('c', async () => ({ status: 200, body: 'again' })).repeat).toBe(true);
    });
  });

  describe('when a key is older than its time to live', () => {
    it('runs the work again', async () => {
      let now = new Date('2026-03-01T00:00:00Z');
      const cache = new IdempotencyCache({ ttlMs: 1000, now: () => now });
      await cache.answer('k', async () => ({ status: 200, body: 1 })).answer;
      now = new Date('2026-03-01T00:00:02Z');
      expect(cache.answer('k', async () => ({ status: 200, body: 2 })).repeat).toBe(false);
    });
  });
});
