/**
 * A worker thread of `fingerprint-pool.ts`: hashes the uploads' bytes (ssdeep, TLSH) and
 * detects their type, one {@link Fingerprinter} per session, off the main thread's event loop.
 */
import { parentPort } from 'node:worker_threads';
import type { FingerprintReply, FingerprintRequest } from './fingerprint-protocol.js';
import { Fingerprinter } from './fingerprinter.js';

const port =
  parentPort ??
  (() => {
    throw new Error('fingerprint-worker runs in a worker thread');
  })();
const sessions = new Map<number, Fingerprinter>();

const reply = (message: FingerprintReply) => port.postMessage(message);

port.on('message', (request: FingerprintRequest) => {
  switch (request.op) {
    case 'update': {
      let session = sessions.get(request.id);
      if (session === undefined) {
        session = new Fingerprinter(request.size);
        sessions.set(request.id, session);
      }
      session.update(new Uint8Array(request.chunk));
      reply({ id: request.id, acked: request.chunk.byteLength });
      return;
    }
    case 'finish': {
      const session = sessions.get(request.id) ?? new Fingerprinter();
      sessions.delete(request.id);
      session.finish().then(
        (fingerprint) => reply({ id: request.id, fingerprint }),
        (error: unknown) => reply({ id: request.id, error: String(error) }),
      );
      return;
    }
    case 'abort': {
      sessions.delete(request.id);
      return;
    }
  }
});
