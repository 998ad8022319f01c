/** A telemetry event as products send it (mixed-case ids and hashes, a verdict to normalize). */
export const PRODUCT_EVENT = {
  ts: '2026-11-23T10:00:00Z',
  installation: '3F9A1C2E-0B4D-4E5F-8A6B-7C8D9E0F1A2B',
  type: 'detection',
  sha256: 'A'.repeat(64),
  md5: 'b'.repeat(32),
  verdict: 'Malicious',
  threat: 'Trojan.Win32.Agent',
  product: 'endpoint-12',
  os: 'windows-11',
} as const;
