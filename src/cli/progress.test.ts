import { describe, expect, it } from 'vitest';
import { progressReporter } from './progress.js';

function reporter(tty: boolean, unit = 'bytes') {
  let clock = 0;
  const written: string[] = [];
  const progress = progressReporter({
    what: 'verdicts',
    unit,
    tty,
    intervalMs: 10_000,
    now: () => clock,
    write: (text) => written.push(text),
  });
  return { progress, written, advance: (ms: number) => (clock += ms) };
}

describe('progressReporter', () => {
  describe('when stderr is not a terminal', () => {
    it('prints a plain line with done, rate and time left every interval, and one at the end', () => {
      const { progress, written, advance } = reporter(false);
      const total = 100 * 1048576;
      advance(5_000);
      progress.update(10 * 1048576, total); // within the first interval: not printed
      advance(5_000);
      progress.update(20 * 1048576, total);
      advance(5_000);
      progress.update(30 * 1048576, total); // within the interval: not printed
      advance(5_000);
      progress.update(55 * 1048576, total);
      advance(9_000);
      progress.done();
      expect(written).toEqual([
        'verdicts: 20.0/100.0 MiB (20%), 2.1 MB/s, about 40 s left\n',
        'verdicts: 55.0/100.0 MiB (55%), 2.9 MB/s, about 16 s left\n',
        'verdicts: 55.0/100.0 MiB (55%), 2.0 MB/s, about 24 s left\n',
      ]);
    });

    it('prints nothing for work shorter than the interval', () => {
      const { progress, written, advance } = reporter(false);
      advance(2_000);
      progress.update(400, 400);
      progress.done();
      expect(written).toEqual([]);
    });

    it('counts in the unit it is given, with what else the caller says', () => {
      const { progress, written, advance } = reporter(false, 'entry bundles');
      advance(20_000);
      progress.update(400, 400, 'records 3/3');
      expect(written).toEqual([
        'verdicts: 400/400 entry bundles (100%), 20 entry bundles/s, 20 s in all, records 3/3\n',
      ]);
    });
  });

  describe('when stderr is a terminal', () => {
    it('redraws one line at most every 100 ms and ends it with a newline', () => {
      const { progress, written, advance } = reporter(true);
      advance(1_000);
      progress.update(1048576, 4 * 1048576);
      advance(50);
      progress.update(2 * 1048576, 4 * 1048576);
      advance(100);
      progress.update(3 * 1048576, 4 * 1048576);
      progress.done();
      expect(written).toHaveLength(3);
      expect(written[0]).toMatch(
        /^\r\[#{8}\.{22}\] verdicts: 1\.0\/4\.0 MiB \(25%\), 1\.0 MB\/s, about 3 s left/,
      );
      expect(written[2]).toMatch(/^\r\[#{23}\.{7}\] verdicts: 3\.0\/4\.0 MiB .*\n$/);
      expect(written.join('')).not.toContain('2.0/4.0');
    });
  });
});
