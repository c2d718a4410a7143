import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userHashOf } from '../identity/verify.js';
import { allRows } from '../test-support/inspect-db.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
let n = 0;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const base = Date.now() - 20 * DAY;
const at = (ms: number) => new Date(ms).toISOString();
const mid = () => `p-${++n}`;

beforeAll(async () => {
  t = await startTestServer({ origins: ['https://shop.example'] });
});
afterAll(() => t.stop());

async function send(batch: Array<Record<string, unknown>>, auth?: string) {
  const res = await t.send('/v1/batch', { batch: batch.map((m) => ({ messageId: mid(), ...m })) }, auth ? { headers: { authorization: auth } } : undefined);
  expect(res.status).toBe(200);
  return res.json();
}
const profileBy = async (query: string, site = t.site.id) => {
  const list = (await t.api('GET', `/api/profiles?site=${site}&${query}`)).body.profiles;
  return list;
};
const profile = async (id: string) => (await t.api('GET', `/api/profiles/${id}`)).body;

const page = (anonymousId: string, ts: number, url: string, referrer = '', extra: Record<string, unknown> = {}) => ({
  type: 'page',
  anonymousId,
  timestamp: at(ts),
  context: {
    page: { url, referrer, path: new URL(url).pathname, title: 'Page' },
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  },
  ...extra,
});

