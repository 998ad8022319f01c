import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_STATUS, type Problem, problem, sendProblem } from '../../http/problem.js';
import { GlasshouseError } from '../../shared/errors.js';

/**
 * Problem documents of the internal site API. Unlike the public API, a domain error keeps its
 * code, message and details whatever its status: the caller is the control plane (or a peer
 * site), which rebuilds the error so that its own `problem.ts` answers the public exactly as
 * if the site ran in its process (a 500 there still says nothing more). Errors that are not
 * ours stay `INTERNAL`, and are told to `onError`.
 */
export function siteApiErrorHandler(onError: (error: unknown) => void) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const body = siteProblem(error);
    if (body.status >= 500) onError(error);
    if (reply.raw.headersSent) {
      // A stream failed after its first bytes: cutting the connection is the only way to say so.
      reply.raw.destroy(error);
      return reply;
    }
    if (body.status === 413) reply.header('connection', 'close');
    return sendProblem(reply, { ...body, instance: request.url.split('?')[0] ?? '' });
  };
}

export function siteProblem(error: FastifyError | Error): Problem {
  if (error instanceof GlasshouseError) {
    const status = (PROBLEM_STATUS as Readonly<Record<string, number>>)[error.code] ?? 500;
    return problem(
      status,
      error.code,
      error.message,
      error.details === undefined ? {} : { details: error.details },
    );
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return problem(400, 'VALIDATION_FAILED', error.message);
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return problem(status, fastifyError.code ?? 'BAD_REQUEST', error.message);
  }
  return problem(500, 'INTERNAL', 'the site failed to complete the request');
}
