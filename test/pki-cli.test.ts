import { X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { peerIdentity } from '../src/pki/certificates.js';
import { runCli } from './support/cli.js';

/*
 * `glasshouse pki`: the deployment's own certificate authority, kept with the control plane,
 * and the site bundles it issues for `glasshouse site`.
 */

const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-pki-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const dataDir = join(scratch, 'control');
const mode = (path: string) => statSync(path).mode & 0o777;
const certOf = (path: string) => new X509Certificate(readFileSync(path));

describe('glasshouse pki init', () => {
  describe('when the data directory is new', () => {
    it('creates the CA, the control bundle and a control-only data directory named after the deployment', () => {
      const result = runCli(['pki', 'init', '--data', dataDir, '--deployment', 'acme-test', '--json']);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        dataDir,
        deployment: 'acme-test',
        written: [
          'pki/ca.pem',
          'pki/ca-key.pem',
          'pki/control/ca.pem',
          'pki/control/cert.pem',
          'pki/control/key.pem',
        ],
      });
      const ca = certOf(join(dataDir, 'pki', 'ca.pem'));
      expect(ca.ca).toBe(true);
      expect(ca.subject).toContain('O=acme-test');
      expect(mode(join(dataDir, 'pki'))).toBe(0o700);
      expect(mode(join(dataDir, 'pki', 'ca-key.pem'))).toBe(0o600);
      expect(mode(join(dataDir, 'pki', 'control'))).toBe(0o700);
      expect(mode(join(dataDir, 'pki', 'control', 'key.pem'))).toBe(0o600);
      const control = certOf(join(dataDir, 'pki', 'control', 'cert.pem'));
      expect(peerIdentity(control)).toEqual({ role: 'control', name: 'control' });
      expect(control.checkIssued(ca)).toBe(true);
      // The config names the deployment the CA is for; no site key lives with the control plane.
      const config = parseYaml(readFileSync(join(dataDir, 'config.yaml'), 'utf8')) as { deployment: string };
      expect(config.deployment).toBe('acme-test');
      expect(readdirSync(join(dataDir, 'keys'))).toEqual(['control.ed25519.pem']);
    });
  });

  describe('when the CA exists', () => {
    it('refuses to replace it and leaves it as it was', () => {
      const before = readFileSync(join(dataDir, 'pki', 'ca-key.pem'), 'utf8');
      const result = runCli(['pki', 'init', '--data', dataDir]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/already holds a certificate authority.*\[PKI_EXISTS\]/);
      expect(readFileSync(join(dataDir, 'pki', 'ca-key.pem'), 'utf8')).toBe(before);
    });
  });

  describe('when --deployment contradicts the data directory', () => {
    it('is a usage error', () => {
      const other = join(scratch, 'other');
      expect(runCli(['pki', 'init', '--data', other, '--deployment', 'first']).status).toBe(0);
      rmSync(join(other, 'pki'), { recursive: true });
      const result = runCli(['pki', 'init', '--data', other, '--deployment', 'second']);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('is deployment first');
    });
  });
});

describe('glasshouse pki issue', () => {
  describe('when a site bundle is issued', () => {
    it('writes ca.pem, cert.pem and key.pem (0600) for the site, signed by the CA, naming its hosts', () => {
      const out = join(scratch, 'zurich-tls');
      const result = runCli([
        'pki',
        'issue',
        '--data',
        dataDir,
        '--site',
        'zurich',
        '--host',
        'zurich.example',
        '--host',
        '10.0.0.5',
        '--out',
        out,
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(
        'issued the certificate of site zurich (hosts zurich.example, 10.0.0.5)',
      );
      expect(readdirSync(out).sort()).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
      expect(mode(out)).toBe(0o700);
      expect(mode(join(out, 'key.pem'))).toBe(0o600);
      expect(readFileSync(join(out, 'ca.pem'), 'utf8')).toBe(
        readFileSync(join(dataDir, 'pki', 'ca.pem'), 'utf8'),
      );
      const cert = certOf(join(out, 'cert.pem'));
      expect(peerIdentity(cert)).toEqual({ role: 'site', name: 'zurich' });
      expect(cert.subjectAltName).toBe('DNS:zurich.example, IP Address:10.0.0.5');
      expect(cert.checkIssued(certOf(join(dataDir, 'pki', 'ca.pem')))).toBe(true);
    });

    it('names 127.0.0.1 and localhost when no --host is given', () => {
      const out = join(scratch, 'moscow-tls');
      const result = runCli(['pki', 'issue', '--data', dataDir, '--site', 'moscow', '--out', out, '--json']);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ site: 'moscow', hosts: ['127.0.0.1', 'localhost'], out });
      expect(certOf(join(out, 'cert.pem')).subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    });
  });

  describe('when --out is a folder that is not empty', () => {
    it('refuses and touches nothing in it', () => {
      const out = join(scratch, 'occupied');
      mkdirSync(out);
      writeFileSync(join(out, 'notes.txt'), 'mine');
      const result = runCli(['pki', 'issue', '--data', dataDir, '--site', 'zurich', '--out', out]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/is not empty.*\[PKI_EXISTS\]/);
      expect(readdirSync(out)).toEqual(['notes.txt']);
    });
  });

  describe('when the data directory has no CA', () => {
    it('says to run pki init', () => {
      const result = runCli([
        'pki',
        'issue',
        '--data',
        join(scratch, 'none'),
        '--site',
        'zurich',
        '--out',
        join(scratch, 'x'),
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/glasshouse pki init.*\[PKI_NOT_FOUND\]/);
      expect(existsSync(join(scratch, 'x'))).toBe(false);
    });
  });

  describe('when the site name could not be a certificate subject', () => {
    it('refuses it', () => {
      const result = runCli([
        'pki',
        'issue',
        '--data',
        dataDir,
        '--site',
        'Zurich,OU=control',
        '--out',
        join(scratch, 'bad'),
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('[INVALID_SUBJECT]');
    });
  });
});
