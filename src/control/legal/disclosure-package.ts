import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

/** AES-256 (zip.js `encryptionStrength` 3, WinZip AE-2): readable with `7z x -p<password>`. */
const AES_256 = 3;
export const MANIFEST_FILE = 'manifest.json';
/** The raw 64-byte Ed25519 signature (RFC 8032) over the bytes of `manifest.json`. */
export const SIGNATURE_FILE = 'manifest.json.sig';
/** The signer's public key (SPKI PEM), for convenience: check it against the operator's key. */
export const PUBLIC_KEY_FILE = 'signer.pub.pem';

export interface PackageSigner {
  /** The control node's verifier key text (`glasshouse ledger key --node control`). */
  readonly verifierKey: string;
  readonly publicKeyPem: string;
  sign(bytes: Buffer): Buffer;
}

/** The control plane's Ed25519 key, the one that signs its log's checkpoints. */
export function packageSignerFromPem(pem: string, verifierKey: string): PackageSigner {
  const privateKey: KeyObject = createPrivateKey({ key: pem, format: 'pem' });
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { verifierKey, publicKeyPem, sign: (bytes) => sign(null, bytes, privateKey) };
}

export interface WrittenPackage {
  /** Shown once, in the answer to `fulfil`; never stored. */
  readonly password: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly files: readonly string[];
}

/**
 * Writes a disclosure package: every file, a manifest that lists them with their SHA-256
 * and is signed by the control node, in one zip whose entries are AES-256 encrypted under
 * a fresh random password. Written to a temporary name, synced, then renamed, so `path`
 * holds a complete package or nothing.
 *
 * @example
 * const { password } = await writeDisclosurePackage(files, { request: id }, signer, '/data/control/legal/packages/id.zip');
 */
export async function writeDisclosurePackage(
  files: ReadonlyMap<string, Buffer>,
  manifestFields: Readonly<Record<string, unknown>>,
  signer: PackageSigner,
  path: string,
): Promise<WrittenPackage> {
  const manifest = Buffer.from(
    `${JSON.stringify(
      {
        ...manifestFields,
        files: [...files].map(([name, bytes]) => ({ name, sha256: sha256(bytes), bytes: bytes.length })),
        signature: { algorithm: 'Ed25519', file: SIGNATURE_FILE, verifierKey: signer.verifierKey },
      },
      null,
      2,
    )}\n`,
  );
  const password = randomBytes(24).toString('base64url');
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false });
  const entries = new Map<string, Buffer>([
    ...files,
    [MANIFEST_FILE, manifest],
    [SIGNATURE_FILE, signer.sign(manifest)],
    [PUBLIC_KEY_FILE, Buffer.from(signer.publicKeyPem)],
  ]);
  for (const [name, bytes] of entries) {
    await writer.add(name, new Uint8ArrayReader(bytes), { password, encryptionStrength: AES_256 });
  }
  const zip = Buffer.from(await writer.close());
  await writeDurably(path, zip);
  return { password, sha256: sha256(zip), bytes: zip.length, files: [...entries.keys()] };
}

async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
