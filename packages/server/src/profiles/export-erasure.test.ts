import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOT_EVENTS } from '@rapport/protocol';
import { allRows } from '../test-support/inspect-db.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
let n = 0;
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms).toISOString();
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

async function send(batch: Array<Record<string, unknown>>, authorization?: string) {
  const headers = authorization ? { headers: { authorization } } : undefined;
  const res = await t.send('/v1/batch', { batch: batch.map((m) => ({ messageId: `ee-${++n}`, ...m })) }, headers);
  expect(res.status).toBe(200);
}

describe('search, timeline, export and erasure', () => {
  it('computes ABC and RFM across the site for the profile page (first: the rankings are cached for ten minutes)', async () => {
    const now = Date.now();
    await send([
      { type: 'track', userId: 'whale', event: 'Order Completed', properties: { revenue: 9000 }, timestamp: at(now - DAY) },
      { type: 'track', userId: 'minnow', event: 'Order Completed', properties: { revenue: 10 }, timestamp: at(now - 30 * DAY) },
    ]);
    const [whale] = (await t.api('GET', `/api/profiles?site=${t.site.id}&userId=whale`)).body.profiles;
    const full = (await t.api('GET', `/api/profiles/${whale.id}`)).body;
    expect(full.computed.abc).toBe('A');
    expect(full.computed.rfm).toMatch(/^[1-5]{3}$/);
  });

  it('finds profiles by user id, anonymous id, email and trait text', async () => {
    await send([
      { type: 'identify', anonymousId: 'search-anon', userId: 'search-user', traits: { email: 'Ada@Example.org', company: 'Analytical Engines' } },
    ]);
    const ids = new Set<string>();
    for (const query of ['userId=search-user', 'anonymousId=search-anon', 'email=ada@example.org', 'q=analytical', 'q=search-an', 'q=ADA@']) {
      const { body } = await t.api('GET', `/api/profiles?site=${t.site.id}&${query}`);
      expect(body.profiles, query).toHaveLength(1);
      ids.add(body.profiles[0].id);
    }
    expect(ids.size).toBe(1);
    const none = await t.api('GET', `/api/profiles?site=${t.site.id}&q=${encodeURIComponent('%')}`);
    expect(none.body.profiles).toHaveLength(0);
  });

  it('pages a timeline newest first by event time', async () => {
    const now = Date.now();
    await send(Array.from({ length: 12 }, (_, i) => ({ type: 'track', anonymousId: 'timeline', event: `E${i}`, timestamp: at(now - (12 - i) * 60_000) })));
    const [p] = (await t.api('GET', `/api/profiles?site=${t.site.id}&anonymousId=timeline`)).body.profiles;
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const { body }: { body: { events: Array<{ event: string }>; nextCursor: string | null } } = await t.api(
        'GET',
        `/api/profiles/${p.id}/events?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      );
      names.push(...body.events.map((e) => e.event));
      cursor = body.nextCursor;
    } while (cursor);
    expect(names).toEqual(Array.from({ length: 12 }, (_, i) => `E${11 - i}`));
  });

  it('exports everything stored about a person, and erasure leaves no row that names them', async () => {
    const secretValues = ['erase-anon-1', 'erase-anon-2', 'erase-user', 'erase-me@example.com', 'Erase Secret Trait'];
    await send([
      { type: 'page', anonymousId: 'erase-anon-1', name: 'Home', context: { page: { url: 'https://shop.example/?utm_campaign=x', referrer: 'https://www.google.com/search?q=erase+keyword' } } },
      { type: 'identify', anonymousId: 'erase-anon-2', traits: { email: 'erase-me@example.com', note: 'Erase Secret Trait' } },
      { type: 'identify', anonymousId: 'erase-anon-1', userId: 'erase-user' },
      { type: 'identify', anonymousId: 'erase-anon-2', userId: 'erase-user' },
      { type: 'track', userId: 'erase-user', event: SLOT_EVENTS.impression, properties: { offerId: 'off_x' } },
    ]);
    await send([{ type: 'alias', userId: 'erase-user', previousId: 'erase-old-id' }], `Bearer ${t.site.secret}`);
    // Someone else, who must survive the erasure.
    await send([{ type: 'identify', anonymousId: 'bystander', userId: 'bystander-user' }]);

    const [p] = (await t.api('GET', `/api/profiles?site=${t.site.id}&userId=erase-user`)).body.profiles;
    const exported = await fetch(`${t.url}/api/profiles/${p.id}/export`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(exported.headers.get('content-disposition')).toContain(`profile-${p.id}.json`);
    const data = await exported.json();
    expect(data.profile).toMatchObject({ id: p.id, userId: 'erase-user', traits: { email: 'erase-me@example.com' } });
    expect(data.identities.map((i: { value: string }) => i.value).sort()).toEqual(['erase-anon-1', 'erase-anon-2', 'erase-me@example.com', 'erase-old-id', 'erase-user'].filter((v) => v !== 'erase-me@example.com').sort());
    expect(data.events).toHaveLength(6);
    expect(data.merges.length).toBeGreaterThanOrEqual(2);

    const deleted = await t.api('DELETE', `/api/profiles/${p.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.removed.events).toBeGreaterThanOrEqual(6);

    for (const [table, rows] of Object.entries(await allRows(t.dbPath))) {
      const text = rows.map((r) => JSON.stringify(r)).join('\n');
      for (const value of [p.id, ...secretValues, 'erase-old-id', 'erase keyword']) {
        expect(text.includes(value), `${table} still names ${value}`).toBe(false);
      }
    }
    expect((await t.api('GET', `/api/profiles/${p.id}`)).status).toBe(404);
    expect((await t.api('GET', `/api/profiles?site=${t.site.id}&userId=bystander-user`)).body.profiles).toHaveLength(1);
    // The same people sending again start from nothing.
    await send([{ type: 'track', anonymousId: 'erase-anon-1', event: 'Back' }]);
    const [again] = (await t.api('GET', `/api/profiles?site=${t.site.id}&anonymousId=erase-anon-1`)).body.profiles;
    expect(again.userId).toBeNull();
    expect(again.computed.eventCount).toBe(1);
  });
});