describe('merge rules', () => {
  it('merges an anonymous visitor into the known customer on identify, with history', async () => {
    await send([
      page('anon-known', base, 'https://shop.example/trips', 'https://www.google.com/search?q=cheap+flights'),
      { type: 'identify', anonymousId: 'anon-known', userId: 'known-1', timestamp: at(base + 1000), traits: { name: 'Old Name' } },
    ]);
    // A second device: anonymous browsing, then login.
    await send([
      page('anon-device-2', base + DAY, 'https://shop.example/hotels', 'https://www.bing.com/search?q=family+hotel'),
      { type: 'track', anonymousId: 'anon-device-2', event: 'Product Viewed', timestamp: at(base + DAY + 1000) },
    ]);
    const [device2] = await profileBy('anonymousId=anon-device-2');
    expect(device2.userId).toBeNull();
    await send([{ type: 'identify', anonymousId: 'anon-device-2', userId: 'known-1', timestamp: at(base + DAY + 2000), traits: { name: 'New Name' } }]);

    const [known] = await profileBy('userId=known-1');
    const full = await profile(known.id);
    expect(full.identities).toEqual(
      expect.arrayContaining([
        { kind: 'anonymous', value: 'anon-known' },
        { kind: 'anonymous', value: 'anon-device-2' },
        { kind: 'user', value: 'known-1' },
      ]),
    );
    expect(full.traits).toEqual({ name: 'New Name' });
    expect(full.computed).toMatchObject({ pageviews: 2, events: { 'Product Viewed': 1 }, sessions: 2 });
    expect(full.computed.firstTouch).toMatchObject({ medium: 'search', source: 'Google', term: 'cheap flights' });
    expect(full.computed.lastTouch).toMatchObject({ medium: 'search', source: 'Bing', term: 'family hotel' });
    expect(full.merges.map((m: { rule: string }) => m.rule)).toEqual(['identify', 'identify']);
    expect(full.merges[1]).toMatchObject({ from: device2.id, into: known.id, ids: { anonymousId: 'anon-device-2', userId: 'known-1' } });
    const timeline = (await t.api('GET', `/api/profiles/${known.id}/events?limit=100`)).body.events;
    expect(timeline).toHaveLength(5);
    // The merged-away profile redirects to the one it lives on in.
    const old = await fetch(`${t.url}/api/profiles/${device2.id}`, { headers: { authorization: `Bearer ${t.adminToken}` }, redirect: 'manual' });
    expect(old.status).toBe(308);
    expect(old.headers.get('location')).toBe(`/api/profiles/${known.id}`);
  });

  it('keeps the newest value of each trait, whichever profile it came from', async () => {
    await send([{ type: 'identify', userId: 'traits-user', anonymousId: 'tr-1', timestamp: at(base + 5 * DAY), traits: { plan: 'gold', city: 'Lyon' } }]);
    await send([{ type: 'identify', anonymousId: 'tr-2', timestamp: at(base + 6 * DAY), traits: { plan: 'platinum' } }]);
    await send([{ type: 'identify', anonymousId: 'tr-2', userId: 'traits-user', timestamp: at(base + 4 * DAY), traits: { city: 'Paris' } }]);
    const [p] = await profileBy('userId=traits-user');
    // plan: platinum (day 6) beats gold (day 5); city: Lyon (day 5) beats Paris (day 4, sent late).
    expect(p.traits).toEqual({ plan: 'platinum', city: 'Lyon' });
  });

  it('never merges two users of a shared computer', async () => {
    await send([
      { type: 'identify', anonymousId: 'shared-pc', userId: 'alice', timestamp: at(base) },
      { type: 'track', anonymousId: 'shared-pc', userId: 'alice', event: 'Alice Thing', timestamp: at(base + 1) },
    ]);
    await send([{ type: 'identify', anonymousId: 'shared-pc', userId: 'bob', timestamp: at(base + HOUR) }]);
    await send([{ type: 'track', anonymousId: 'shared-pc', event: 'After Bob', timestamp: at(base + 2 * HOUR) }]);
    const [alice] = await profileBy('userId=alice');
    const [bob] = await profileBy('userId=bob');
    expect(alice.id).not.toBe(bob.id);
    expect(alice.computed.events).toEqual({ 'Alice Thing': 1 });
    expect(bob.computed.events).toEqual({ 'After Bob': 1 });
    const bobFull = await profile(bob.id);
    expect(bobFull.identities).toContainEqual({ kind: 'anonymous', value: 'shared-pc' });
    expect(bobFull.merges[0]).toMatchObject({ rule: 'anonymous-moved', from: alice.id, into: bob.id });
    expect((await profile(alice.id)).identities).not.toContainEqual({ kind: 'anonymous', value: 'shared-pc' });
  });

  it('merges previousId into userId on an alias sent with the site secret', async () => {
    await send([{ type: 'track', userId: 'old-login', anonymousId: 'al-1', event: 'Before', timestamp: at(base) }]);
    await send([{ type: 'track', userId: 'new-login', anonymousId: 'al-2', event: 'After', timestamp: at(base + HOUR) }]);
    await send([{ type: 'alias', userId: 'new-login', previousId: 'old-login', timestamp: at(base + 2 * HOUR) }], `Bearer ${t.site.secret}`);
    const [p] = await profileBy('userId=new-login');
    expect(p.computed.events).toEqual({ Before: 1, After: 1 });
    expect((await profileBy('userId=old-login'))[0].id).toBe(p.id);
    const full = await profile(p.id);
    expect(full.userId).toBe('new-login');
    expect(full.identities.filter((i: { kind: string }) => i.kind === 'user')).toEqual([{ kind: 'user', value: 'new-login' }]);
    expect(full.identities).toContainEqual({ kind: 'alias', value: 'old-login' });
    expect(full.merges.at(-1)).toMatchObject({ rule: 'alias' });
  });

  it('links emails only when the site turns email matching on, and only from vouched-for senders', async () => {
    for (const emailMatching of [false, true]) {
      const { body: site } = await t.api('POST', '/api/sites', { name: `Email ${emailMatching}`, emailMatching });
      const server = `Bearer ${site.secret}`;
      await send([{ type: 'identify', anonymousId: 'laptop', traits: { email: 'Jo@Example.com' }, timestamp: at(base) }], server);
      await send([{ type: 'identify', anonymousId: 'phone', traits: { email: 'jo@example.com' }, timestamp: at(base + 1) }], server);
      expect(await profileBy('email=jo@example.com', site.id)).toHaveLength(emailMatching ? 1 : 2);
      // The same from a browser, with nothing that vouches for it, links nothing.
      const browser = `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`;
      await send([{ type: 'identify', anonymousId: 'tablet', traits: { email: 'jo@example.com' }, timestamp: at(base + 2) }], browser);
      expect(await profileBy('email=jo@example.com', site.id)).toHaveLength(emailMatching ? 2 : 3);
    }
  });
});

