import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Site } from '../store/types.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { mondayOf } from './cohorts.js';
import { dayIn, isoDate } from './days.js';

// GET /api/reports/retention through HTTP, on the store of the run (SQLite in the `node`
// project, PostgreSQL in `postgres`), on data whose answer is worked out by hand below.

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

let n = 0;
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function newSite(timeZone = 'UTC') {
  const site = await t.createSite({ name: `Cohorts ${++n}`, origins: [], settings: { requireUserHash: false, timeZone } });
  return {
    site,
    async send(batch: Array<Record<string, unknown>>) {
      const res = await t.send('/v1/batch', { batch: batch.map((m) => ({ messageId: `c-${++n}`, ...m })) }, { headers: { authorization: basic(site.writeKey) } });
      expect(res.status).toBe(200);
      expect((await res.json()).success).toBe(true);
    },
  };
}

const page = (anonymousId: string, at: string, referrer = '') => ({
  type: 'page',
  anonymousId,
  timestamp: at,
  context: { page: { url: 'https://shop.example/', path: '/', referrer, title: 'Shop' } },
});
const order = (anonymousId: string, at: string) => ({ type: 'track', anonymousId, event: 'Order Completed', timestamp: at, properties: { revenue: 50 } });
const retention = (site: Site, query: string) => t.api('GET', `/api/reports/retention?site=${site.id}&${query}`);
const weeks = (...shares: Array<[number, number]>) => {
  const out = new Array<number>(12).fill(0);
  for (const [week, share] of shares) out[week - 1] = share;
  return out;
};

/**
 * Two cohorts of January 2026 (UTC): the week of Monday the 5th and that of Monday the 12th.
 * - p1 (from a Google search), first seen Monday the 5th: back on the 13th and the 14th (week 1,
 *   counted once) and on the 27th (week 3);
 * - p2, first seen Sunday the 11th (still the week of the 5th): back on Monday the 12th (week 1);
 * - p3, first seen on the 7th: never back;
 * - p4, first seen on the 13th: buys on the 21st (week 1) and on February 3rd (week 3);
 * - p5, first seen on January 2nd: before the range, in no cohort, though back on the 6th;
 * - p6, first seen on the 15th: buys on the 16th (its own week: not counted), back on April 7th
 *   (week 12) and on April 14th (week 13: past the 12 weeks).
 */
async function january() {
  const s = await newSite();
  await s.send([
    page('p1', '2026-01-05T10:00:00Z', 'https://www.google.com/search?q=boots'),
    page('p1', '2026-01-13T10:00:00Z'),
    page('p1', '2026-01-14T10:00:00Z'),
    page('p1', '2026-01-27T10:00:00Z'),
    page('p2', '2026-01-11T20:00:00Z'),
    page('p2', '2026-01-12T09:00:00Z'),
    page('p3', '2026-01-07T10:00:00Z'),
    page('p4', '2026-01-13T10:00:00Z'),
    order('p4', '2026-01-21T10:00:00Z'),
    order('p4', '2026-02-03T10:00:00Z'),
    page('p5', '2026-01-02T10:00:00Z'),
    page('p5', '2026-01-06T10:00:00Z'),
    page('p6', '2026-01-15T10:00:00Z'),
    order('p6', '2026-01-16T10:00:00Z'),
    page('p6', '2026-04-07T10:00:00Z'),
    page('p6', '2026-04-14T10:00:00Z'),
  ]);
  return s;
}

