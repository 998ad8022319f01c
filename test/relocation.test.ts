import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness.js';
import {
  injectSender,
  registerInstallation,
  type Send,
  sendEvents,
  setPolicy,
  uploadSample,
  waitForRelocation,
} from './support/relocation.js';

let h: Harness;
let send: Send;
let admin: string;
let product: string;

beforeAll(async () => {
  h = await startHarness({ stats: { flushIntervalMs: 100 } });
  send = injectSender(h.app);
  admin = await h.token('admin');
  product = await h.token('product');
});
afterAll(() => h.close());

describe('relocation', () => {
  it('moves installations to the site the new policy names', async () => {
    const br = await registerInstallation(send, product, 'BR');
    const ar = await registerInstallation(send, product, 'AR');
    const shared = randomBytes(100_000);
    await uploadSample(send, product, br.id, shared, 'a.exe');
    await uploadSample(send, product, ar.id, shared, 'b.exe');
    await uploadSample(send, product, br.id, randomBytes(300_000), 'c.exe');
    await sendEvents(send, product, br.id, 5, new Date());
    await setPolicy(send, admin, 'zurich', { moscow: ['AR'] });
    const plan = await send('POST', '/v1/relocations', admin, { dryRun: true });
    expect(plan.status).toBe(200);
    console.log(JSON.stringify(plan.json, null, 1));
    const started = await send('POST', '/v1/relocations', admin, {});
    expect(started.status).toBe(202);
    const finished = await waitForRelocation(send, admin, started.json.id);
    console.log(finished);
    const audit = await send('GET', '/v1/residency/audit', admin);
    console.log(JSON.stringify(audit.json, null, 1));
  });
});
