import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testStoreKind } from '../test-support/test-db.js';
import { consoleTestApp } from './test-support/console-client.js';

const DAY = 86_400_000;
const apps: Array<Awaited<ReturnType<typeof consoleTestApp>>> = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A database file of its own: the overview is then read by a worker thread. */
function tempFile() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-overview-'));
  dirs.push(dir);
  return path.join(dir, 'rapport.db');
}

// On PostgreSQL (the vitest project `postgres`) once; on SQLite both on the main connection and in
// the worker thread that reads a file.
const onPostgres = testStoreKind() === 'postgres';
describe.each<[string, () => string | undefined]>(
  onPostgres
    ? [['on PostgreSQL', () => undefined]]
    : [
        ['in memory', () => undefined],
        ['over a file, in a worker thread', tempFile],
      ],
)('the overview aggregates (Store.siteOverview), %s', (_, file) => {
  it('count people, events by period, visits by source and keyword, new and returning, day by day', async () => {
    const t = await consoleTestApp({ sites: ['Shop', 'Other'], file: file() });
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
    const t = await consoleTestApp({ file: file() });
    apps.push(t);
    const o = await t.store.siteOverview(t.site.id, t.clock.now);
    expect(o).toMatchObject({ visitors: 0, identified: 0, newVisitors: 0, returningVisitors: 0, events: { today: 0, last7Days: 0, last30Days: 0 }, sources: [], keywords: [] });
    expect(o.daily.every((d) => d.events === 0 && d.visitors === 0)).toBe(true);
  });
});

describe.skipIf(onPostgres)('the overview over a SQLite file', () => {
  it('is read off the main thread: the event loop turns while it is counted', async () => {
    const t = await consoleTestApp({ file: tempFile() });
    apps.push(t);
    let turned = false;
    setImmediate(() => (turned = true));
    const o = await t.store.siteOverview(t.site.id, t.clock.now);
    expect(o.visitors).toBe(0);
    expect(turned).toBe(true);
  });

  it('reads a new snapshot for each request: what was collected since counts', async () => {
    const t = await consoleTestApp({ file: tempFile() });
    apps.push(t);
    await expect(t.store.siteOverview(t.site.id, t.clock.now)).resolves.toMatchObject({ visitors: 0 });
    await t.collect([{ type: 'page', messageId: 'm1', anonymousId: 'a', context: { page: { url: 'https://shop.example/' } } }]);
    await expect(t.store.siteOverview(t.site.id, t.clock.now)).resolves.toMatchObject({ visitors: 1 });
  });

  it('fails the request, not the server, when the worker cannot read the file', async () => {
    const file = tempFile();
    const t = await consoleTestApp({ file });
    apps.push(t);
    fs.rmSync(file);
    await expect(t.store.siteOverview(t.site.id, t.clock.now)).rejects.toThrow();
    // The main connection still holds the (unlinked) file and keeps serving.
    await t.collect([{ type: 'page', messageId: 'm1', anonymousId: 'a', context: { page: { url: 'https://shop.example/' } } }]);
    expect(await t.store.findProfileId(t.site.id, 'anonymous', 'a')).not.toBeNull();
  });
});
