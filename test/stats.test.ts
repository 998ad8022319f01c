import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

/*
 * The statistics buffer end to end (issue "Statistics buffer"): NDJSON batches split by
 * site, per-line rejection, aggregates checked against counts this test computes itself,
 * suppression of small groups, retention and the erasure hook.
 */

const MIN_GROUP = 3;
const DAY_MS = 24 * 3600 * 1000;

interface Installation {
  readonly id: string;
  readonly country: string;
  readonly site: string;
}

interface Sent {
  readonly ts: string;
  readonly installation: Installation;
  readonly type: string;
  readonly verdict: string;
  readonly threat: string;
}

let h: Harness;
let clock: Date;
let product: string;
let analyst: string;
const installations: Installation[] = [];

beforeAll(async () => {
  clock = new Date();
  h = await startHarness({ now: () => clock, stats: { minGroupSize: MIN_GROUP } });
  product = await h.token('product');
  analyst = await h.token('analyst');
  // DE and BR go to zurich, RU to moscow, under the example policy in force.
  for (const [country, count] of [
    ['DE', 4],
    ['BR', 4],
    ['RU', 5],
  ] as const) {
    for (let i = 0; i < count; i += 1) installations.push(await register(country));
  }
});
afterAll(() => h.close());

async function register(country: string): Promise<Installation> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(product),
    payload: { country, product: 'endpoint-12' },
  });
  expect(response.statusCode).toBe(201);
  const { id, site } = response.json<{ id: string; site: string }>();
  return { id, country, site };
}

function line(event: Sent): string {
  return JSON.stringify({
    ts: event.ts,
    installation: event.installation.id,
    type: event.type,
    sha256: 'ab'.repeat(32),
    verdict: event.verdict,
    threat: event.threat,
    product: 'endpoint-12',
    os: 'windows-11',
  });
}

function postEvents(body: string, token = product, contentType = 'application/x-ndjson') {
  return h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(token), 'content-type': contentType },
    payload: body,
  });
}

async function flushAll(): Promise<void> {
  await Promise.all([...h.glasshouse.sites.values()].map((site) => site.stats!.flush()));
}

async function query(path: string, token = analyst) {
  const response = await h.app.inject({ url: path, headers: bearer(token) });
  return response;
}

function isoDaysAgo(days: number, hour = 10): string {
  const day = new Date(clock.getTime() - days * DAY_MS);
  day.setUTCHours(hour, 0, 0, 0);
  return day.toISOString();
}

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)]!;
}

