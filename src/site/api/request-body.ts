import { type Readable, Transform } from 'node:stream';
import { VaultError } from '../../shared/vault-errors.js';

/**
 * A request body as a stream in bounded memory, refused past `limit` bytes (Fastify's
 * `bodyLimit` does not apply to a parser that hands the raw stream through). It is a stage
 * between the socket and the site: when the site stops early (too large, unknown
 * installation, a sample it holds already) it destroys this stage, not the request, so the
 * answer can still be sent.
 */
export function limitedBody(request: Readable, limit: number): Readable {
  let seen = 0;
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
      done(null, chunk);
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
