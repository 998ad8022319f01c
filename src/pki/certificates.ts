import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { PkiError } from './pki-errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** What one peer needs for mutual TLS: the deployment's CA and its own certificate and key (PEM). */
export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Which side of the deployment a certificate speaks for; carried in the subject's OU. */
export type PeerRole = 'control' | 'site';

/** A certificate and its private key, both PEM (the key in PKCS#8). */
export interface KeyPairPem {
  readonly cert: string;
  readonly key: string;
}

export const CA_VALIDITY_YEARS = 10;
export const LEAF_VALIDITY_YEARS = 2;
/** Hosts a leaf names when none are given: enough for peers on one machine. */
export const DEFAULT_HOSTS: readonly string[] = ['127.0.0.1', 'localhost'];

const PEER_ROLES: readonly PeerRole[] = ['control', 'site'];
// Names end up in a certificate subject that `peerIdentity` reads back from node's text
// rendering, so they keep to characters that rendering never escapes.
const PEER_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9*]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/**
 * A new certificate authority for one deployment: a self-signed ECDSA P-256 certificate that
 * may sign certificates and nothing else.
 *
 * @example
 * const ca = await createCertificateAuthority('acme-prod', new Date());
 */
export async function createCertificateAuthority(deployment: string, now: Date): Promise<KeyPairPem> {
  if (!DEPLOYMENT_NAME.test(deployment)) {
    throw new PkiError('INVALID_SUBJECT', `deployment name ${JSON.stringify(deployment)} is not allowed`);
  }
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`${deployment} certificate authority`] }, { O: [deployment] }],
    notBefore: now,
    notAfter: addYears(now, CA_VALIDITY_YEARS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

/**
 * A leaf certificate for one peer, signed by `ca`: `CN=<name>, OU=<role>, O=<deployment>`, usable
 * both as a TLS server and as a TLS client, naming `hosts` (DNS names or IP addresses).
 *
 * @example
 * const zurich = await issueCertificate(ca, { role: 'site', name: 'zurich', hosts: ['10.0.0.5'] }, new Date());
 */
export async function issueCertificate(
  ca: KeyPairPem,
  subject: { readonly role: PeerRole; readonly name: string; readonly hosts: readonly string[] },
  now: Date,
): Promise<KeyPairPem> {
  checkSubject(subject);
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importSigningKey(ca.key);
  const deployment = caCert.subjectName.getField('O')[0];
  if (deployment === undefined)
    throw new PkiError('INVALID_CA', 'the CA certificate names no deployment (O)');
  const keys = await generateKeys();
  const hosts = subject.hosts.length === 0 ? DEFAULT_HOSTS : subject.hosts;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [subject.name] }, { OU: [subject.role] }, { O: [deployment] }],
    issuer: caCert.subject,
    notBefore: now,
    notAfter: addYears(now, LEAF_VALIDITY_YEARS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

/**
 * Who a peer certificate speaks for, read from its subject's OU (role) and CN (name); undefined
 * when the subject is not one `issueCertificate` writes. Check the chain first: this reads names,
 * it proves nothing.
 *
 * @example
 * const peer = peerIdentity(socket.getPeerX509Certificate()); // { role: 'site', name: 'zurich' }
 */
export function peerIdentity(
  cert: NodeX509Certificate | string,
): { role: PeerRole; name: string } | undefined {
  const parsed = typeof cert === 'string' ? new NodeX509Certificate(cert) : cert;
  // Node renders the subject one attribute per line, `KEY=value`.
  const fields = parsed.subject.split('\n').map((line) => line.split('='));
  const only = (key: string) => {
    const values = fields.filter(([k]) => k === key).map((field) => field.slice(1).join('='));
    return values.length === 1 ? values[0] : undefined;
  };
  const role = only('OU');
  const name = only('CN');
  if (role === undefined || name === undefined) return undefined;
  if (!PEER_ROLES.includes(role as PeerRole) || !PEER_NAME.test(name)) return undefined;
  return { role: role as PeerRole, name };
}

function checkSubject(subject: {
  readonly role: PeerRole;
  readonly name: string;
  readonly hosts: readonly string[];
}) {
  if (!PEER_ROLES.includes(subject.role)) {
    throw new PkiError('INVALID_SUBJECT', `role ${JSON.stringify(subject.role)} is neither control nor site`);
  }
  if (!PEER_NAME.test(subject.name)) {
    throw new PkiError(
      'INVALID_SUBJECT',
      `peer name ${JSON.stringify(subject.name)} is not allowed (a-z, 0-9, -)`,
    );
  }
  for (const host of subject.hosts) {
    if (isIP(host) === 0 && !HOST_NAME.test(host)) {
      throw new PkiError(
        'INVALID_SUBJECT',
        `host ${JSON.stringify(host)} is neither an IP address nor a DNS name`,
      );
    }
  }
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const invalid = (cause?: unknown) =>
    new PkiError('INVALID_CA', 'the CA key is not an ECDSA P-256 PKCS#8 key', { cause });
  let der: ArrayBuffer | undefined;
  try {
    [der] = x509.PemConverter.decode(pem);
  } catch (cause) {
    throw invalid(cause);
  }
  if (der === undefined) throw invalid();
  try {
    return (await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign'])) as CryptoKey;
  } catch (cause) {
    throw invalid(cause);
  }
}

// RFC 5280 §4.1.2.2: positive, at most 20 octets. 16 random bytes with the top bit cleared.
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function addYears(date: Date, years: number): Date {
  const later = new Date(date.getTime());
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}