describe('identity verification', () => {
  it('stops a browser from attaching itself to a customer by guessing the user id', async () => {
    const { body: site } = await t.api('POST', '/api/sites', { name: 'Verified shop', requireUserHash: true });
    const browser = `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`;
    const server = `Bearer ${site.secret}`;
    await send([{ type: 'identify', userId: 'victim', traits: { vip: true, email: 'victim@example.com' }, timestamp: at(base) }], server);
    const [victim] = await profileBy('userId=victim', site.id);

    const answer = await send(
      [
        { type: 'identify', anonymousId: 'attacker', userId: 'victim', traits: { email: 'attacker@example.com' } },
        { type: 'identify', anonymousId: 'attacker', userId: 'victim', context: { userHash: 'f'.repeat(64) } },
      ],
      browser,
    );
    expect(answer.warnings.map((w: { code: string }) => w.code)).toEqual(['unverified_user', 'unverified_user']);
    const after = await profile(victim.id);
    expect(after.traits).toEqual({ vip: true, email: 'victim@example.com' });
    expect(after.identities).not.toContainEqual({ kind: 'anonymous', value: 'attacker' });
    const [attacker] = await profileBy('anonymousId=attacker', site.id);
    expect(attacker.id).not.toBe(victim.id);
    expect(attacker.userId).toBeNull();

    // With the right hash, the browser joins the customer.
    await send([{ type: 'identify', anonymousId: 'real-browser', userId: 'victim', context: { userHash: userHashOf(site.secret, 'victim') } }], browser);
    expect((await profile(victim.id)).identities).toContainEqual({ kind: 'anonymous', value: 'real-browser' });
  });

  it('merges freely when verification is off', async () => {
    await send([{ type: 'identify', anonymousId: 'free-anon', userId: 'free-user' }]);
    const [p] = await profileBy('userId=free-user');
    expect((await profile(p.id)).identities).toContainEqual({ kind: 'anonymous', value: 'free-anon' });
  });
});

describe('concurrency', () => {
  it('ends racing identifies of one anonymous id in one consistent state', async () => {
    const requests = Array.from({ length: 40 }, (_, i) =>
      send([
        { type: 'track', anonymousId: 'race-anon', event: `Race ${i % 3}` },
        { type: 'identify', anonymousId: 'race-anon', userId: 'race-user', traits: { i } },
        { type: 'track', anonymousId: `race-device-${i}`, event: 'Other device' },
        { type: 'identify', anonymousId: `race-device-${i}`, userId: 'race-user' },
      ]),
    );
    await Promise.all(requests);
    const profiles = await profileBy('userId=race-user');
    expect(profiles).toHaveLength(1);
    expect(profiles[0].computed.eventCount).toBe(160);
    const { identities, profiles: rows, events } = await allRows(t.dbPath);
    const live = new Set(rows.filter((p) => p.merged_into === null).map((p) => `${p.site_id}/${p.id}`));
    expect(identities.filter((i) => !live.has(`${i.site_id}/${i.profile_id}`))).toEqual([]);
    expect(events.filter((e) => !live.has(`${e.site_id}/${e.profile_id}`))).toEqual([]);
    const anonymous = identities.filter((i) => i.kind === 'anonymous' && String(i.value).startsWith('race-')).map((i) => i.profile_id);
    expect(new Set(anonymous)).toEqual(new Set([profiles[0].id]));
  });
});
