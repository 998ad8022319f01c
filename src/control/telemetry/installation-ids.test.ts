import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InstallationIds } from './installation-ids.js';

describe('InstallationIds', () => {
  it('gives equal ids one index and different ids different ones, from bytes or strings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uuid(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 50 }),
        (pool, picks) => {
          const ids = new InstallationIds();
          const rows = Buffer.from(`x${pool.join('')}`, 'latin1');
          const indexes = picks.map(([n, asBytes]) => {
            const i = n % pool.length;
            return asBytes ? ids.indexOfBytes(rows, 1 + 36 * i) : ids.indexOf(pool[i]!);
          });
          picks.forEach(([n], j) => {
            expect(ids.list[indexes[j]!]).toBe(pool[n % pool.length]);
          });
          expect(new Set(ids.list).size).toBe(ids.list.length);
        },
      ),
    );
  });
});
