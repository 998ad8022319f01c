export interface ProgressOptions {
  /** What is counted, e.g. `verdicts` or `relocation`. */
  readonly what: string;
  /** `bytes` (shown in MiB and MB/s), or the name of what is counted, e.g. `entry bundles`. */
  readonly unit: string;
  /** A terminal gets a redrawn bar; anything else a plain line now and then. Default: stderr's. */
  readonly tty?: boolean;
  /** How often a line is printed when not on a terminal. */
  readonly intervalMs?: number;
  readonly now?: () => number;
  readonly write?: (text: string) => void;
}

export interface ProgressReporter {
  /** `extra` is shown as is after the figures, e.g. `records 12/50`. */
  update(done: number, total: number, extra?: string): void;
  done(): void;
}

const REDRAW_MS = 100;
const WIDTH = 30;

/**
 * Progress on stderr, so `--json` output and pipes stay clean: done and total, rate and time
 * left; a one-line bar redrawn on a terminal, a plain line every `intervalMs` otherwise (and
 * one at the end, once any was printed), so a log or CI job shows long work moving.
 *
 * @example
 * const progress = progressReporter({ what: 'verdicts', unit: 'bytes' });
 * progress.update(sent, size);
 * progress.done();
 */
export function progressReporter(options: ProgressOptions): ProgressReporter {
  const tty = options.tty ?? process.stderr.isTTY === true;
  const interval = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const started = now();
  let lastDrawn = tty ? Number.NEGATIVE_INFINITY : started;
  let printed = false;
  let last: { done: number; total: number; extra: string | undefined } | undefined;
  const line = () => (last === undefined ? '' : describe(options, last, (now() - started) / 1000));
  return {
    update(done, total, extra) {
      last = { done, total, extra };
      const at = now();
      if (tty) {
        if (at - lastDrawn < REDRAW_MS && done < total) return;
        write(`\r${bar(done, total)} ${line()}\x1b[K`);
      } else {
        // A job shorter than the interval prints nothing: stderr stays the command's own.
        if (at - lastDrawn < interval) return;
        write(`${line()}\n`);
      }
      lastDrawn = at;
      printed = true;
    },
    done() {
      if (last === undefined || !printed) return;
      write(tty ? `\r${bar(last.done, last.total)} ${line()}\x1b[K\n` : `${line()}\n`);
    },
  };
}

function describe(
  options: ProgressOptions,
  { done, total, extra }: { done: number; total: number; extra: string | undefined },
  seconds: number,
): string {
  const rate = seconds > 0 ? done / seconds : 0;
  const parts = [`${options.what}: ${amounts(options.unit, done, total)}`];
  if (total > 0) parts[0] += ` (${Math.floor((done / total) * 100)}%)`;
  if (rate > 0)
    parts.push(
      options.unit === 'bytes' ? `${(rate / 1e6).toFixed(1)} MB/s` : `${Math.round(rate)} ${options.unit}/s`,
    );
  if (rate > 0 && done < total) parts.push(`about ${duration((total - done) / rate)} left`);
  if (done >= total) parts.push(`${duration(seconds)} in all`);
  if (extra !== undefined) parts.push(extra);
  return parts.join(', ');
}

function bar(done: number, total: number): string {
  const filled = total === 0 ? WIDTH : Math.min(WIDTH, Math.round((done / total) * WIDTH));
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
}

function amounts(unit: string, done: number, total: number): string {
  if (unit !== 'bytes') return `${done}/${total} ${unit}`;
  return `${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
