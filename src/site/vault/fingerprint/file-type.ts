import { fileTypeFromBuffer } from 'file-type';

/** What the magic-byte detection reads: enough for every format it knows by its header. */
export const FILE_TYPE_HEAD_BYTES = 64 * 1024;
export const UNKNOWN_FILE_TYPE = 'application/octet-stream';
const TEXT_FILE_TYPE = 'text/plain';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The sample's media type from its first bytes: the magic numbers `file-type` knows (a PE
 * executable is `application/x-msdownload`, an ELF one `application/x-elf`), else
 * `text/plain` for UTF-8 text without NUL bytes (scripts), else `application/octet-stream`.
 *
 * @example
 * await sniffFileType(head); // 'application/pdf'
 */
export async function sniffFileType(head: Uint8Array): Promise<string> {
  const detected = await fileTypeFromBuffer(head);
  if (detected !== undefined) return detected.mime;
  return looksLikeText(head) ? TEXT_FILE_TYPE : UNKNOWN_FILE_TYPE;
}

function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0 || head.includes(0)) return false;
  // The head may end inside a multi-byte character: drop up to three trailing bytes of one.
  for (let cut = 0; cut < 4 && cut < head.length; cut += 1) {
    try {
      strictUtf8.decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      if (head.length < FILE_TYPE_HEAD_BYTES) return false;
    }
  }
  return false;
}
