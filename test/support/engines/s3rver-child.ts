/*
 * The test S3 endpoint (test/support/engines/s3.ts): s3rver on 127.0.0.1, a port the system
 * chooses, objects under DIRECTORY. A child process of its own, so that what a test measures
 * of its own process (memory above all) is not the server's. Prints `{"port":N}` once
 * listening; exits on SIGTERM.
 *
 *   node --import tsx test/support/engines/s3rver-child.ts DIRECTORY
 */
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';

interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
}
interface S3rverServer {
  readonly store: S3rverStore;
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
keepDirectories(server.store);
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

/**
 * s3rver removes the directories a deleted object leaves empty, racing a concurrent put into
 * the same directory (say `tmp/`, where every upload starts): the put's file then cannot be
 * created and the unhandled ENOENT ends the server. Deleting only the object's own files
 * avoids that; an empty directory lists nothing.
 */
function keepDirectories(store: S3rverStore): void {
  store.deleteObject = async (bucket, key) => {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        rm(store.getResourcePath(bucket, key, resource), { force: true }),
      ),
    );
  };
}
