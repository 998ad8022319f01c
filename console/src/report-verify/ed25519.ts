import { verifyAsync } from '@noble/ed25519';

/*
 * Ed25519 verification with WebCrypto, and with @noble/ed25519 where the browser's WebCrypto
 * has no Ed25519 (older Safari and Firefox): the same RFC 8032 check either way.
 */

let webCrypto: boolean | undefined;

async function hasWebCryptoEd25519(publicKey: Uint8Array<ArrayBuffer>): Promise<boolean> {
  if (webCrypto === undefined) {
    try {
      await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      webCrypto = true;
    } catch (error) {
      // A key the browser refuses as such is refused by the fallback too; only a missing algorithm falls back.
      webCrypto = !(error instanceof DOMException && error.name === 'NotSupportedError');
    }
  }
  return webCrypto;
}

/** Whether `signature` is `publicKey`'s Ed25519 signature of `message`. */
export async function verifyEd25519(
  publicKey: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
  message: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  if (await hasWebCryptoEd25519(publicKey)) {
    try {
      const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    } catch {
      return false;
    }
  }
  return verifyAsync(signature, message, publicKey).catch(() => false);
}
