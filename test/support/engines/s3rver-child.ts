/*
 * The test S3 endpoint (test/support/engines/s3.ts): s3rver on 127.0.0.1, a port the system
 * chooses, objects under DIRECTORY. A child process of its own, so that what a test measures
 * of its own process (memory above all) is not the server's. Prints `{"port":N}` once
 * listening; exits on SIGTERM.
 *
 *   node --import tsx test/support/engines/s3rver-child.ts DIRECTORY
 */
import { createRequire } from 'node:module';

interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverServer;

const directory = process.argv[2];
if (directory === undefined) {
  process.stderr.write('usage: s3rver-child.ts DIRECTORY\n');
  process.exit(2);
}

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
