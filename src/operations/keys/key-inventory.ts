import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { keysDirectory } from '../../config/data-dir.js';
import {
  masterKeyFiles,
  readKeyFile,
  readMasterKeyMeta,
  readRotationState,
} from '../../config/master-key-files.js';
import { pkiDirectory } from '../../pki/deployment-pki.js';

export type KeyKind = 'site-master' | 'log-signing' | 'tls-ca';

/** One key of a data directory as an inventory shows it: its identity, never its material. */
export interface KeyRecord {
  readonly kind: KeyKind;
  /** The site or node it belongs to (`control` for the control plane). */
  readonly node: string;
  /** A master key's id (`mk-…`), or the first 8 bytes of SHA-256 of a public key (SPKI), hex. */
  readonly id: string;
  readonly created: string;
  readonly ageDays: number;
  /** Master keys: when the rotation that made this key finished; null if it never was rotated to. */
  readonly lastRotation: string | null;
  /** Master keys: the id of the key a rotation under way moves to. */
  readonly rotatingTo?: string;
  /** The file, relative to the data directory. */
  readonly file: string;
}

const DAY_MS = 86_400_000;

/**
 * Every key of a data directory: each site's master key (with its id, creation and last
 * rotation), each node's log signing key and the deployment CA's key (read-only facts: id,
 * created). Reads files only; safe while a server runs.
 *
 * @example
 * listKeys('./glasshouse-data', new Date()); // [{ kind: 'site-master', node: 'zurich', id: 'mk-…', … }]
 */
export function listKeys(dataDir: string, now: Date): KeyRecord[] {
  const keysDir = keysDirectory(dataDir);
  const records: KeyRecord[] = [];
  const names = existsSync(keysDir) ? readdirSync(keysDir).sort() : [];
  const age = (created: string) => Math.max(0, Math.floor((now.getTime() - Date.parse(created)) / DAY_MS));
  for (const name of names) {
    const master = /^(.+)\.master\.key$/.exec(name);
    if (master !== null && !name.endsWith('.master.next.key')) {
      const node = master[1]!;
      const files = masterKeyFiles(keysDir, node);
      const meta = readMasterKeyMeta(files, readKeyFile(files.key));
      const rotation = readRotationState(files);
      records.push({
        kind: 'site-master',
        node,
        id: meta.id,
        created: meta.created,
        ageDays: age(meta.created),
        lastRotation: meta.rotated ?? null,
        ...(rotation === undefined ? {} : { rotatingTo: rotation.to }),
        file: join('keys', name),
      });
    }
    const signing = /^(.+)\.ed25519\.pem$/.exec(name);
    if (signing !== null) {
      records.push(publicKeyRecord('log-signing', signing[1]!, join(keysDir, name), join('keys', name), age));
    }
  }
  const caKey = join(pkiDirectory(dataDir), 'ca-key.pem');
  if (existsSync(caKey))
    records.push(publicKeyRecord('tls-ca', 'control', caKey, join('pki', 'ca-key.pem'), age));
  return records;
}

function publicKeyRecord(
  kind: KeyKind,
  node: string,
  file: string,
  relative: string,
  age: (created: string) => number,
): KeyRecord {
  const spki = createPublicKey(createPrivateKey(readFileSync(file, 'utf8'))).export({
    type: 'spki',
    format: 'der',
  });
  const created = statSync(file).mtime.toISOString();
  return {
    kind,
    node,
    id: createHash('sha256').update(spki).digest('hex').slice(0, 16),
    created,
    ageDays: age(created),
    lastRotation: null,
    file: relative,
  };
}
