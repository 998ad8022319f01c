import { encodeEventRow } from '../../src/control/telemetry/telemetry-event.js';

/** Rows per batch: each batch names its own threat, so a count per threat tells batches apart. */
export const CRASH_BATCH_ROWS = 200;
export const CRASH_CLOCK = new Date('2026-11-23T12:00:00Z');
const INSTALLATIONS = [
  '9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c01',
  '9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c02',
  '9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c03',
];

/** The load-format rows of batch `id` (`<cycle>-<writer>-<seq>`). */
export function crashBatch(id: string): Buffer {
  let rows = '';
  for (let i = 0; i < CRASH_BATCH_ROWS; i += 1) {
    rows += encodeEventRow(
      {
        ts: '2026-11-23 10:00:00.000',
        installation: INSTALLATIONS[i % INSTALLATIONS.length]!,
        type: 'detection',
        sha256: null,
        md5: null,
        verdict: 'malicious',
        threat: `crash-${id}`,
        product: null,
        os: null,
      },
      'CH',
    );
  }
  return Buffer.from(rows);
}
