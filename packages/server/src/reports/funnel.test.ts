import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Site } from '../store/types.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

// POST /api/reports/funnel through HTTP, on the store of the run (SQLite in the `node` project,
// PostgreSQL in `postgres`), on data whose answer is worked out by hand below.

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

let n = 0;
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** A site of its own per test, so that each test's events are all there is. */
async function newSite(timeZone = 'UTC') {
  const site = await t.createSite({ name: `Funnel ${++n}`, origins: [], settings: { requireUserHash: false, timeZone } });
  return {
    site,
    async send(batch: Array<Record<string, unknown>>) {
      const res = await t.send('/v1/batch', { batch: batch.map((m) => ({ messageId: `f-${++n}`, ...m })) }, { headers: { authorization: basic(site.writeKey) } });
      expect(res.status).toBe(200);
      expect((await res.json()).success).toBe(true);
    },
  };
}

const track = (anonymousId: string, event: string, at: string, extra: Record<string, unknown> = {}) => ({ type: 'track', anonymousId, event, timestamp: at, ...extra });
/** A page view (its path is the URL's); its referrer and campaign make the visitor's first touch on their first visit. */
const page = (anonymousId: string, pathAndQuery: string, at: string, referrer = '') => ({
  type: 'page',
  anonymousId,
  timestamp: at,
  context: { page: { url: `https://shop.example${pathAndQuery}`, path: pathAndQuery.split('?')[0], referrer, title: 'Shop' } },
});

const funnel = (site: Site, body: Record<string, unknown>) => t.api('POST', '/api/reports/funnel', { site: site.id, ...body });
const people = (report: { steps: Array<{ people: number }> }) => report.steps.map((s) => s.people);
const STEPS = [{ event: 'Product Viewed' }, { event: 'Product Added' }, { path: '/checkout' }, { event: 'Order Completed' }];
const MARCH = { from: '2026-03-01', to: '2026-03-31' };

/**
 * Seven visitors of March 2026 (UTC), and what each counts for with the steps of STEPS within 7 days:
 * - ann (from a Google search): all four steps, in order, within minutes;
 * - bob (from the newsletter): views, adds 9 days later (past the window): step 1 only;
 * - cid: adds before viewing, then views, checks out and orders: step 1 only (order matters);
 * - dan: viewed in February too; enters at his first view in March, adds the next day: 2 steps;
 * - eve: views in April only: not in the funnel;
 * - fay: views and adds, checks out 10 days later: 2 steps;
 * - gus: views at 23:00 on the last day, adds three days later (after the range, within the window): 2 steps.
 */
async function march() {
  const s = await newSite();
  await s.send([
    page('ann', '/', '2026-03-02T09:59:00Z', 'https://www.google.com/search?q=boots'),
    track('ann', 'Product Viewed', '2026-03-02T10:00:00Z'),
    track('ann', 'Product Added', '2026-03-02T10:05:00Z'),
    page('ann', '/checkout', '2026-03-02T10:10:00Z'),
    track('ann', 'Order Completed', '2026-03-02T10:15:00Z', { properties: { revenue: 120 } }),
    page('bob', '/?utm_source=newsletter&utm_medium=email', '2026-03-03T08:00:00Z'),
    track('bob', 'Product Viewed', '2026-03-03T08:01:00Z'),
    track('bob', 'Product Added', '2026-03-12T08:01:00Z'),
    page('cid', '/', '2026-03-04T08:59:00Z'),
    track('cid', 'Product Added', '2026-03-04T09:00:00Z'),
    track('cid', 'Product Viewed', '2026-03-04T10:00:00Z'),
    page('cid', '/checkout', '2026-03-04T10:05:00Z'),
    track('cid', 'Order Completed', '2026-03-04T10:10:00Z', { properties: { revenue: 40 } }),
    page('dan', '/', '2026-02-27T12:00:00Z'),
    track('dan', 'Product Viewed', '2026-02-27T12:01:00Z'),
    track('dan', 'Product Viewed', '2026-03-05T12:00:00Z'),
    track('dan', 'Product Added', '2026-03-06T12:00:00Z'),
    page('eve', '/', '2026-04-02T12:00:00Z'),
    track('eve', 'Product Viewed', '2026-04-02T12:01:00Z'),
    track('eve', 'Product Added', '2026-04-02T12:02:00Z'),
    page('fay', '/', '2026-03-10T12:00:00Z'),
    track('fay', 'Product Viewed', '2026-03-10T12:01:00Z'),
    track('fay', 'Product Added', '2026-03-10T12:02:00Z'),
    page('fay', '/checkout', '2026-03-20T12:00:00Z'),
    page('gus', '/', '2026-03-31T22:59:00Z'),
    track('gus', 'Product Viewed', '2026-03-31T23:00:00Z'),
    track('gus', 'Product Added', '2026-04-03T23:00:00Z'),
  ]);
  return s;
}

