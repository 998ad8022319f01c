import {
  createCertificateAuthority,
  issueCertificate,
  type KeyPairPem,
  type PeerRole,
  type TlsMaterial,
} from '../../src/pki/certificates.js';

/** Pinned: certificates must not depend on today's date (they are valid for years from it). */
export const PKI_NOW = new Date('2026-03-01T00:00:00Z');

/** A deployment's CA and a way to issue TLS material for its peers. */
export interface TestPki {
  readonly ca: KeyPairPem;
  material(role: PeerRole, name: string): Promise<TlsMaterial>;
}

/**
 * A new CA (ECDSA keys make this fast), certificates issued at {@link PKI_NOW}: valid now and
 * for years, whatever the date the tests run.
 */
export async function createTestPki(deployment = 'contract-test'): Promise<TestPki> {
  const ca = await createCertificateAuthority(deployment, PKI_NOW);
  return {
    ca,
    async material(role, name) {
      const pair = await issueCertificate(ca, { role, name, hosts: [] }, PKI_NOW);
      return { ca: ca.cert, ...pair };
    },
  };
}
