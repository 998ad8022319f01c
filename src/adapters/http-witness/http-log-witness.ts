import type { WitnessConfig } from '../../config/config.js';
import { parseCosignerVerifierKey } from '../../ledger/note/index.js';
import type { LogWitness } from '../../ledger/witnessing.js';

/**
 * A configured witness reached over HTTP(S): `POST <url>/add-checkpoint` with the protocol's
 * text body (C2SP tlog-witness). The caller's signal bounds the whole exchange.
 *
 * @example
 * const witness = httpLogWitness({ name, key, url: 'https://witness.example' });
 */
export function httpLogWitness(config: WitnessConfig): LogWitness {
  const endpoint = `${config.url}/add-checkpoint`;
  return {
    name: config.name,
    key: parseCosignerVerifierKey(config.key),
    async addCheckpoint(body, signal) {
      const response = await fetch(endpoint, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal,
      });
      return { status: response.status, body: await response.text() };
    },
  };
}
