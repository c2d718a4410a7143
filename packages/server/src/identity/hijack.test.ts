// The profile takeovers that the public write key allowed, tried as an attacker would, over HTTP:
// each one ends with the attacker's slots, which fill placeholders from the profile they land on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';
import type { Site } from '../store/types.js';
import { userHashOf } from './verify.js';

let t: TestServer;
let n = 0;
const basic = (site: Site) => `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

/** A new site (verification on, as for every new site) with an offer that shows the visitor's traits. */
async function shop(settings: Partial<Site['settings']> = {}) {
  const site = await t.createSite({ name: `Shop ${++n}`, origins: [], settings });
  const offer = await t.api('POST', '/api/offers', {
    site: site.id,
    name: 'Welcome back',
    slot: 'hero',
    priority: 1,
    content: { title: 'Hi {{traits.firstName|there}}', text: 'Your code: {{traits.coupon|none}}' },
  });
  expect(offer.status, JSON.stringify(offer.body)).toBe(201);
  return site;
}

async function collect(site: Site, batch: Array<Record<string, unknown>>, authorization = basic(site)) {
  const res = await t.send('/v1/batch', { batch: batch.map((m) => ({ messageId: `h-${++n}`, ...m })) }, { headers: { authorization } });
  expect(res.status).toBe(200);
  return res.json();
}

async function decide(site: Site, body: Record<string, unknown>) {
  const res = await t.send('/v1/decide', { slots: ['hero'], ...body }, { headers: { authorization: basic(site) } });
  expect(res.status).toBe(200);
  return res.json();
}

const signed = (site: Site, userId: string) => ({ userId, context: { userHash: userHashOf(site.secret, userId) } });

async function profileOf(site: Site, query: string) {
  const { body } = await t.api('GET', `/api/profiles?site=${site.id}&${query}`);
  return body.profiles as Array<{ id: string; userId: string | null; traits: Record<string, unknown> }>;
}

/** The victim logs in on their own browser; the attacker has an account of their own. */
async function victimAndAttacker(site: Site) {
  await collect(site, [
    { type: 'identify', anonymousId: 'victim-browser', ...signed(site, 'victim'), traits: { firstName: 'Vera', coupon: 'VIP-4711', email: 'vera@example.com' } },
    { type: 'identify', anonymousId: 'attacker-browser', ...signed(site, 'attacker'), traits: { firstName: 'Mallory' } },
  ]);
  const [victim] = await profileOf(site, 'userId=victim');
  return victim;
}

const attackerDecides = (site: Site) => decide(site, { anonymousId: 'attacker-browser', ...signed(site, 'attacker') });

describe('alias with the public write key', () => {
  for (const previousId of ['victim', 'victim-browser']) {
    it(`cannot take over a verified customer by naming their ${previousId === 'victim' ? 'user id' : 'anonymous id'} as previousId`, async () => {
      const site = await shop();
      const victim = await victimAndAttacker(site);
      const answer = await collect(site, [{ type: 'alias', anonymousId: 'attacker-browser', previousId, ...signed(site, 'attacker') }]);
      expect(answer.warnings).toMatchObject([{ index: 0, code: 'alias_refused', field: 'previousId' }]);

      const slot = (await attackerDecides(site)).slots.hero;
      expect(slot.content).toEqual({ title: 'Hi Mallory', text: 'Your code: none' });
      const [still] = await profileOf(site, 'userId=victim');
      expect(still).toMatchObject({ id: victim.id, userId: 'victim', traits: { coupon: 'VIP-4711' } });
      const full = (await t.api('GET', `/api/profiles/${victim.id}`)).body;
      expect(full.identities).toContainEqual({ kind: 'anonymous', value: 'victim-browser' });
      expect(full.merges.filter((m: { rule: string }) => m.rule === 'alias')).toEqual([]);
      // The victim's own browser still gets the victim's content.
      expect((await decide(site, { anonymousId: 'victim-browser', ...signed(site, 'victim') })).slots.hero.content.text).toBe('Your code: VIP-4711');
    });
  }

  it("links the sender's own anonymous id, as the SDK's alias() sends it", async () => {
    const site = await shop();
    await collect(site, [{ type: 'page', anonymousId: 'new-browser' }]);
    const answer = await collect(site, [{ type: 'alias', anonymousId: 'new-browser', previousId: 'new-browser', ...signed(site, 'signed-up') }]);
    expect(answer.warnings).toBeUndefined();
    const [p] = await profileOf(site, 'userId=signed-up');
    expect((await profileOf(site, 'anonymousId=new-browser'))[0].id).toBe(p.id);
  });

  it('links any id when sent with the site secret', async () => {
    const site = await shop();
    await victimAndAttacker(site);
    await collect(site, [{ type: 'alias', userId: 'victim-new-login', previousId: 'victim' }], `Bearer ${site.secret}`);
    expect((await profileOf(site, 'userId=victim-new-login'))[0]?.traits.coupon).toBe('VIP-4711');
  });
});

describe('email matching', () => {
  it("never joins an anonymous visitor to the customer whose email they type", async () => {
    const site = await shop({ emailMatching: true });
    const victim = await victimAndAttacker(site);
    await collect(site, [{ type: 'identify', anonymousId: 'stranger', traits: { email: 'Vera@Example.com' } }]);
    const slot = (await decide(site, { anonymousId: 'stranger' })).slots.hero;
    expect(slot.content.text).toBe('Your code: none');
    const [stranger] = await profileOf(site, 'anonymousId=stranger');
    expect(stranger.id).not.toBe(victim.id);
  });

  it('joins on an email that a verified message carries', async () => {
    const site = await shop({ emailMatching: true });
    const victim = await victimAndAttacker(site);
    await collect(site, [{ type: 'identify', anonymousId: 'vera-phone', ...signed(site, 'vera-second-login'), traits: { email: 'vera@example.com' } }]);
    // Two user ids are never merged; an anonymous phone with a verified login and the same email is another user.
    expect((await profileOf(site, 'userId=vera-second-login'))[0].id).not.toBe(victim.id);
    await collect(site, [{ type: 'identify', anonymousId: 'vera-tablet', traits: { email: 'vera@example.com' } }], `Bearer ${site.secret}`);
    expect((await profileOf(site, 'anonymousId=vera-tablet'))[0].id).toBe(victim.id);
  });
});

describe('decide', () => {
  it('never answers as a customer for a bare user id, even on a site without verification', async () => {
    const site = await shop({ requireUserHash: false });
    await collect(site, [{ type: 'identify', userId: 'victim', traits: { firstName: 'Vera', coupon: 'VIP-4711' } }], `Bearer ${site.secret}`);
    const bare = await decide(site, { anonymousId: 'attacker-browser', userId: 'victim' });
    expect(bare.slots.hero.content).toEqual({ title: 'Hi there', text: 'Your code: none' });
    expect(bare.warnings).toMatchObject([{ code: 'unverified_user', field: 'context.userHash' }]);
    const noAnonymous = await decide(site, { userId: 'victim' });
    expect(noAnonymous.slots.hero.content.text).toBe('Your code: none');
    // With its hash, the user id is the customer's.
    const verified = await decide(site, { anonymousId: 'victim-laptop', ...signed(site, 'victim') });
    expect(verified.slots.hero.content.text).toBe('Your code: VIP-4711');
    expect(verified.warnings).toBeUndefined();
  });

  it('requires verification on a new site', async () => {
    const created = await t.api('POST', '/api/sites', { name: `Fresh ${++n}`, origins: [] });
    expect(created.body.requireUserHash).toBe(true);
  });
});
