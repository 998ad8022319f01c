/*
 * The client process of test/site-api-tls.test.ts's large-upload case: streams a generated
 * sample of SIZE bytes to a site through HttpSiteClient, streams it back, and prints its own
 * resident memory before and at its peak, with the hashes, as one JSON line. The TLS
 * material and the installation come on stdin as JSON.
 *
 *   node --import tsx test/support/site-upload-child.ts SIZE < {url, tls, installationId}
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { HttpSiteClient } from '../../src/adapters/site-http/http-site-client.js';

const size = Number(process.argv[2]);
const input = JSON.parse(await text(process.stdin)) as {
  url: string;
  tls: { ca: string; cert: string; key: string };
  installationId: string;
};
const client = new HttpSiteClient({ name: 'zurich', jurisdiction: 'CH', url: input.url, tls: input.tls });
await client.health();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);

const sent = createHash('sha256');
function* generated(): Generator<Buffer> {
  const chunk = 64 * 1024;
  for (let offset = 0; offset < size; offset += chunk) {
    const part = Buffer.alloc(Math.min(chunk, size - offset), offset % 251);
    part.writeUInt32BE(offset, 0);
    sent.update(part);
    yield part;
  }
}
const stored = await client.storeSample({
  installationId: input.installationId,
  filename: 'large.bin',
  product: 'endpoint-12',
  body: Readable.from(generated()),
});
const received = createHash('sha256');
let length = 0;
for await (const chunk of await client.openSampleForDownload(stored.sha256, {
  role: 'admin',
  token: 'child',
})) {
  received.update(chunk as Buffer);
  length += (chunk as Buffer).length;
}
clearInterval(sampler);
client.close();
process.stdout.write(
  `${JSON.stringify({ stored, sent: sent.digest('hex'), received: received.digest('hex'), length, baseline, peak })}\n`,
);
