import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';
import { handleError, PROBLEM_CONTENT_TYPE, problem } from './problem.js';

/**
 * Node's HTTP parser refuses some requests before Fastify sees them (a bad Content-Length,
 * bad chunking, headers past the limit): it hands the socket to `clientError`. We answer a
 * problem document there too, then close the connection, since the framing is lost.
 *
 * @example
 * Fastify({ clientErrorHandler: answerClientError });
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.write(rawProblem(error.code));
  socket.destroy();
}

function rawProblem(nodeCode: string | undefined): string {
  const refused = clientProblem(nodeCode);
  const body = JSON.stringify(refused);
  return [
    `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status]}`,
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

function clientProblem(nodeCode: string | undefined) {
  switch (nodeCode) {
    case 'HPE_HEADER_OVERFLOW':
      return problem(431, 'HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return problem(408, 'REQUEST_TIMEOUT', 'the request took too long to arrive');
    default:
      return problem(400, 'MALFORMED_REQUEST', 'the request is not well-formed HTTP/1.1');
  }
}

/**
 * Errors Fastify raises before routing (a URL that does not decode, such as the overlong
 * UTF-8 `%c0%ae`, or a path parameter past the length limit), answered as every other error.
 *
 * @example
 * Fastify({ frameworkErrors: answerFrameworkError });
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const refused =
    error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new HttpError('INVALID_URL', 'the URL does not decode to a path this server knows', { cause: error })
      : error;
  return handleError(refused, request, reply);
}