describe('POST /v1/events', () => {
  describe('when a batch mixes installations of several sites', () => {
    it('stores each event at its installation’s site, with the registered country', async () => {
      const threat = `Route.${randomUUID()}`;
      const events = installations.map((installation) => ({
        ts: isoDaysAgo(1),
        installation,
        type: 'detection',
        verdict: 'malicious',
        threat,
      }));
      const response = await postEvents(events.map(line).join('\n'));
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({ accepted: installations.length, rejected: [] });
      await flushAll();

      for (const [site, countries] of [
        ['zurich', { DE: 4, BR: 4 }],
        ['moscow', { RU: 5 }],
      ] as const) {
        const mine = await h.glasshouse.sites.get(site)!.aggregateEvents({ groupBy: ['threat', 'country'] });
        expect(
          Object.fromEntries(mine.filter((g) => g.key[0] === threat).map((g) => [g.key[1], g.events])),
        ).toEqual(countries);
      }
    });
  });

  describe('when some lines are bad', () => {
    it('accepts the good lines, rejects each bad one by number, and stores nothing of them', async () => {
      const threat = `Reject.${randomUUID()}`;
      const good = (installation: Installation) =>
        line({ ts: isoDaysAgo(0, 1), installation, type: 'scan', verdict: 'clean', threat });
      const body = [
        good(installations[0]!),
        '{"not":"an event"}',
        'garbage',
        good(installations[8]!),
        line({
          ts: isoDaysAgo(0, 1),
          installation: { id: randomUUID(), country: 'DE', site: 'zurich' },
          type: 'scan',
          verdict: 'clean',
          threat,
        }),
        good(installations[1]!).replace('"scan"', '"crash"'),
        '',
        good(installations[2]!),
      ].join('\n');
      const response = await postEvents(body);
      expect(response.statusCode, response.body).toBe(200);
      const answer = response.json<{ accepted: number; rejected: { line: number; error: string }[] }>();
      expect(answer.accepted).toBe(3);
      expect(answer.rejected.map((r) => r.line)).toEqual([2, 3, 5, 6]);
      expect(answer.rejected[2]!.error).toBe('no installation has that id');
      await flushAll();
      let stored = 0;
      for (const site of h.glasshouse.sites.values()) {
        const groups = await site.aggregateEvents({ groupBy: ['threat'] });
        stored += groups.find((g) => g.key[0] === threat)?.events ?? 0;
      }
      expect(stored).toBe(3);
    });
  });

  describe('when the body cannot be taken', () => {
    it('answers 400 for a body that is not NDJSON at all', async () => {
      const response = await postEvents('{\n "pretty": true\n}\n');
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe('INVALID_EVENT_BATCH');
    });

    it('answers 415 for another content type', async () => {
      const response = await postEvents('{}', product, 'application/json');
      expect(response.statusCode).toBe(415);
    });

    it('answers 413 past the configured number of lines', async () => {
      const one = line({
        ts: isoDaysAgo(0),
        installation: installations[0]!,
        type: 'scan',
        verdict: 'clean',
        threat: 'x',
      });
      const response = await postEvents(Array.from({ length: 10_001 }, () => one).join('\n'));
      expect(response.statusCode).toBe(413);
      expect(response.json()).toMatchObject({ code: 'EVENT_BATCH_TOO_LARGE', limit: 10_000 });
    });

    it('refuses events of an installation at a site outside the token’s sites, line by line', async () => {
      const zurichOnly = await h.token('product', ['zurich']);
      const events = [installations[0]!, installations[12]!].map((installation) =>
        line({ ts: isoDaysAgo(0), installation, type: 'scan', verdict: 'clean', threat: 'Sites' }),
      );
      const response = await postEvents(events.join('\n'), zurichOnly);
      expect(response.json()).toEqual({
        accepted: 1,
        rejected: [{ line: 2, error: "the installation's site moscow is outside the token's sites" }],
      });
    });
  });
});

