import type { FastifyPluginAsync } from 'fastify';
import { PROBLEM_STATUS } from '../http/problem.js';
import { WitnessError } from './witness-errors.js';
import type { WitnessService } from './witness-service.js';

/** C2SP tlog-witness §add-checkpoint: the 409 body's media type. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export interface WitnessRoutesOptions {
  readonly witness: WitnessService;
}

/**
 * `POST /add-checkpoint` (C2SP tlog-witness). Refusals are problem documents, except the
 * old-size conflict, whose body the spec fixes: the witness's latest size and a newline.
 */
export const witnessRoutes: FastifyPluginAsync<WitnessRoutesOptions> = async (app, { witness }) => {
  // The body is the protocol's own text format, whatever Content-Type a client sends.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post('/add-checkpoint', async (request, reply) => {
    const body = typeof request.body === 'string' ? request.body : '';
    try {
      const cosignatures = witness.addCheckpoint(body);
      return reply.type('text/plain; charset=utf-8').send(cosignatures);
    } catch (error) {
      if (error instanceof WitnessError && error.code === 'WITNESS_OLD_SIZE_MISMATCH') {
        return reply
          .status(PROBLEM_STATUS[error.code])
          .type(TLOG_SIZE_CONTENT_TYPE)
          .send(`${String(error.details?.size)}\n`);
      }
      throw error;
    }
  });
};
