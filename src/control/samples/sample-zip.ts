import { Readable } from 'node:stream';
import { ZipWriter, type ZipWriterAddDataOptions, type ZipWriterConstructorOptions } from '@zip.js/zip.js';
import { GlasshouseError } from '../../shared/errors.js';

/**
 * The password public malware repositories (MalwareBazaar, VirusShare, theZoo) put on their archives.
 * It protects nobody from the content; it stops mail gateways, antivirus and careless double-clicks
 * from unpacking a live sample.
 */
export const SAMPLE_ZIP_PASSWORD = 'infected';

export type SampleZipErrorCode = 'SAMPLE_SIZE_MISMATCH' | 'UNSAFE_ENTRY_NAME';
export class SampleZipError extends GlasshouseError<SampleZipErrorCode> {}

export interface ZipSampleOptions {
  /** The name of the single entry, normally the SHA-256 of the sample in lowercase hex. */
  readonly entryName: string;
  /**
   * The plaintext size, when the vault knows it. It lets zip.js write a plain (non-Zip64) header
   * below 4 GiB and switch to Zip64 above, and it is enforced: a stream that ends short or runs long
   * fails the archive.
   */
  readonly size?: number;
  readonly lastModified?: Date;
  /**
   * Deflate before encrypting. Off by default: most samples are packed and do not shrink, and on
   * incompressible data deflate cut throughput from ~135 to ~37 MiB/s in our measurements.
   */
  readonly compress?: boolean;
}

const WRITER_OPTIONS: Readonly<ZipWriterConstructorOptions> = Object.freeze({
  // zip.js's workers are Web Workers, which Node 20 does not have.
  useWebWorkers: false,
});

// Deflate keeps zip.js's default level: any explicit one, even 1, swaps the native CompressionStream
// (zlib, off the event loop) for zip.js's WebAssembly deflate on the main thread, which measured no
// faster. Empty samples are deflated too: zip.js 2.24 writes a stored, AES-encrypted empty entry
// without its salt and authentication code, which 7-Zip rejects as a header error, whereas deflate
// always emits a final block for the cipher to wrap.
const STORE_LEVEL = 0;

// AES-256, AE-2: zip.js then writes a CRC-32 of 0, so the archive discloses nothing that would let
// someone confirm a guess about the content without the password.
const AES_256 = 3;

/**
 * Streams `plaintext` out as an AES-256 encrypted zip holding one entry, readable with
 * `7z x -pinfected`. Memory stays bounded: the plaintext is pulled only as fast as the returned
 * stream is read.
 *
 * The returned stream errors, and never ends cleanly, if the plaintext errors or does not match
 * `size`, so a failed read cannot pass for a complete archive. Destroying the returned stream
 * destroys `plaintext`.
 *
 * @example
 * const zip = zipSample(vault.openPlaintext(sha256), { entryName: sha256, size });
 * await pipeline(zip, reply.raw);
 */
export function zipSample(plaintext: Readable, options: ZipSampleOptions): Readable {
  assertPlainFileName(options.entryName);
  const archive = new TransformStream<Uint8Array, Uint8Array>();
  const output = Readable.fromWeb(archive.readable);
  // A consumer that goes away must release the vault's file handle, not leave it paused forever.
  output.once('close', () => plaintext.destroy());
  writeArchive(plaintext, archive.writable, options).catch((error: unknown) => {
    plaintext.destroy();
    output.destroy(toError(error));
  });
  return output;
}

async function writeArchive(
  plaintext: Readable,
  destination: WritableStream<Uint8Array>,
  options: ZipSampleOptions,
): Promise<void> {
  const chunks: AsyncIterator<Uint8Array> = plaintext[Symbol.asyncIterator]();
  const first = await chunks.next();
  const zipWriter = new ZipWriter(destination, WRITER_OPTIONS);
  const content = pullFrom(first, chunks);
  await zipWriter.add(
    options.entryName,
    options.size === undefined ? content : content.pipeThrough(enforceSize(options.size)),
    entryOptions(options, first.done === true),
  );
  // Only reached when the entry is complete: the central directory is what makes the bytes a zip.
  await zipWriter.close();
}

/**
 * Node 20's `Readable.toWeb` throws an uncaught "Controller is already closed" when the readable
 * emits data after the web stream was cancelled, which is what a consumer going away does. Pulling
 * from the async iterator avoids that and reads no further ahead than zip.js asks.
 */
function pullFrom(
  first: IteratorResult<Uint8Array>,
  rest: AsyncIterator<Uint8Array>,
): ReadableStream<Uint8Array> {
  let peeked: IteratorResult<Uint8Array> | undefined = first;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = peeked ?? (await rest.next());
        peeked = undefined;
        if (next.done === true) {
          controller.close();
        } else {
          controller.enqueue(next.value);
        }
      },
      async cancel() {
        await rest.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

function entryOptions(options: ZipSampleOptions, empty: boolean): ZipWriterAddDataOptions {
  return {
    password: SAMPLE_ZIP_PASSWORD,
    encryptionStrength: AES_256,
    ...(options.compress === true || empty ? {} : { level: STORE_LEVEL }),
    // Unknown sizes make zip.js reserve Zip64 fields; a known one lets it decide from the worst case.
    ...(options.size === undefined ? {} : { uncompressedSize: options.size }),
    ...(options.lastModified === undefined ? {} : { lastModDate: options.lastModified }),
  };
}

/** Fails the stream when the vault delivers other than the number of bytes it recorded. */
function enforceSize(expected: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > expected) {
        throw sizeMismatch(expected, seen);
      }
      controller.enqueue(chunk);
    },
    flush() {
      if (seen !== expected) {
        throw sizeMismatch(expected, seen);
      }
    },
  });
}

function sizeMismatch(expected: number, seen: number): SampleZipError {
  return new SampleZipError('SAMPLE_SIZE_MISMATCH', 'the sample stream does not match its recorded size', {
    details: { expected, seen },
  });
}

// Analysts run `7z x` on these archives; a name with a path in it could write outside their folder.
function assertPlainFileName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new SampleZipError('UNSAFE_ENTRY_NAME', 'the entry name must be a plain file name', {
      details: { name },
    });
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}
