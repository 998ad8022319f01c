import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBundle, writeBundle } from './bundle.js';
import {
  createCertificateAuthority,
  issueCertificate,
  type KeyPairPem,
  type PeerRole,
  type TlsMaterial,
} from './certificates.js';
import { PkiError } from './pki-errors.js';

/**
 * The deployment's certificate authority lives with the control plane, in `<data>/pki/`:
 * `ca.pem`, `ca-key.pem` (0600) and the control plane's own bundle in `control/`.
 */
export function pkiDirectory(dataDir: string): string {
  return join(dataDir, 'pki');
}

/** The control plane's TLS bundle (role control), used to reach every site. */
export function controlBundleDirectory(dataDir: string): string {
  return join(pkiDirectory(dataDir), 'control');
}

const CA_CERT = 'ca.pem';
const CA_KEY = 'ca-key.pem';

export interface PkiInitResult {
  readonly deployment: string;
  /** Every file written, relative to the data directory. */
  readonly written: readonly string[];
}

/**
 * Creates the deployment's CA and the control plane's bundle under `<data>/pki/`. Refuses
 * (`PKI_EXISTS`) when a CA is there already: a new CA would orphan every site certificate.
 *
 * @example
 * await initPki('./glasshouse-data', 'acme-prod', new Date());
 */
export async function initPki(dataDir: string, deployment: string, now: Date): Promise<PkiInitResult> {
  const dir = pkiDirectory(dataDir);
  if (existsSync(join(dir, CA_CERT)) || existsSync(join(dir, CA_KEY))) {
    throw new PkiError(
      'PKI_EXISTS',
      `${dir} already holds a certificate authority; it is never replaced (issue site certificates with \`glasshouse pki issue\`)`,
    );
  }
  const ca = await createCertificateAuthority(deployment, now);
  const control = await issueCertificate(ca, { role: 'control', name: 'control', hosts: [] }, now);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, CA_CERT), ca.cert, { mode: 0o644, flag: 'wx' });
  writeFileSync(join(dir, CA_KEY), ca.key, { mode: 0o600, flag: 'wx' });
  writeBundle(controlBundleDirectory(dataDir), { ca: ca.cert, ...control });
  return {
    deployment,
    written: [
      'pki/ca.pem',
      'pki/ca-key.pem',
      'pki/control/ca.pem',
      'pki/control/cert.pem',
      'pki/control/key.pem',
    ],
  };
}

/**
 * Issues a certificate signed by the deployment's CA and writes it as a bundle folder `out`
 * (`ca.pem`, `cert.pem`, `key.pem`), to carry to the peer's machine. Refuses (`PKI_EXISTS`)
 * an `out` folder that is not empty.
 *
 * @example
 * await issueBundle('./glasshouse-data', { role: 'site', name: 'zurich', hosts: ['zurich.internal'] }, './zurich-tls', new Date());
 */
export async function issueBundle(
  dataDir: string,
  subject: { readonly role: PeerRole; readonly name: string; readonly hosts: readonly string[] },
  out: string,
  now: Date,
): Promise<TlsMaterial> {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new PkiError('PKI_EXISTS', `${out} is not empty; give a new folder for the bundle`);
  }
  const ca = readCertificateAuthority(dataDir);
  const material = { ca: ca.cert, ...(await issueCertificate(ca, subject, now)) };
  writeBundle(out, material);
  return material;
}

/** The control plane's own bundle, or `PKI_NOT_FOUND` saying to run `pki init`. */
export function readControlBundle(dataDir: string): TlsMaterial {
  const dir = controlBundleDirectory(dataDir);
  if (!existsSync(dir)) {
    throw new PkiError('PKI_NOT_FOUND', `no control TLS bundle in ${dir}; run \`glasshouse pki init\` first`);
  }
  return readBundle(dir);
}

function readCertificateAuthority(dataDir: string): KeyPairPem {
  const dir = pkiDirectory(dataDir);
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (cause) {
      throw new PkiError(
        'PKI_NOT_FOUND',
        `no certificate authority in ${dir} (${name}); run \`glasshouse pki init\` first`,
        { cause },
      );
    }
  };
  return { cert: read(CA_CERT), key: read(CA_KEY) };
}
