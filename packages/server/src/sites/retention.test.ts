import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { runRetention } from './retention.js';

const DAY = 86_400_000;
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.stop());

const eventsOf = async (siteId: string) => (await t.api('GET', `/api/events?site=${siteId}&limit=100`)).body.events as Array<{ messageId: string }>;

describe('retention (retentionDays)', () => {
  it('deletes the events older than a site keeps, and nothing of a site without retention', async () => {
    const now = Date.now();
    const keeper = await t.createSite({ name: 'Keeps all', origins: [], settings: { requireUserHash: false } });
    const old = (days: number, id: string) => ({ type: 'track', event: 'Seen', anonymousId: 'ret-a', messageId: id, timestamp: new Date(now - days * DAY).toISOString() });
    const batch = { batch: [old(100, 'ret-100'), old(40, 'ret-40'), old(5, 'ret-5')] };
    expect((await t.send('/v1/batch', batch)).status).toBe(200);
    const auth = { authorization: `Basic ${Buffer.from(`${keeper.writeKey}:`).toString('base64')}` };
    expect((await t.send('/v1/batch', batch, { headers: auth })).status).toBe(200);

    // No site keeps less than everything yet: nothing to do, no lease taken.
    expect(await runRetention(t.server.store, t.server.sites.list(), 'node-a', now)).toBeNull();

    const patched = await t.api('PATCH', `/api/sites/${t.site.id}`, { retentionDays: 30 });
    expect(patched.body.retentionDays).toBe(30);
    // Another node holds this period's lease: this one does nothing.
    expect(await t.server.store.lease('retention', 'node-b', 60_000)).toBe(true);
    expect(await runRetention(t.server.store, t.server.sites.list(), 'node-a', now)).toBeNull();
    const result = await runRetention(t.server.store, t.server.sites.list(), 'node-b', now);
    expect(result?.events).toBe(2);

    expect((await eventsOf(t.site.id)).map((e) => e.messageId)).toEqual(['ret-5']);
    expect((await eventsOf(keeper.id)).map((e) => e.messageId).sort()).toEqual(['ret-100', 'ret-40', 'ret-5']);
    // The profile stays, with what it had counted.
    const [profile] = (await t.api('GET', `/api/profiles?site=${t.site.id}&anonymousId=ret-a`)).body.profiles;
    expect(profile.computed.eventCount).toBe(3);
  });

  it('takes null to keep everything again, and refuses a retention of no days', async () => {
    expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { retentionDays: null })).body.retentionDays).toBeNull();
    const bad = await t.api('PATCH', `/api/sites/${t.site.id}`, { retentionDays: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('retentionDays: must be at least 1');
  });
});
