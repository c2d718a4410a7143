import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  const batch = Array.from({ length: 25 }, (_, i) => ({
    type: i % 5 === 0 ? 'page' : 'track',
    event: i % 5 === 0 ? undefined : `Step ${i}`,
    messageId: `paging-${i}`,
    anonymousId: i < 10 ? 'pager-a' : 'pager-b',
    userId: i >= 20 ? 'pager-user' : undefined,
  }));
  const res = await t.send('/v1/batch', { batch });
  expect(res.status).toBe(200);
});
afterAll(() => t.stop());

describe('GET /api/events', () => {
  it('pages newest first with an opaque cursor, without repeats or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await t.api('GET', `/api/events?site=${t.site.id}&limit=7${q}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.events.map((e: { messageId: string }) => e.messageId));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `paging-${24 - i}`));
  });

  it('filters by type, anonymousId, userId and profile', async () => {
    const pages = (await t.api('GET', `/api/events?site=${t.site.id}&type=page`)).body.events;
    expect(pages).toHaveLength(5);
    const a = (await t.api('GET', `/api/events?site=${t.site.id}&anonymousId=pager-a`)).body.events;
    expect(a).toHaveLength(10);
    const user = (await t.api('GET', `/api/events?site=${t.site.id}&userId=pager-user`)).body.events;
    expect(user).toHaveLength(5);
    const profile = (await t.api('GET', `/api/events?site=${t.site.id}&profile=${user[0].profileId}`)).body.events;
    expect(profile.length).toBe(15);
  });

  it.each([
    ['', 400, 'site: is required'],
    ['site=site_nope', 404, 'no site site_nope'],
    ['type=purchase', 400, 'type: must be one of'],
    ['limit=0', 400, 'limit: must be a whole number from 1 to 500'],
    ['limit=abc', 400, 'limit:'],
    ['cursor=garbage', 400, 'cursor:'],
  ])('answers %s with %i', async (query, status, error) => {
    const site = query.startsWith('site=') ? '' : `site=${t.site.id}&`;
    const res = await t.api('GET', `/api/events?${query === '' ? '' : site + query}`);
    expect(res.status).toBe(status);
    expect(res.body.error).toContain(error);
  });
});
