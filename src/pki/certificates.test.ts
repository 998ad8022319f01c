import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { readBundle, writeBundle } from './bundle.js';
import {
  CA_VALIDITY_YEARS,
  createCertificateAuthority,
  issueCertificate,
  type KeyPairPem,
  LEAF_VALIDITY_YEARS,
  peerIdentity,
  type TlsMaterial,
} from './certificates.js';
import { PkiError } from './pki-errors.js';

const ISSUED_AT = new Date('2026-03-01T09:00:00.000Z');
const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-pki-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs one mutual-TLS handshake on 127.0.0.1; resolves with what each side saw of the other. */
async function handshake(server: TlsMaterial, client: TlsMaterial) {
  const tlsServer = createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.end(JSON.stringify(peerIdentity(socket.getPeerX509Certificate() as X509Certificate)));
  });
  // A refused handshake surfaces on the server as a tlsClientError; the client's error is the verdict.
  tlsServer.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const { port } = tlsServer.address() as AddressInfo;
  try {
    return await new Promise<{ serverSaw: unknown; clientSaw: unknown }>((resolve, reject) => {
      const socket: TLSSocket = connect({ ...client, host: '127.0.0.1', port }, () => {
        const clientSaw = peerIdentity(socket.getPeerX509Certificate() as X509Certificate);
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk;
        });
        // Under TLS 1.3 the client finishes first; a server that refuses its certificate hangs up unanswered.
        socket.on('end', () =>
          text === ''
            ? reject(new Error('refused by the server'))
            : resolve({ serverSaw: JSON.parse(text), clientSaw }),
        );
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('closed before an answer')));
    });
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

// The handshake checks validity against the machine's clock, so these pairs are issued now.
async function deployment(name: string) {
  const now = new Date();
  const ca = await createCertificateAuthority(name, now);
  const control = await issueCertificate(ca, { role: 'control', name: 'control', hosts: [] }, now);
  const zurich = await issueCertificate(ca, { role: 'site', name: 'zurich', hosts: ['127.0.0.1'] }, now);
  const bundle = (pair: KeyPairPem): TlsMaterial => ({ ca: ca.cert, ...pair });
  return { ca, control: bundle(control), zurich: bundle(zurich) };
}

describe('certificates', () => {
  describe('when two peers of one deployment connect', () => {
    it('completes a mutual-TLS handshake and each reads the other identity', async () => {
      const { control, zurich } = await deployment('acme-test');
      const { serverSaw, clientSaw } = await handshake(zurich, control);
      expect(serverSaw).toEqual({ role: 'control', name: 'control' });
      expect(clientSaw).toEqual({ role: 'site', name: 'zurich' });
    });
  });

  describe('when a peer presents a certificate of another deployment', () => {
    it('fails the handshake on either side', async () => {
      const ours = await deployment('acme-test');
      const theirs = await deployment('acme-test');
      const stranger: TlsMaterial = { ...theirs.control, ca: ours.ca.cert };
      await expect(handshake(ours.zurich, stranger)).rejects.toThrow();
      await expect(handshake({ ...theirs.zurich, ca: ours.ca.cert }, ours.control)).rejects.toThrow();
    });
  });

  describe('when a certificate is issued', () => {
    it('writes the subject, SANs, usages and validity from the given clock', async () => {
      const ca = await createCertificateAuthority('acme-test', ISSUED_AT);
      const leaf = await issueCertificate(
        ca,
        { role: 'site', name: 'geneva', hosts: ['geneva.example', '10.1.2.3'] },
        ISSUED_AT,
      );
      const caCert = new X509Certificate(ca.cert);
      const cert = new X509Certificate(leaf.cert);
      expect(caCert.ca).toBe(true);
      expect(cert.ca).toBe(false);
      expect(cert.subject.split('\n')).toEqual(['CN=geneva', 'OU=site', 'O=acme-test']);
      expect(cert.subjectAltName).toBe('DNS:geneva.example, IP Address:10.1.2.3');
      expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
      expect(cert.checkIssued(caCert)).toBe(true);
      expect(cert.verify(caCert.publicKey)).toBe(true);
      expect(new Date(cert.validFrom)).toEqual(ISSUED_AT);
      expect(new Date(cert.validTo).getUTCFullYear()).toBe(2026 + LEAF_VALIDITY_YEARS);
      expect(new Date(caCert.validTo).getUTCFullYear()).toBe(2026 + CA_VALIDITY_YEARS);
      expect(createPrivateKey(leaf.key).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
      expect(leaf.key).toContain('-----BEGIN PRIVATE KEY-----');
    });

    it('names 127.0.0.1 and localhost when no host is given, and a fresh serial each time', async () => {
      const ca = await createCertificateAuthority('acme-test', ISSUED_AT);
      const subject = { role: 'control', name: 'control', hosts: [] } as const;
      const [a, b] = await Promise.all([
        issueCertificate(ca, subject, ISSUED_AT),
        issueCertificate(ca, subject, ISSUED_AT),
      ]);
      expect(new X509Certificate(a.cert).subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
      expect(new X509Certificate(a.cert).serialNumber).not.toBe(new X509Certificate(b.cert).serialNumber);
    });

    it('refuses a name a subject could not carry plainly', async () => {
      const ca = await createCertificateAuthority('acme-test', ISSUED_AT);
      await expect(
        issueCertificate(ca, { role: 'site', name: 'zurich\nOU=control', hosts: [] }, ISSUED_AT),
      ).rejects.toMatchObject({ code: 'INVALID_SUBJECT' });
      await expect(
        issueCertificate(ca, { role: 'site', name: 'zurich', hosts: ['not a host'] }, ISSUED_AT),
      ).rejects.toBeInstanceOf(PkiError);
    });
  });

  describe('when the CA key is not one', () => {
    it('refuses with INVALID_CA', async () => {
      const ca = await createCertificateAuthority('acme-test', ISSUED_AT);
      const subject = { role: 'site', name: 'zurich', hosts: [] } as const;
      for (const key of ['not a key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']) {
        await expect(issueCertificate({ ...ca, key }, subject, ISSUED_AT)).rejects.toMatchObject({
          code: 'INVALID_CA',
        });
      }
    });
  });

  describe('peerIdentity', () => {
    it('is undefined for the CA, which names no role', async () => {
      const ca = await createCertificateAuthority('acme-test', ISSUED_AT);
      expect(peerIdentity(ca.cert)).toBeUndefined();
    });
  });
});

describe('bundle', () => {
  it('writes the key owner-only in an owner-only folder and reads the bundle back', async () => {
    const { zurich } = await deployment('acme-test');
    const dir = join(scratch, 'zurich');
    writeBundle(dir, zurich);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readBundle(dir)).toEqual(zurich);
  });

  it('names the missing file when a bundle is incomplete', async () => {
    const { zurich } = await deployment('acme-test');
    const dir = join(scratch, 'incomplete');
    writeBundle(dir, zurich);
    chmodSync(join(dir, 'key.pem'), 0o600);
    unlinkSync(join(dir, 'key.pem'));
    expect(() => readBundle(dir)).toThrow(/key\.pem/);
    expect(() => readBundle(dir)).toThrow(expect.objectContaining({ code: 'BUNDLE_INCOMPLETE' }));
  });
});
