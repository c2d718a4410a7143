import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, consoleTestApp } from './test-support/console-client.js';

// The overview and attribution reports over HTTP, from the rollups that ingest keeps; on SQLite
// (project `node`) and PostgreSQL (project `postgres`).

const DAY = 86_400_000;
const apps: Array<Awaited<ReturnType<typeof consoleTestApp>>> = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

async function shop() {
  const t = await consoleTestApp({ sites: ['Shop', 'Other'] });
  apps.push(t);
  const today = Math.floor(t.clock.now / DAY) * DAY;
  // Before noon, and never before midnight: every event of a visitor falls on the day meant.
  const base = Math.max(today + 1000, Math.min(today + 12 * 3_600_000, t.clock.now - 60_000));
  const at = (daysAgo: number, minutes = 0) => new Date(base - daysAgo * DAY + minutes * 60_000).toISOString();
  let n = 0;
  const page = (anonymousId: string, when: string, url: string, referrer = '') => ({
    type: 'page', messageId: `m${++n}`, anonymousId, timestamp: when, context: { page: { url, referrer } },
  });
  await t.collect([
    // A: came 40 days ago from a search, back today from another one: not new in the range.
    page('a', at(40), 'https://shop.example/', 'https://www.google.com/search?q=old+term'),
    page('a', at(0), 'https://shop.example/boots', 'https://www.google.com/search?q=Boots'),
    // B: new three days ago from Facebook; a second page of the same visit, and an order.
    page('b', at(3), 'https://shop.example/', 'https://www.facebook.com/'),
    page('b', at(3, 2), 'https://shop.example/sale', 'https://shop.example/'),
    { type: 'track', messageId: `m${++n}`, anonymousId: 'b', event: 'Order Completed', properties: { revenue: 50 }, timestamp: at(3, 3) },
    // C: new ten days ago, typed the address; logged in.
    page('c', at(10), 'https://shop.example/'),
    { type: 'identify', messageId: `m${++n}`, anonymousId: 'c', userId: 'u-c', timestamp: at(10, 1) },
    // D: new twenty days ago from the newsletter, and again from it the next day.
    page('d', at(20), 'https://shop.example/?utm_source=newsletter&utm_medium=email'),
    page('d', at(19), 'https://shop.example/?utm_source=newsletter&utm_medium=email'),
  ]);
  // Another site's data never counts.
  await t.collect([page('z', at(0), 'https://other.example/', 'https://www.google.com/search?q=boots')], t.created[1]);
  return { t, today };
}

