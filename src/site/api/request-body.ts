import { type Readable, Transform } from 'node:stream';
import { VaultError } from '../../shared/vault-errors.js';

/** What {@link limitedBody} gathers before passing bytes on. */
const GATHERED_CHUNK_BYTES = 256 * 1024;

/**
 * A request body as a stream in bounded memory, refused past `limit` bytes (Fastify's
 * `bodyLimit` does not apply to a parser that hands the raw stream through). It is a stage
 * between the socket and the site: when the site stops early (too large, unknown
 * installation, a sample it holds already) it destroys this stage, not the request, so the
 * answer can still be sent.
 */
export function limitedBody(request: Readable, limit: number): Readable {
  let seen = 0;
  // Over TLS the socket hands out a record at a time (16 KiB at most); each chunk costs the
  // site a message to its sealing worker and a hash update per digest. Gathered into larger
  // chunks, the per-chunk cost is paid a sixteenth as often.
  let held: Buffer[] = [];
  let heldBytes = 0;
  const stage = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) {
        done(
          new VaultError('SAMPLE_TOO_LARGE', `samples are limited to ${limit} bytes`, { details: { limit } }),
        );
        return;
      }
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= GATHERED_CHUNK_BYTES) {
        const gathered = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
        held = [];
        heldBytes = 0;
        done(null, gathered);
        return;
      }
      done();
    },
    flush(done) {
      done(null, heldBytes === 0 ? undefined : Buffer.concat(held, heldBytes));
    },
  });
  request.on('error', (error) => stage.destroy(error));
  stage.on('close', () => request.unpipe(stage));
  return request.pipe(stage);
}

/** Reads a whole body, refused past `limit` bytes with `tooLarge()`: for the event rows. */
export async function readLimited(request: Readable, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    length += (chunk as Buffer).length;
    if (length > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, length);
}
