import type { ApiClient } from '../../api/client';
import type { Bytes } from '../../ledger/merkle';
import { fromBase64 } from '../../ledger/merkle';

/*
 * The public face of every node's log (no token: `/log/<node>/checkpoint` and its tiles),
 * the list of nodes (`/readyz` names the sites, signed out too) and, for an auditor, the
 * proof route.
 */

export interface Readiness {
  readonly status: string;
  readonly sites: Readonly<Record<string, string>>;
}

/** `control`, then each site `/readyz` lists. */
export async function logNodes(api: ApiClient): Promise<string[]> {
  const ready = await api.get<Readiness>('/readyz');
  return ['control', ...Object.keys(ready.sites).sort()];
}

export async function fetchCheckpoint(api: ApiClient, node: string): Promise<string> {
  const response = await api.fetch('GET', `/log/${encodeURIComponent(node)}/checkpoint`);
  return response.text();
}

/** A tile or entry bundle of the node's log, by its path (`tile/0/000.p/5`). */
export async function fetchLogFile(api: ApiClient, node: string, path: string): Promise<Bytes> {
  const response = await api.fetch('GET', `/log/${encodeURIComponent(node)}/${path}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** RFC 9162 audit path from the server, for holders of an auditor token. */
export async function fetchInclusionProof(
  api: ApiClient,
  node: string,
  index: number,
  size: number,
): Promise<Bytes[]> {
  const answer = await api.get<{ proof: string[] }>(`/v1/log/${encodeURIComponent(node)}/proof/inclusion`, {
    query: { index, size },
  });
  return answer.proof.map((hash) => {
    const bytes = fromBase64(hash);
    if (bytes === undefined) throw new Error('the proof route answered a hash that is not base64');
    return bytes;
  });
}
