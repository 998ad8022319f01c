/**
 * The baseline of the single look-up benchmark: a bare Fastify route that answers a constant
 * of the same shape as a look-up, in its own process like `glasshouse up`. `node --import tsx
 * bench/support/bare-server.ts PORT`; prints "ready" once listening.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const ANSWER = {
  hash: '0'.repeat(64),
  verdict: 'malicious',
  threat: 'Bench.Constant',
  firstSeen: '2024-01-01T00:00:00Z',
};
const app = Fastify({ logger: false });
app.get('/v1/lookup/:hash', async () => ANSWER);
await app.listen({ host: '127.0.0.1', port });
process.stdout.write('ready\n');
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