describe('POST /api/reports/funnel', () => {
  it('counts a strict ordered funnel within the window, with its conversions', async () => {
    const { site } = await march();
    const res = await funnel(site, { steps: STEPS, withinDays: 7, ...MARCH });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: '2026-03-01', to: '2026-03-31', timeZone: 'UTC', withinDays: 7, by: null });
    expect(res.body.groups).toBeUndefined();
    expect(res.body.steps).toEqual([
      { label: 'Product Viewed', people: 6, conversionFromPrevious: 1, conversionFromFirst: 1 },
      { label: 'Product Added', people: 4, conversionFromPrevious: 4 / 6, conversionFromFirst: 4 / 6 },
      { label: '/checkout', people: 1, conversionFromPrevious: 1 / 4, conversionFromFirst: 1 / 6 },
      { label: 'Order Completed', people: 1, conversionFromPrevious: 1, conversionFromFirst: 1 / 6 },
    ]);
    // A wider window lets bob's add (9 days) and fay's checkout (10 days) in.
    expect(people((await funnel(site, { steps: STEPS, withinDays: 10, ...MARCH })).body)).toEqual([6, 5, 2, 1]);
    // The range is of step 1 only: eve enters in April, gus's April add still counts in March.
    expect(people((await funnel(site, { steps: STEPS, withinDays: 7, from: '2026-04-01', to: '2026-04-30' })).body)).toEqual([1, 1, 0, 0]);
  });

  it('does not count a step done before the previous one', async () => {
    const s = await newSite();
    await s.send([
      track('p1', 'Product Added', '2026-05-04T10:00:00Z'),
      track('p1', 'Product Viewed', '2026-05-04T10:01:00Z'),
      // p2 adds, views, then adds again: the second add comes after the view and counts.
      track('p2', 'Product Added', '2026-05-04T11:00:00Z'),
      track('p2', 'Product Viewed', '2026-05-04T11:01:00Z'),
      track('p2', 'Product Added', '2026-05-04T11:02:00Z'),
      // p3 views twice: a funnel of the same event twice needs two events.
      track('p3', 'Product Viewed', '2026-05-04T12:00:00Z'),
    ]);
    const steps = [{ event: 'Product Viewed' }, { event: 'Product Added' }];
    expect(people((await funnel(s.site, { steps, withinDays: 1, from: '2026-05-04', to: '2026-05-04' })).body)).toEqual([3, 1]);
    const twice = [{ event: 'Product Viewed' }, { event: 'Product Viewed' }];
    expect(people((await funnel(s.site, { steps: twice, withinDays: 1, from: '2026-05-04', to: '2026-05-04' })).body)).toEqual([3, 0]);
    await s.send([track('p3', 'Product Viewed', '2026-05-04T12:30:00Z')]);
    expect(people((await funnel(s.site, { steps: twice, withinDays: 1, from: '2026-05-04', to: '2026-05-04' })).body)).toEqual([3, 1]);
  });

  it('counts the local days of the site: 23:30 UTC is the next day in Europe/Berlin', async () => {
    const batch = [track('late', 'Product Viewed', '2025-12-01T23:30:00Z'), track('late', 'Order Completed', '2025-12-02T08:00:00Z')];
    const steps = [{ event: 'Product Viewed' }, { event: 'Order Completed' }];
    const berlin = await newSite('Europe/Berlin');
    await berlin.send(batch);
    expect(people((await funnel(berlin.site, { steps, withinDays: 1, from: '2025-12-02', to: '2025-12-02' })).body)).toEqual([1, 1]);
    expect(people((await funnel(berlin.site, { steps, withinDays: 1, from: '2025-12-01', to: '2025-12-01' })).body)).toEqual([0, 0]);
    const utc = await newSite('UTC');
    await utc.send(batch);
    expect(people((await funnel(utc.site, { steps, withinDays: 1, from: '2025-12-01', to: '2025-12-01' })).body)).toEqual([1, 1]);
    expect(people((await funnel(utc.site, { steps, withinDays: 1, from: '2025-12-02', to: '2025-12-02' })).body)).toEqual([0, 0]);
  });

  it('reads the path of page views whose message holds characters that only JSON escapes', async () => {
    const s = await newSite();
    const odd = 'a\u0000b\ud800c';
    await s.send([
      track('odd', 'Product Viewed', '2026-06-02T10:00:00Z', { properties: { note: odd } }),
      { ...page('odd', '/checkout', '2026-06-02T10:01:00Z'), properties: { note: odd }, context: { page: { url: 'https://shop.example/checkout', path: '/checkout', title: odd } } },
    ]);
    const steps = [{ event: 'Product Viewed' }, { path: '/checkout' }];
    expect(people((await funnel(s.site, { steps, withinDays: 1, from: '2026-06-02', to: '2026-06-02' })).body)).toEqual([1, 1]);
    expect(people((await funnel(s.site, { steps, withinDays: 1, by: 'source', from: '2026-06-02', to: '2026-06-02' })).body)).toEqual([1, 1]);
    // Collect refuses such event names; a funnel that asks for one finds nobody, and no error.
    const named = [{ event: 'Product Viewed' }, { event: 'Odd\u0000Event' }];
    expect(people((await funnel(s.site, { steps: named, withinDays: 1, from: '2026-06-02', to: '2026-06-02' })).body)).toEqual([1, 0]);
  });

  it('counts a person once after their devices merge', async () => {
    const s = await newSite();
    await s.send([
      track('laptop', 'Product Viewed', '2026-06-01T10:00:00Z'),
      track('phone', 'Product Added', '2026-06-01T18:00:00Z'),
      { type: 'identify', anonymousId: 'laptop', userId: 'u-merge', timestamp: '2026-06-01T10:01:00Z' },
      { type: 'identify', anonymousId: 'phone', userId: 'u-merge', timestamp: '2026-06-01T18:01:00Z' },
    ]);
    const steps = [{ event: 'Product Viewed' }, { event: 'Product Added' }];
    expect(people((await funnel(s.site, { steps, withinDays: 1, from: '2026-06-01', to: '2026-06-01' })).body)).toEqual([1, 1]);
  });

  it('splits by the source or medium of the first touch', async () => {
    const { site } = await march();
    const bySource = (await funnel(site, { steps: STEPS, withinDays: 7, by: 'source', ...MARCH })).body;
    expect(bySource.by).toBe('source');
    expect(people(bySource)).toEqual([6, 4, 1, 1]);
    // Largest first: the direct visitors (no source), then Google and the newsletter.
    expect(bySource.groups.map((g: { key: string; steps: Array<{ people: number }> }) => [g.key, people(g)])).toEqual([
      ['', [4, 3, 0, 0]],
      ['Google', [1, 1, 1, 1]],
      ['newsletter', [1, 0, 0, 0]],
    ]);
    expect(bySource.groups[0].steps[1]).toMatchObject({ conversionFromPrevious: 3 / 4, conversionFromFirst: 3 / 4 });
    const byMedium = (await funnel(site, { steps: STEPS, withinDays: 7, by: 'medium', ...MARCH })).body;
    expect(Object.fromEntries(byMedium.groups.map((g: { key: string; steps: Array<{ people: number }> }) => [g.key, people(g)]))).toEqual({
      direct: [4, 3, 0, 0],
      search: [1, 1, 1, 1],
      email: [1, 0, 0, 0],
    });
  });

  it('splits by a segment: in it or not, as the people are now', async () => {
    const { site } = await march();
    const created = await t.api('POST', '/api/segments', { site: site.id, name: 'Buyers', rule: { field: 'computed.orders', op: 'gte', value: 1 } });
    expect(created.status).toBe(201);
    const res = await funnel(site, { steps: STEPS, withinDays: 7, by: `segment:${created.body.id}`, ...MARCH });
    expect(res.status).toBe(200);
    expect(res.body.by).toBe(`segment:${created.body.id}`);
    // ann and cid ordered; cid stopped at step 1.
    expect(res.body.groups.map((g: { key: string; steps: Array<{ people: number }> }) => [g.key, people(g)])).toEqual([
      ['in', [2, 1, 1, 1]],
      ['out', [4, 3, 0, 0]],
    ]);
  });

  it('takes a preset range of days ending today', async () => {
    const s = await newSite();
    const now = Date.now();
    await s.send([track('today', 'Product Viewed', new Date(now - 60_000).toISOString()), track('today', 'Product Added', new Date(now - 30_000).toISOString())]);
    const steps = [{ event: 'Product Viewed' }, { event: 'Product Added' }];
    for (const days of [7, '30']) expect(people((await funnel(s.site, { steps, withinDays: 1, days })).body)).toEqual([1, 1]);
    expect(people((await funnel(s.site, { steps, withinDays: 1 })).body)).toEqual([1, 1]);
  });

  it('answers a bad body with a 400 that names the field', async () => {
    const site = t.site.id;
    const two = [{ event: 'A' }, { event: 'B' }];
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ withinDays: 7 }, 'steps'],
      [{ steps: 'Product Viewed', withinDays: 7 }, 'steps'],
      [{ steps: [{ event: 'A' }], withinDays: 7 }, 'steps'],
      [{ steps: Array.from({ length: 11 }, (_, i) => ({ event: `E${i}` })), withinDays: 7 }, 'steps'],
      [{ steps: [{ event: 1 }, { event: 'B' }], withinDays: 7 }, 'steps[0].event'],
      [{ steps: [{ event: 'A' }, { event: '  ' }], withinDays: 7 }, 'steps[1].event'],
      [{ steps: [{ event: 'A' }, { event: 'B', path: '/b' }], withinDays: 7 }, 'steps[1]'],
      [{ steps: [{ event: 'A' }, { path: 'checkout' }], withinDays: 7 }, 'steps[1].path'],
      [{ steps: [{ event: 'A' }, 'B'], withinDays: 7 }, 'steps[1]'],
      [{ steps: [{ name: 'A' }, { event: 'B' }], withinDays: 7 }, 'steps[0].name'],
      [{ steps: two }, 'withinDays'],
      [{ steps: two, withinDays: 0 }, 'withinDays'],
      [{ steps: two, withinDays: 1.5 }, 'withinDays'],
      [{ steps: two, withinDays: '7' }, 'withinDays'],
      [{ steps: two, withinDays: 91 }, 'withinDays'],
      [{ steps: two, withinDays: 7, by: 'colour' }, 'by'],
      [{ steps: two, withinDays: 7, by: 'segment:seg_nope' }, 'by'],
      [{ steps: two, withinDays: 7, from: '2026-02-30', to: '2026-03-01' }, 'from'],
      [{ steps: two, withinDays: 7, from: '2026-03-02', to: '2026-03-01' }, 'to'],
      [{ steps: two, withinDays: 7, from: 20260301 }, 'from'],
      [{ steps: two, withinDays: 7, days: 12 }, 'days'],
      [{ steps: two, withinDays: 7, window: 7 }, 'window'],
    ];
    for (const [body, field] of cases) {
      const res = await t.api('POST', '/api/reports/funnel', { site, ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
      expect(res.body.details, JSON.stringify(body)).toEqual([expect.objectContaining({ field })]);
    }
    expect((await t.api('POST', '/api/reports/funnel', { steps: two, withinDays: 7 })).body.error).toMatch(/^site: /);
    expect((await t.api('POST', '/api/reports/funnel', { site: 'site_nope', steps: two, withinDays: 7 })).status).toBe(404);
    const anonymous = await fetch(`${t.url}/api/reports/funnel`, { method: 'POST', body: JSON.stringify({ site, steps: two, withinDays: 7 }) });
    expect(anonymous.status).toBe(401);
  });
});
