import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteClient } from '../src/ports/site-client.js';
import { SiteUnavailableError } from '../src/shared/site-errors.js';
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

/*
 * A relocation that meets a site away waits for it, shows it in `waitingFor`, and resumes
 * the step it stopped in: the end state is the same as without the outage, every record
 * once, every log entry once. The site is the real in-process one; while "away" its calls
 * fail as a broken link fails them (SITE_UNAVAILABLE). test/site-away.test.ts kills a real
 * site process instead.
 */

let h: Harness;
let send: Send;
let admin: string;
let product: string;
/** Which of moscow's calls fail as if it were away (none when undefined). */
let moscowAway: ((method: string) => boolean) | undefined;

/** The site, except that while `moscowAway` says so a call fails with SITE_UNAVAILABLE. */
function switchable(site: SiteClient): SiteClient {
  return new Proxy(site, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (moscowAway?.(String(property)) === true) {
          // A body that never left: the caller's stream is not left open.
          for (const arg of args) if (arg instanceof Readable) arg.destroy();
          return Promise.reject(new SiteUnavailableError(site.name));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  h = await startHarness({
    stats: { flushIntervalMs: 100, minGroupSize: 1 },
    siteWait: { firstMs: 20, maxMs: 100 },
  });
  const sites = h.glasshouse.siteClients as Map<string, SiteClient>;
  sites.set('moscow', switchable(sites.get('moscow')!));
  send = injectSender(h.app);
  admin = await h.token('admin');
  product = await h.token('product');
});
afterAll(() => h.close());

async function relocationEntries(node: string, relocation: string, type: string) {
  const log = h.glasshouse.logs.get(node)!;
  return (await log.readEntries(0, await log.size()))
    .map((e) => JSON.parse(Buffer.from(e).toString('utf8')) as { type: string; relocation?: string })
    .filter((e) => e.type === type && e.relocation === relocation);
}

async function statusWhen(id: string, done: (status: { waitingFor: string[] }) => boolean) {
  const until = Date.now() + 20_000;
  for (;;) {
    const status = (await send('GET', `/v1/relocations/${id}`, admin)).json;
    if (done(status) || Date.now() > until) return status;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function inventoryAt(site: string, installation: string) {
  return h.glasshouse.sites.get(site)!.inventoryInstallation(installation);
}

describe('a relocation and a site that is away', () => {
  let installation: string;

  it('waits for the target, then moves every record once', async () => {
    await setPolicy(send, admin, 'moscow', { zurich: ['DE'] });
    installation = (await registerInstallation(send, product, 'DE')).id;
    for (let i = 0; i < 2; i += 1) {
      await uploadSample(send, product, installation, randomBytes(50_000), `file-${i}.exe`);
    }
    await sendEvents(send, product, installation, 3, new Date());
    const before = await inventoryAt('zurich', installation);

    moscowAway = () => true;
    await setPolicy(send, admin, 'moscow', {});
    const started = await send('POST', '/v1/relocations', admin, {});
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.id as string;
    const waiting = await statusWhen(id, (s) => s.waitingFor.length > 0);
    expect(waiting).toMatchObject({ state: 'running', waitingFor: ['moscow'], errors: [] });
    // Still waiting a while later (several looks at its health), and still nothing failed.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await send('GET', `/v1/relocations/${id}`, admin)).json).toMatchObject({
      state: 'running',
      waitingFor: ['moscow'],
    });

    moscowAway = undefined;
    expect(await waitForRelocation(send, admin, id, 30_000)).toMatchObject({
      state: 'done',
      waitingFor: [],
      errors: [],
      installations: { done: 1, total: 1 },
    });
    const after = await inventoryAt('moscow', installation);
    expect({ ...after, key: true }).toEqual({ ...before, key: true });
    expect((await inventoryAt('zurich', installation)).key).toBe(false);
    expect(await relocationEntries('moscow', id, 'relocation.received')).toHaveLength(1);
    expect(await relocationEntries('zurich', id, 'relocation.sent')).toHaveLength(1);
  });

  it("waits for each side's log entry on its own: none is appended twice", async () => {
    // Back to zurich; moscow, the source now, is away only when its entry is appended.
    moscowAway = (method) => method === 'recordRelocation';
    await setPolicy(send, admin, 'moscow', { zurich: ['DE'] });
    const started = await send('POST', '/v1/relocations', admin, {});
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.id as string;
    const waiting = await statusWhen(id, (s) => s.waitingFor.length > 0);
    expect(waiting).toMatchObject({ state: 'running', waitingFor: ['moscow'], errors: [] });
    await new Promise((resolve) => setTimeout(resolve, 300));

    moscowAway = undefined;
    expect(await waitForRelocation(send, admin, id, 30_000)).toMatchObject({ state: 'done', errors: [] });
    expect(await relocationEntries('zurich', id, 'relocation.received')).toHaveLength(1);
    expect(await relocationEntries('moscow', id, 'relocation.sent')).toHaveLength(1);
    expect(await relocationEntries('control', id, 'relocation.batch')).toHaveLength(1);
    expect((await inventoryAt('zurich', installation)).key).toBe(true);
    expect((await inventoryAt('moscow', installation)).key).toBe(false);
  });
});
