/**
 * A one-line progress bar on a terminal (stderr), silent otherwise, so `--json` output and
 * pipes stay clean.
 */
export function progressReporter(what: string): {
  update: (done: number, total: number) => void;
  done: () => void;
} {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}