async function api(t: Awaited<ReturnType<typeof consoleTestApp>>, path: string) {
  const res = await t.app.request(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('GET /api/reports/overview', () => {
  it('counts people, events, sessions by source and keyword, new and returning, day by day', async () => {
    const { t, today } = await shop();
    const { status, text } = await api(t, `/api/reports/overview?site=${t.site.id}&days=30`);
    expect(status).toBe(200);
    const o = JSON.parse(text);
    expect(o).toMatchObject({
      range: { from: new Date(today - 29 * DAY).toISOString().slice(0, 10), to: new Date(today).toISOString().slice(0, 10), days: 30 },
      timeZone: 'UTC',
      people: 4,
      identified: 1,
      totals: { events: 8, visitors: 5, newVisitors: 3, sessions: 5, orders: 1, revenue: 5000, customers: 1 },
    });
    expect(o.sources).toEqual([
      { medium: 'email', source: 'newsletter', sessions: 2 },
      { medium: 'direct', source: '', sessions: 1 },
      { medium: 'search', source: 'Google', sessions: 1 },
      { medium: 'social', source: 'Facebook', sessions: 1 },
    ]);
    expect(o.keywords).toEqual([{ term: 'boots', sessions: 1 }]);
    expect(o.daily).toHaveLength(30);
    expect(o.daily[29]).toMatchObject({ events: 1, visitors: 1, newVisitors: 0, sessions: 1 });
    expect(o.daily[26]).toMatchObject({ events: 3, visitors: 1, newVisitors: 1, sessions: 1, orders: 1, revenue: 5000, customers: 1 });

    const week = JSON.parse((await api(t, `/api/reports/overview?site=${t.site.id}&days=7`)).text);
    expect(week.totals).toMatchObject({ events: 4, visitors: 2, newVisitors: 1 });
    const custom = JSON.parse((await api(t, `/api/reports/overview?site=${t.site.id}&from=${o.daily[9].date}&to=${o.daily[10].date}`)).text);
    expect(custom).toMatchObject({ range: { days: 2 }, totals: { events: 2, sessions: 2, newVisitors: 1 } });
  });

  it('is zeros for a site without data', async () => {
    const t = await consoleTestApp();
    apps.push(t);
    const o = JSON.parse((await api(t, `/api/reports/overview?site=${t.site.id}`)).text);
    expect(o).toMatchObject({ people: 0, identified: 0, totals: { events: 0, visitors: 0 }, sources: [], keywords: [] });
    expect(o.daily).toHaveLength(30);
  });

  it.each([
    ['', 'site: is required'],
    ['&days=10', 'days: must be one of 7, 30, 90'],
    ['&from=2026-13-01', 'from: must be a date as YYYY-MM-DD'],
    ['&from=2026-11-10&to=2026-11-01', 'to: must not be before from'],
    ['&from=2020-01-01&to=2026-01-01', 'to: a range is at most 732 days'],
  ])('answers 400 naming the field for %s', async (query, message) => {
    const t = await consoleTestApp();
    apps.push(t);
    const site = query === '' ? '' : t.site.id;
    const { status, text } = await api(t, `/api/reports/overview?site=${site}${query}`);
    expect(status).toBe(400);
    expect(JSON.parse(text).error).toContain(message);
  });
});

describe('GET /api/reports/attribution', () => {
  it('credits visitors, customers, orders and revenue to the first and the last touch', async () => {
    const { t } = await shop();
    const first = JSON.parse((await api(t, `/api/reports/attribution?site=${t.site.id}&touch=first&by=source`)).text);
    expect(first.rows).toEqual([
      { key: 'Facebook', visitors: 1, customers: 1, orders: 1, revenue: 50, conversionRate: 1, revenuePerVisitor: 50 },
      { key: '', visitors: 1, customers: 0, orders: 0, revenue: 0, conversionRate: 0, revenuePerVisitor: 0 },
      { key: 'newsletter', visitors: 1, customers: 0, orders: 0, revenue: 0, conversionRate: 0, revenuePerVisitor: 0 },
    ]);
    // Last touch: visitors are the sessions of the range by where each came from.
    const last = JSON.parse((await api(t, `/api/reports/attribution?site=${t.site.id}&touch=last&by=medium`)).text);
    expect(last.rows).toEqual([
      { key: 'social', visitors: 1, customers: 1, orders: 1, revenue: 50, conversionRate: 1, revenuePerVisitor: 50 },
      { key: 'email', visitors: 2, customers: 0, orders: 0, revenue: 0, conversionRate: 0, revenuePerVisitor: 0 },
      { key: 'direct', visitors: 1, customers: 0, orders: 0, revenue: 0, conversionRate: 0, revenuePerVisitor: 0 },
      { key: 'search', visitors: 1, customers: 0, orders: 0, revenue: 0, conversionRate: 0, revenuePerVisitor: 0 },
    ]);
    const terms = JSON.parse((await api(t, `/api/reports/attribution?site=${t.site.id}&touch=last&by=term`)).text);
    expect(terms.rows.find((r: { key: string }) => r.key === 'boots')).toMatchObject({ visitors: 1 });
  });

  it('filters by a segment, from the people of the segment and the orders of the range', async () => {
    const { t } = await shop();
    const res = await t.app.request('/api/segments', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ site: t.site.id, name: 'Buyers', rule: { field: 'computed.orders', op: 'gte', value: 1 } }),
    });
    expect(res.status).toBe(201);
    const segment = (await res.json()).id;
    const first = JSON.parse((await api(t, `/api/reports/attribution?site=${t.site.id}&touch=first&by=source&segment=${segment}`)).text);
    expect(first.rows).toEqual([{ key: 'Facebook', visitors: 1, customers: 1, orders: 1, revenue: 50, conversionRate: 1, revenuePerVisitor: 50 }]);
    // Last touch, filtered: visitors are the segment's people seen in the range, by their last touch.
    const last = JSON.parse((await api(t, `/api/reports/attribution?site=${t.site.id}&touch=last&by=medium&segment=${segment}`)).text);
    expect(last.rows).toEqual([{ key: 'social', visitors: 1, customers: 1, orders: 1, revenue: 50, conversionRate: 1, revenuePerVisitor: 50 }]);
    expect((await api(t, `/api/reports/attribution?site=${t.site.id}&segment=seg_nope`)).status).toBe(404);
    const other = await t.app.request('/api/segments', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ site: t.created[1].id, name: 'Elsewhere', rule: { field: 'identified', op: 'eq', value: true } }),
    });
    const elsewhere = await api(t, `/api/reports/attribution?site=${t.site.id}&segment=${(await other.json()).id}`);
    expect(elsewhere.status).toBe(400);
    expect(JSON.parse(elsewhere.text).error).toContain('segment: ');
  });

  it('exports CSV, with a cell that a spreadsheet would run kept as text', async () => {
    const { t } = await shop();
    await t.collect([{ type: 'page', messageId: 'evil', anonymousId: 'e', context: { page: { url: 'https://shop.example/?utm_source=%3DHYPERLINK(1)&utm_medium=cpc' } } }]);
    const { status, type, text } = await api(t, `/api/reports/attribution?site=${t.site.id}&by=source&format=csv`);
    expect(status).toBe(200);
    expect(type).toContain('text/csv');
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toBe('source,visitors,customers,orders,revenue,conversion_rate,revenue_per_visitor');
    expect(lines[1]).toBe('Facebook,1,1,1,50.00,1.0000,50.00');
    expect(lines).toContain("'=HYPERLINK(1),1,0,0,0.00,0.0000,0.00");
  });

  it.each([
    ['&touch=middle', 'touch: must be first or last'],
    ['&by=city', 'by: must be one of medium, source, campaign, term'],
    ['&format=xml', 'format: must be json or csv'],
  ])('answers 400 naming the field for %s', async (query, message) => {
    const t = await consoleTestApp();
    apps.push(t);
    const { status, text } = await api(t, `/api/reports/attribution?site=${t.site.id}${query}`);
    expect(status).toBe(400);
    expect(JSON.parse(text).error).toContain(message);
  });
});
