/**
 * File I/O around the page cache (O_DIRECT) for the blob-file workers, where the platform and
 * file system allow it. A relocation writes gigabytes nobody reads soon: through the page
 * cache, the kernel copied every byte into fresh pages and wrote them back at fsync, and the
 * read-back that verifies a copy read those cached pages, not the device. Direct, the bytes go
 * from our buffer to the device and the read-back reads the device. Where O_DIRECT is refused
 * (tmpfs without it, macOS, a misaligned transfer) the same calls run buffered.
 *
 * O_DIRECT wants the buffer's address, the file offset and the length aligned to the logical
 * block size (512 or 4096 bytes): buffers here are WebAssembly memories, which V8 maps
 * page-aligned (a Node Buffer is only 16-byte aligned), and every transfer but a file's last
 * read is a multiple of 4096 bytes.
 */
import { closeSync, constants, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

const ALIGNMENT = 4096;
const WASM_PAGE = 65536;
/** Bytes moved per system call, and the size of the workers' buffers. */
export const DIRECT_CHUNK = 1 << 20;
const O_DIRECT: number = constants.O_DIRECT ?? 0;

// The global exists in Node; our `lib` setting (no DOM) does not declare it.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
};

/** A page-aligned buffer of `size` bytes (a multiple of 64 KiB). */
export function alignedBuffer(size: number): Buffer {
  if (size <= 0 || size % WASM_PAGE !== 0) {
    throw new RangeError(`aligned buffers are a positive multiple of ${WASM_PAGE} bytes, not ${size}`);
  }
  const pages = size / WASM_PAGE;
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
}

/** A descriptor opened with O_DIRECT if possible, reopened buffered when a transfer is refused. */
class File {
  fd: number;
  #direct: boolean;

  constructor(
    readonly path: string,
    flags: number,
    options: { readonly mode?: number; readonly direct?: boolean } = {},
  ) {
    const { mode, direct = true } = options;
    this.#direct = false;
    if (direct && O_DIRECT !== 0) {
      try {
        this.fd = openSync(path, flags | O_DIRECT, mode);
        this.#direct = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      }
    }
    this.fd = openSync(path, flags, mode);
  }

  /**
   * Runs one transfer; if O_DIRECT refuses it (EINVAL), reopens the file buffered (keeping the
   * access mode, without create or exclusive) and runs it again.
   */
  transfer(run: (fd: number) => number, reopenFlags: number): number {
    try {
      return run(this.fd);
    } catch (error) {
      if (!this.#direct || (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      closeSync(this.fd);
      this.#direct = false;
      this.fd = openSync(this.path, reopenFlags);
      return run(this.fd);
    }
  }

  get direct(): boolean {
    return this.#direct;
  }
}

/**
 * Writes a new file (it must not exist) from pieces of any size, staged into an aligned buffer
 * and written a whole buffer at a time; `finish` pads the tail to the alignment, writes it and
 * truncates the file to the bytes appended. Not durable on its own: the caller's fsync is.
 */
export class DirectFileWriter {
  readonly #file: File;
  readonly #stage: Buffer;
  #filled = 0;
  #position = 0;
  #closed = false;

  /** `stage` is the writer's while it is open: aligned, a multiple of 4096 bytes long. */
  constructor(path: string, stage: Buffer) {
    if (stage.length === 0 || stage.length % ALIGNMENT !== 0) {
      throw new RangeError(`the staging buffer must be a multiple of ${ALIGNMENT} bytes`);
    }
    this.#stage = stage;
    this.#file = new File(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, { mode: 0o600 });
  }

  /** Whether the file is written around the page cache (for tests and diagnostics). */
  get direct(): boolean {
    return this.#file.direct;
  }

  append(piece: Buffer): void {
    for (let offset = 0; offset < piece.length; ) {
      const copied = piece.copy(this.#stage, this.#filled, offset);
      this.#filled += copied;
      offset += copied;
      if (this.#filled === this.#stage.length) this.#flush(this.#stage.length);
    }
  }

  /** Writes what is staged and sets the file's length; the descriptor is closed either way. */
  finish(): void {
    try {
      const length = this.#position + this.#filled;
      if (this.#filled > 0) {
        const padded = Math.ceil(this.#filled / ALIGNMENT) * ALIGNMENT;
        this.#stage.fill(0, this.#filled, padded);
        this.#flush(padded);
        ftruncateSync(this.#file.fd, length);
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#file.fd);
  }

  #flush(length: number): void {
    for (let done = 0; done < length; ) {
      // A buffered write may be short: go on from where it stopped.
      done += this.#file.transfer(
        (fd) => writeSync(fd, this.#stage, done, length - done, this.#position + done),
        constants.O_WRONLY,
      );
    }
    this.#position += length;
    this.#filled = 0;
  }
}

/**
 * Reads a whole file through an aligned buffer (a multiple of 4096 bytes long), handing each
 * chunk read to `onChunk`: a view into the buffer, valid until it returns. With
 * `{ direct: false }` the file is read through the page cache, with its read-ahead.
 */
export function readWholeFile(
  path: string,
  buffer: Buffer,
  onChunk: (chunk: Buffer) => void,
  options: { readonly direct?: boolean } = {},
): void {
  if (buffer.length === 0 || buffer.length % ALIGNMENT !== 0) {
    throw new RangeError(`the read buffer must be a multiple of ${ALIGNMENT} bytes`);
  }
  const file = new File(path, constants.O_RDONLY, { direct: options.direct !== false });
  try {
    for (let position = 0; ; ) {
      const n = readFull(file, buffer, position);
      if (n > 0) onChunk(buffer.subarray(0, n));
      if (n < buffer.length) return;
      position += n;
    }
  } finally {
    closeSync(file.fd);
  }
}

/** Fills the buffer from `position` unless the file ends first; returns the bytes read. */
function readFull(file: File, buffer: Buffer, position: number): number {
  let filled = 0;
  while (filled < buffer.length) {
    const n = file.transfer(
      (fd) => readSync(fd, buffer, filled, buffer.length - filled, position + filled),
      constants.O_RDONLY,
    );
    if (n === 0) break;
    filled += n;
    // A read that stops off the alignment is at the end of the file; reading on would be misaligned.
    if (filled % ALIGNMENT !== 0) break;
  }
  return filled;
}
