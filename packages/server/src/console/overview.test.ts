import { afterEach, describe, expect, it } from 'vitest';
import { consoleTestApp } from './test-support/console-client.js';

const DAY = 86_400_000;
const apps: Array<Awaited<ReturnType<typeof consoleTestApp>>> = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

describe('the overview aggregates (Store.siteOverview)', () => {
  it('count people, events by period, visits by source and keyword, new and returning, day by day', async () => {
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
      // A: came 40 days ago from a search, back today from another one: returning.
      page('a', at(40), 'https://shop.example/', 'https://www.google.com/search?q=old+term'),
      page('a', at(0), 'https://shop.example/boots', 'https://www.google.com/search?q=Boots'),
      // B: new, three days ago from Facebook; a second page of the same visit, and an event.
      page('b', at(3), 'https://shop.example/', 'https://www.facebook.com/'),
      page('b', at(3, 2), 'https://shop.example/sale', 'https://shop.example/'),
      { type: 'track', messageId: `m${++n}`, anonymousId: 'b', event: 'Product Viewed', timestamp: at(3, 3) },
      // C: new, ten days ago, typed the address; logged in.
      page('c', at(10), 'https://shop.example/'),
      { type: 'identify', messageId: `m${++n}`, anonymousId: 'c', userId: 'u-c', timestamp: at(10, 1) },
      // D: new, twenty days ago from the newsletter, and again from it the next day.
      page('d', at(20), 'https://shop.example/?utm_source=newsletter&utm_medium=email'),
      page('d', at(19), 'https://shop.example/?utm_source=newsletter&utm_medium=email'),
    ]);
    // Another site's data never counts.
    await t.collect([page('z', at(0), 'https://other.example/', 'https://www.google.com/search?q=boots')], t.created[1]);

    const o = await t.store.siteOverview(t.site.id, t.clock.now);
    expect(o).toMatchObject({ visitors: 4, identified: 1, newVisitors: 3, returningVisitors: 1 });
    expect(o.events).toEqual({ today: 1, last7Days: 4, last30Days: 8 });
    expect(o.sources).toEqual([
      { medium: 'email', source: 'newsletter', visits: 2 },
      { medium: 'direct', source: null, visits: 1 },
      { medium: 'search', source: 'Google', visits: 1 },
      { medium: 'social', source: 'Facebook', visits: 1 },
    ]);
    expect(o.keywords).toEqual([{ term: 'boots', visits: 1 }]);
    expect(o.daily).toHaveLength(30);
    expect(o.daily[29]).toEqual({ date: new Date(today).toISOString().slice(0, 10), events: 1, visitors: 1 });
    expect(o.daily[26]).toMatchObject({ events: 3, visitors: 1 });
    expect(o.daily.reduce((sum, d) => sum + d.events, 0)).toBe(8);
    expect(o.daily[0].date).toBe(new Date(today - 29 * DAY).toISOString().slice(0, 10));
  });

  it('are zeros for a site without data', async () => {
    const t = await consoleTestApp();
    apps.push(t);
    const o = await t.store.siteOverview(t.site.id, t.clock.now);
    expect(o).toMatchObject({ visitors: 0, identified: 0, newVisitors: 0, returningVisitors: 0, events: { today: 0, last7Days: 0, last30Days: 0 }, sources: [], keywords: [] });
    expect(o.daily.every((d) => d.events === 0 && d.visitors === 0)).toBe(true);
  });
});
