import { openCosignatures, parseCosignerVerifierKey } from '../../ledger/note/index.js';
import type { ReportWitness } from './report.js';

/**
 * The witnesses of `witnessKeys` (verifier key texts) whose cosignatures a signed checkpoint
 * carries, each cosignature verified. Lines by witnesses the node does not know are left out:
 * a report names only cosignatures a reader can check with a key it names.
 *
 * @example
 * reportWitnesses(note, config.ledger.witnesses.map((w) => w.key));
 */
export function reportWitnesses(note: string, witnessKeys: readonly string[]): ReportWitness[] {
  const keys = witnessKeys.map((text) => ({ text, key: parseCosignerVerifierKey(text) }));
  return openCosignatures(
    note,
    keys.map((k) => k.key),
  ).map((c) => ({
    name: c.name,
    keyId: c.keyId.toString('hex'),
    key: keys.find((k) => k.key.name === c.name && k.key.keyId.equals(c.keyId))!.text,
    cosignedAt: new Date(c.timestamp * 1000).toISOString(),
  }));
}