describe('GET /api/reports/retention', () => {
  it('counts who comes back in each week after their first, by first-seen week', async () => {
    const { site } = await january();
    const res = await retention(site, 'from=2026-01-05&to=2026-01-18');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: '2026-01-05', to: '2026-01-18', timeZone: 'UTC', metric: 'return', by: null });
    expect(res.body.groups).toBeUndefined();
    expect(res.body.cohorts).toEqual([
      { week: '2026-01-05', people: 3, weeks: weeks([1, 2 / 3], [3, 1 / 3]) },
      { week: '2026-01-12', people: 2, weeks: weeks([1, 1 / 2], [3, 1 / 2], [12, 1 / 2]) },
    ]);
  });

  it('counts who buys in each week after, with metric=order', async () => {
    const { site } = await january();
    const res = await retention(site, 'metric=order&from=2026-01-05&to=2026-01-18');
    expect(res.body.cohorts).toEqual([
      { week: '2026-01-05', people: 3, weeks: weeks() },
      { week: '2026-01-12', people: 2, weeks: weeks([1, 1 / 2], [3, 1 / 2]) },
    ]);
  });

  it('widens the range to whole weeks, Monday to Sunday', async () => {
    const { site } = await january();
    const res = await retention(site, 'from=2026-01-07&to=2026-01-13');
    expect(res.body).toMatchObject({ from: '2026-01-05', to: '2026-01-18' });
    expect(res.body.cohorts.map((c: { week: string; people: number }) => [c.week, c.people])).toEqual([
      ['2026-01-05', 3],
      ['2026-01-12', 2],
    ]);
  });

  it('splits by the source of the first touch', async () => {
    const { site } = await january();
    const res = await retention(site, 'by=source&from=2026-01-05&to=2026-01-18');
    expect(res.body.by).toBe('source');
    expect(res.body.cohorts[0]).toEqual({ week: '2026-01-05', people: 3, weeks: weeks([1, 2 / 3], [3, 1 / 3]) });
    expect(res.body.groups).toEqual([
      {
        key: '',
        cohorts: [
          { week: '2026-01-05', people: 2, weeks: weeks([1, 1 / 2]) },
          { week: '2026-01-12', people: 2, weeks: weeks([1, 1 / 2], [3, 1 / 2], [12, 1 / 2]) },
        ],
      },
      {
        key: 'Google',
        cohorts: [
          { week: '2026-01-05', people: 1, weeks: weeks([1, 1], [3, 1]) },
          { week: '2026-01-12', people: 0, weeks: weeks() },
        ],
      },
    ]);
  });

  it('starts weeks on the Monday of the site: 23:30 UTC on a Sunday is Monday in Europe/Berlin', async () => {
    // Sunday January 11th, 23:30 UTC is Monday the 12th, 00:30 in Berlin; the visit a week later
    // too (Sunday the 18th UTC, Monday the 19th in Berlin).
    const batch = [page('late', '2026-01-11T23:30:00Z'), page('late', '2026-01-18T23:30:00Z')];
    const berlin = await newSite('Europe/Berlin');
    await berlin.send(batch);
    const inBerlin = (await retention(berlin.site, 'from=2026-01-05&to=2026-01-18')).body;
    expect(inBerlin.timeZone).toBe('Europe/Berlin');
    expect(inBerlin.cohorts).toEqual([
      { week: '2026-01-05', people: 0, weeks: weeks() },
      { week: '2026-01-12', people: 1, weeks: weeks([1, 1]) },
    ]);
    const utc = await newSite('UTC');
    await utc.send(batch);
    expect((await retention(utc.site, 'from=2026-01-05&to=2026-01-18')).body.cohorts).toEqual([
      { week: '2026-01-05', people: 1, weeks: weeks([1, 1]) },
      { week: '2026-01-12', people: 0, weeks: weeks() },
    ]);
  });

  it('leaves out the weeks that have not begun', async () => {
    const s = await newSite();
    const now = Date.now();
    await s.send([page('new', new Date(now - 60_000).toISOString()), page('older', new Date(now - 8 * 86_400_000).toISOString())]);
    const res = await retention(s.site, 'days=30');
    const today = dayIn(now, 'UTC');
    const cohorts: Array<{ week: string; people: number; weeks: number[] }> = res.body.cohorts;
    // The last cohort is this week's, with no week after it begun; the one before has one.
    expect(cohorts[cohorts.length - 1]).toEqual({ week: isoDate(mondayOf(today)), people: 1, weeks: [] });
    expect(cohorts[cohorts.length - 2].weeks).toHaveLength(1);
    expect(cohorts.reduce((sum, c) => sum + c.people, 0)).toBe(2);
    // 90 days without a range.
    expect((await retention(s.site, '')).body.from).toBe(isoDate(mondayOf(today - 89)));
  });

  it('answers a bad query with a 400 that names the field', async () => {
    for (const [query, field] of [
      ['metric=visits', 'metric'],
      ['by=medium', 'by'],
      ['from=2026-13-01', 'from'],
      ['from=2026-03-02&to=2026-03-01', 'to'],
      ['days=14', 'days'],
    ]) {
      const res = await t.api('GET', `/api/reports/retention?site=${t.site.id}&${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.details, query).toEqual([expect.objectContaining({ field })]);
    }
    expect((await t.api('GET', '/api/reports/retention')).body.details).toEqual([expect.objectContaining({ field: 'site' })]);
  });
});