describe('GET /v1/stats/*', () => {
  const sent: Sent[] = [];
  const family = `Stat.${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const threats = [`${family}.A`, `${family}.B`, `${family}.C`];
    for (let i = 0; i < 3000; i += 1) {
      sent.push({
        ts: isoDaysAgo(2 + randomInt(3), randomInt(24)),
        installation: pick(installations),
        type: pick(['detection', 'detection', 'scan', 'lookup', 'update']),
        verdict: pick(['malicious', 'suspicious', 'clean']),
        threat: pick(threats),
      });
    }
    // A threat seen by two installations only: below MIN_GROUP wherever it is grouped.
    for (let i = 0; i < 6; i += 1) {
      sent.push({
        ts: isoDaysAgo(3, i),
        installation: installations[i % 2]!,
        type: 'detection',
        verdict: 'malicious',
        threat: `${family}.Rare`,
      });
    }
    // Concurrent batches, so the sites' group commits take several at once.
    const batches = Array.from({ length: 7 }, (_, b) => sent.slice(b * 500, (b + 1) * 500));
    const answers = await Promise.all(batches.map((batch) => postEvents(batch.map(line).join('\n'))));
    answers.forEach((answer, b) => {
      expect(answer.json()).toEqual({ accepted: batches[b]!.length, rejected: [] });
    });
    await flushAll();
  });

  /** The answer computed here from what was sent: group → events and distinct installations. */
  function expected(keys: readonly (keyof Sent | 'day' | 'country')[], filter: (e: Sent) => boolean) {
    const groups = new Map<string, { row: Record<string, string>; events: number; ids: Set<string> }>();
    for (const event of sent.filter(filter)) {
      const row: Record<string, string> = {};
      for (const key of keys) {
        row[key] =
          key === 'day'
            ? event.ts.slice(0, 10)
            : key === 'country'
              ? event.installation.country
              : String(event[key as keyof Sent]);
      }
      const id = JSON.stringify(row);
      const group = groups.get(id) ?? { row, events: 0, ids: new Set<string>() };
      group.events += 1;
      group.ids.add(event.installation.id);
      groups.set(id, group);
    }
    const all = [...groups.values()].map((g) => ({ ...g.row, events: g.events, installations: g.ids.size }));
    return {
      rows: all.filter((r) => r.installations >= MIN_GROUP),
      suppressed: all.filter((r) => r.installations < MIN_GROUP).length,
    };
  }

  const from = () => isoDaysAgo(4, 0).slice(0, 10);
  const to = () => isoDaysAgo(1, 0).slice(0, 10);
  const ours = (e: Sent) => e.threat.startsWith(family);

  it('answers day × country × threat × verdict × type counts equal to an independent count', async () => {
    const response = await query(
      `/v1/stats/detections?groupBy=day,country,threat,verdict,type&from=${from()}&to=${to()}&limit=10000`,
    );
    expect(response.statusCode, response.body).toBe(200);
    const answer = response.json<{
      rows: Record<string, unknown>[];
      suppressed: number;
      truncated: boolean;
    }>();
    const want = expected(['day', 'country', 'threat', 'verdict', 'type'], ours);
    const mine = answer.rows.filter((r) => String(r.threat).startsWith(family));
    expect(sortRows(mine)).toEqual(sortRows(want.rows));
    expect(answer.suppressed).toBe(want.suppressed);
    expect(answer.truncated).toBe(false);
    // Nothing in an answer names an installation.
    expect(response.body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('combines the sites into one answer and suppresses groups of fewer than minGroupSize installations', async () => {
    const response = await query(
      `/v1/stats/detections?groupBy=threat&type=detection&from=${from()}&to=${to()}`,
    );
    const answer = response.json<{ rows: Record<string, unknown>[]; suppressed: number }>();
    const want = expected(['threat'], (e) => ours(e) && e.type === 'detection');
    expect(sortRows(answer.rows.filter((r) => String(r.threat).startsWith(family)))).toEqual(
      sortRows(want.rows),
    );
    // Each common threat spans both sites and passes; the rare one is withheld.
    expect(want.rows).toHaveLength(3);
    expect(answer.suppressed).toBe(1);
    // The answer says the threshold, so a reader can say what the suppressed groups lacked.
    expect(response.json().minGroupSize).toBe(MIN_GROUP);

    const perCountry = await query(
      `/v1/stats/detections?groupBy=country,threat,verdict,day&from=${from()}&to=${to()}&limit=10000`,
    );
    const small = expected(['country', 'threat', 'verdict', 'day'], ours);
    expect(small.suppressed).toBeGreaterThan(0);
    const got = perCountry.json<{ rows: Record<string, unknown>[]; suppressed: number }>();
    expect(sortRows(got.rows.filter((r) => String(r.threat).startsWith(family)))).toEqual(
      sortRows(small.rows),
    );
    expect(got.rows.every((r) => (r.installations as number) >= MIN_GROUP)).toBe(true);
  });

  it('answers the top threats of a country', async () => {
    const response = await query(`/v1/stats/top-threats?country=RU&from=${from()}&to=${to()}&limit=1000`);
    expect(response.statusCode, response.body).toBe(200);
    const want = expected(
      ['threat'],
      (e) => ours(e) && e.type === 'detection' && e.installation.country === 'RU',
    );
    const rows = response.json<{ rows: { threat: string; events: number }[] }>().rows;
    const mine = rows.filter((r) => r.threat.startsWith(family));
    expect(sortRows(mine)).toEqual(sortRows(want.rows));
    const events = rows.map((r) => r.events);
    expect(events).toEqual([...events].sort((a, b) => b - a));
  });

  it('answers only from the token’s sites', async () => {
    const moscowOnly = await h.token('analyst', ['moscow']);
    const response = await query(
      `/v1/stats/detections?groupBy=country&from=${from()}&to=${to()}`,
      moscowOnly,
    );
    expect(response.json().rows.map((r: { country: string }) => r.country)).toEqual(['RU']);
    const refused = await query('/v1/stats/detections?site=zurich', moscowOnly);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('FORBIDDEN_SITE');
  });

  for (const [what, path] of [
    ['an unknown group key', '/v1/stats/detections?groupBy=day,installation'],
    ['an inverted range', '/v1/stats/detections?from=2026-11-23&to=2026-11-01'],
    ['a date that does not exist', '/v1/stats/detections?from=2026-02-30'],
    ['a date-time without a zone', '/v1/stats/top-threats?to=2026-11-01T10:00:00'],
    ['an unknown site', '/v1/stats/detections?site=atlantis'],
    ['an unknown event type', '/v1/stats/detections?type=crash'],
  ] as const) {
    it(`answers 400 INVALID_STATS_QUERY for ${what}`, async () => {
      const response = await query(path);
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe('INVALID_STATS_QUERY');
    });
  }
});

describe('the statistics buffer at a site', () => {
  describe('when events pass retentionDays', () => {
    it('deletes them on the retention run, and not the younger ones', async () => {
      const threat = `Retention.${randomUUID()}`;
      const events = installations.map((installation, i) => ({
        ts: isoDaysAgo(i % 2 === 0 ? 300 : 10),
        installation,
        type: 'detection',
        verdict: 'malicious',
        threat,
      }));
      expect((await postEvents(events.map(line).join('\n'))).json().accepted).toBe(events.length);
      await flushAll();
      const count = () => countThreat(threat);
      expect(await count()).toBe(events.length);
      const saved = clock;
      clock = new Date(saved.getTime() + 100 * DAY_MS); // the 300-day-old events are now 400 days old
      try {
        for (const site of h.glasshouse.sites.values()) await site.stats!.applyRetention();
      } finally {
        clock = saved;
      }
      expect(await count()).toBe(events.filter((_, i) => i % 2 === 1).length);
    });
  });

  describe('when the privacy desk erases an installation', () => {
    it('deletes every event of it at its site and logs the erasure with a commitment', async () => {
      const threat = `Erase.${randomUUID()}`;
      const target = installations[9]!; // RU, moscow
      const events = [target, target, target, installations[10]!].map((installation) => ({
        ts: isoDaysAgo(0, 0),
        installation,
        type: 'detection',
        verdict: 'malicious',
        threat,
      }));
      await postEvents(events.map(line).join('\n'));
      const moscow = h.glasshouse.sites.get('moscow')!;
      const log = h.glasshouse.logs.get('moscow')!;
      const before = await log.size();
      const { deleted } = await moscow.eraseInstallationEvents(target.id, { role: 'privacy', token: 'test' });
      expect(deleted).toBeGreaterThanOrEqual(3);
      expect(await countThreat(threat)).toBe(1);
      const [entry] = await log.readEntries(before, before + 1);
      const logged = JSON.parse(entry!.toString('utf8'));
      expect(logged).toMatchObject({ type: 'stats.erased', site: 'moscow', events: deleted });
      expect(entry!.toString('utf8')).not.toContain(target.id);
    });
  });
});

async function countThreat(threat: string): Promise<number> {
  let total = 0;
  for (const site of h.glasshouse.sites.values()) {
    const groups = await site.aggregateEvents({ groupBy: ['threat'] });
    total += groups.find((g) => g.key[0] === threat)?.events ?? 0;
  }
  return total;
}

function sortRows<T extends object>(rows: readonly T[]): T[] {
  const canonical = (row: T) => JSON.stringify(Object.entries(row).sort(([x], [y]) => x.localeCompare(y)));
  return [...rows].sort((a, b) => canonical(a).localeCompare(canonical(b)));
}
