const BASE64_ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Decodes standard, padded base64 (RFC 4648 §4, which C2SP signed-note and tlog-checkpoint
 * use) and refuses every other spelling. Node's decoder skips junk and ignores non-zero pad
 * bits, which would let one signature or root hash be written several ways.
 */
export function decodeCanonicalBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64_ALPHABET.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * C2SP signed-note §Format: a signed note is valid UTF-8 with no ASCII control character
 * other than newline. A JavaScript string is UTF-8 once it has no lone surrogate (which the
 * encoder would silently turn into U+FFFD, so the bytes signed would not be the text given).
 */
export function isNoteSafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x20 && unit !== 0x0a) return false;
  }
  return !LONE_SURROGATE.test(text);
}

/** Decodes bytes as strict UTF-8, keeping a leading BOM (it is part of the signed text). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
