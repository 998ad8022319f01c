import { LedgerError } from './ledger-errors.js';
import { type CosignerVerifier, openCosignatures, type VerifiedCosignature } from './note/index.js';

/**
 * The cosignatures of a signed checkpoint by the given witnesses, which must number at least
 * `quorum` (all of them by default). Throws `WITNESS_QUORUM_NOT_MET` naming the witnesses
 * whose cosignature is missing, or `INVALID_SIGNATURE` for a cosignature that does not verify.
 *
 * @example
 * const cosigned = checkWitnessQuorum(checkpoint, witnessKeys.map(parseCosignerVerifierKey), 2);
 */
export function checkWitnessQuorum(
  checkpoint: string | Uint8Array,
  witnesses: readonly CosignerVerifier[],
  quorum: number = witnesses.length,
): readonly VerifiedCosignature[] {
  const cosignatures = openCosignatures(checkpoint, witnesses);
  if (cosignatures.length < quorum) {
    const missing = witnesses.filter(
      (w) => !cosignatures.some((c) => c.name === w.name && c.keyId.equals(w.keyId)),
    );
    throw new LedgerError(
      'WITNESS_QUORUM_NOT_MET',
      `${cosignatures.length} of the ${witnesses.length} witnesses given cosigned the checkpoint, fewer than ${quorum}; missing: ${missing.map((w) => w.name).join(', ')}`,
      { details: { witnesses: missing.map((w) => w.name) } },
    );
  }
  return cosignatures;
}
