import { canonicalJson } from '../../src/ledger/note/index.js';

/**
 * The entry a crash-test writer appends: canonical JSON determined by its id
 * (`<cycle>-<writer>-<seq>`), so the test can rebuild the exact bytes from what the child
 * printed.
 */
export function crashEntry(id: string): Buffer {
  return Buffer.from(canonicalJson({ type: 'crash-test', i: id }), 'utf8');
}

/** One acknowledgement line of the child: `<index> <id>`. */
export function formatAcknowledgement(index: number, id: string): string {
  return `${index} ${id}\n`;
}

export function parseAcknowledgement(line: string): { index: number; id: string } {
  const match = /^(0|[1-9][0-9]*) ([0-9]+-[0-9]+-[0-9]+)$/.exec(line);
  if (match === null) throw new Error(`not an acknowledgement: ${JSON.stringify(line)}`);
  return { index: Number(match[1]), id: match[2]! };
}
