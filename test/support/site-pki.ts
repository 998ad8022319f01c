import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  createCertificateAuthority,
  issueCertificate,
  type KeyPairPem,
  type PeerRole,
  type TlsMaterial,
} from '../../src/pki/certificates.js';

/**
 * The wall clock, read once: OpenSSL checks a certificate's validity against the real time
 * of the processes that shake hands, so certificates for a handshake are issued from it (a
 * pinned date would expire under the tests one day, and at once under `test:shifted-clock`).
 */
export const PKI_NOW = new Date(Date.now() - 60_000);

/** A deployment's CA and a way to issue TLS material for its peers. */
export interface TestPki {
  readonly ca: KeyPairPem;
  material(role: PeerRole, name: string): Promise<TlsMaterial>;
}

/**
 * A new CA (ECDSA keys make this fast), certificates issued at {@link PKI_NOW}: valid from a
 * minute ago and for years, whatever the date the tests run.
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

/**
 * A certificate the CA signed for a subject `issueCertificate` never writes (OU `auditor`):
 * it passes the TLS handshake, and only the per-request identity check can refuse it.
 */
export async function issueForeignSubject(ca: KeyPairPem, role: string, name: string): Promise<TlsMaterial> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const caCert = new x509.X509Certificate(ca.cert);
  const [caDer] = x509.PemConverter.decode(ca.key);
  if (caDer === undefined) throw new Error('no CA key');
  const caKey = await webcrypto.subtle.importKey('pkcs8', caDer, algorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: [{ CN: [name] }, { OU: [role] }, { O: ['contract-test'] }],
    issuer: caCert.subject,
    notBefore: PKI_NOW,
    notAfter: new Date(PKI_NOW.getTime() + 365 * 24 * 3600 * 1000 * 5),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const key = x509.PemConverter.encode(
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
    'PRIVATE KEY',
  );
  return { ca: ca.cert, cert: cert.toString('pem'), key };
}
