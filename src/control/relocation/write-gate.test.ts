import { describe, expect, it } from 'vitest';
import { WriteGate } from './write-gate.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('WriteGate', () => {
  describe('when a batch is frozen', () => {
    it('waits for the writes in flight, holds new ones until the thaw, and lets other installations pass', async () => {
      const gate = new WriteGate();
      const leaveInFlight = await gate.enter(['a']);
      let frozen = false;
      const freezing = gate.freeze(['a', 'b']).then((thaw) => {
        frozen = true;
        return thaw;
      });
      await tick();
      expect(frozen).toBe(false);
      leaveInFlight();
      const thaw = await freezing;
      expect(frozen).toBe(true);

      let entered = false;
      const held = gate.enter(['b']).then((leave) => {
        entered = true;
        return leave;
      });
      const other = await gate.enter(['c']);
      other();
      await tick();
      expect(entered).toBe(false);
      thaw();
      (await held)();
      expect(entered).toBe(true);
    });

    it('resolves at once when nothing is in flight, and a leave is counted once', async () => {
      const gate = new WriteGate();
      const leave = await gate.enter(['a']);
      leave();
      leave();
      const thaw = await gate.freeze(['a']);
      thaw();
      const again = await gate.enter(['a']);
      again();
    });
  });
});
