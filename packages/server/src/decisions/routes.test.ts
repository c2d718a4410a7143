import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOT_EVENTS } from '@rapport/protocol';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { userHashOf } from '../identity/verify.js';
import { inControlGroup } from './bucket.js';
import { twoProportionTest } from './statistics.js';

const ORIGIN = 'https://travel.example';
const DAY = 86_400_000;
let t: TestServer;
let n = 0;

beforeAll(async () => {
  t = await startTestServer({ origins: [ORIGIN] });
});
afterAll(() => t.stop());

const api = <T = any>(method: string, path: string, body?: unknown) => t.api<T>(method, path, body);
async function send(batch: Array<Record<string, unknown>>) {
  const res = await t.send('/v1/batch', { batch: batch.map((m) => ({ messageId: `d-${++n}`, ...m })) });
  expect(res.status).toBe(200);
}
async function decide(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await t.send('/v1/decide', body, { headers });
  return { status: res.status, body: await res.json(), headers: res.headers };
}
async function segment(name: string, rule: unknown, site = t.site.id) {
  const res = await api('POST', '/api/segments', { site, name, rule });
  expect(res.status).toBe(201);
  return res.body;
}
async function offer(fields: Record<string, unknown>) {
  const res = await api('POST', '/api/offers', { site: t.site.id, ...fields });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const fromSearch = (anonymousId: string, q: string, slots = ['hero']) => ({
  anonymousId,
  slots,
  context: { page: { url: `${ORIGIN}/`, referrer: `https://www.google.com/search?q=${encodeURIComponent(q)}` } },
});

describe('segments API', () => {
  it('validates rules on save with the path and reason', async () => {
    const res = await api('POST', '/api/segments', { site: t.site.id, name: 'Bad', rule: { all: [{ field: 'page.path', op: 'eq', value: '/' }, { field: 'page.path', op: 'bigger', value: 1 }] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^rule\.all\[1\]\.op: unknown operator "bigger"/);
    expect(res.body.details[0]).toMatchObject({ field: 'rule.all[1].op' });
    expect((await api('POST', '/api/segments', { site: t.site.id, name: 'No rule' })).body.error).toBe('rule: is required');
    expect((await api('POST', '/api/segments', { site: 'site_nope', name: 'x', rule: { field: 'identified', op: 'eq', value: true } })).status).toBe(404);
  });

  it('creates, reads, replaces and deletes a segment; names are unique per site', async () => {
    const created = await segment('Buyers', { event: 'Order Completed', op: 'gte', value: 1 });
    expect(created.id).toMatch(/^seg_/);
    expect((await api('GET', `/api/segments/${created.id}`)).body.name).toBe('Buyers');
    const dup = await api('POST', '/api/segments', { site: t.site.id, name: 'Buyers', rule: { field: 'identified', op: 'eq', value: true } });
    expect(dup.status).toBe(409);
    const replaced = await api('PUT', `/api/segments/${created.id}`, { name: 'Big buyers', rule: { event: 'Order Completed', op: 'gte', value: 2 } });
    expect(replaced.body).toMatchObject({ name: 'Big buyers', rule: { value: 2 } });
    expect((await api('DELETE', `/api/segments/${created.id}`)).status).toBe(200);
    expect((await api('GET', `/api/segments/${created.id}`)).status).toBe(404);
  });

  it('names the rule itself when it is not a rule, and refuses to move a segment to another site', async () => {
    const notRule = await api('POST', '/api/segments', { site: t.site.id, name: 'Not a rule', rule: 5 });
    expect(notRule.status).toBe(400);
    expect(notRule.body.error).toMatch(/^rule: must be an object/);
    expect(notRule.body.details[0]).toMatchObject({ field: 'rule' });
    const created = await segment('Stays home', { field: 'identified', op: 'eq', value: true });
    const other = await api('POST', '/api/sites', { name: 'Other site', origins: [] });
    const moved = await api('PUT', `/api/segments/${created.id}`, { site: other.body.id, name: 'Stays home', rule: created.rule });
    expect(moved.status).toBe(400);
    expect(moved.body.error).toBe('site: a segment cannot move to another site');
    expect((await api('PUT', `/api/segments/${created.id}`, { site: t.site.id, name: 'Stays home', rule: created.rule })).status).toBe(200);
    expect((await api('DELETE', `/api/segments/${created.id}`)).status).toBe(200);
  });

  it('previews counts, lists member counts, and lists members', async () => {
    await send([
      { type: 'track', userId: 'gold-1', event: 'Order Completed', properties: { revenue: 500 } },
      { type: 'track', userId: 'gold-2', event: 'Order Completed', properties: { revenue: 700 } },
      { type: 'track', userId: 'window-shopper', event: 'Product Viewed' },
    ]);
    const rule = { field: 'computed.revenue', op: 'gte', value: 500 };
    expect((await api('POST', '/api/segments/preview', { site: t.site.id, rule })).body).toEqual({ count: 2 });
    const bad = await api('POST', '/api/segments/preview', { site: t.site.id, rule: { field: 'computed.revenue', op: 'gte' } });
    expect(bad.status).toBe(400);
    const gold = await segment('Gold', rule);
    const listed = (await api('GET', `/api/segments?site=${t.site.id}&counts=true`)).body.segments;
    expect(listed.find((s: { id: string }) => s.id === gold.id).count).toBe(2);
    const members = (await api('GET', `/api/profiles?site=${t.site.id}&segment=${gold.id}&limit=1`)).body;
    expect(members.profiles).toHaveLength(1);
    const next = (await api('GET', `/api/profiles?site=${t.site.id}&segment=${gold.id}&limit=1&cursor=${members.nextCursor}`)).body;
    expect(next.profiles).toHaveLength(1);
    expect(next.nextCursor).toBeNull();
    expect(new Set([members.profiles[0].userId, next.profiles[0].userId])).toEqual(new Set(['gold-1', 'gold-2']));
    const profile = (await api('GET', `/api/profiles/${members.profiles[0].id}`)).body;
    expect(profile.segments).toContainEqual({ id: gold.id, name: 'Gold' });
  });
});

describe('offers API', () => {
  it.each([
    [{ name: 'x', slot: 'bad slot!', content: { title: 'x' } }, 'slot: must be 1 to 100 letters'],
    [{ name: 'x', slot: 'hero', content: { title: 'x', link: 'javascript:alert(1)' } }, 'content.link: must be an http(s) URL or a path starting with /'],
    [{ name: 'x', slot: 'hero', content: { body: 'x' } }, 'content.body: unknown field'],
    [{ name: 'x', slot: 'hero', content: {} }, 'content: is required'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, controlPercent: 150 }, 'controlPercent: must be at most 100'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, cap: { count: 0, days: 1 } }, 'cap.count: must be a whole number from 1 to 1000'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, goal: { event: '' } }, 'event: must not be empty'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, goal: { event: '' } }, 'goal.event: must not be empty'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, goal: { event: 'Signed Up', within: 3 } }, 'goal.within: unknown field'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, cap: { count: 1, days: 1, weeks: 2 } }, 'cap.weeks: unknown field'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, status: 'live' }, 'status: must be one of active, paused, draft'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, startsAt: '2026-02-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' }, 'endsAt: must be after startsAt'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, segment: 'seg_nope' }, 'segment: no segment seg_nope in this site'],
    [{ name: 'x', slot: 'hero', content: { title: 'x' }, colour: 'red' }, 'colour: unknown field'],
  ])('refuses %j', async (fields, error) => {
    const res = await api('POST', '/api/offers', { site: t.site.id, ...fields });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain(error);
  });

  it('pauses and resumes an offer, and refuses to delete a segment in use', async () => {
    const seg = await segment('Used', { field: 'identified', op: 'eq', value: false });
    const created = await offer({ name: 'Pausable', slot: 'pause-slot', segment: seg.id, content: { title: 'Hi' } });
    expect(created).toMatchObject({ status: 'active', priority: 0, controlPercent: 0, segment: seg.id });
    expect((await decide({ anonymousId: 'p-v', slots: ['pause-slot'] })).body.slots['pause-slot']).toMatchObject({ offerId: created.id });
    expect((await api('PATCH', `/api/offers/${created.id}`, { status: 'paused' })).body.status).toBe('paused');
    expect((await decide({ anonymousId: 'p-v', slots: ['pause-slot'] })).body.slots['pause-slot']).toBeNull();
    await api('PATCH', `/api/offers/${created.id}`, { status: 'active' });
    expect((await decide({ anonymousId: 'p-v', slots: ['pause-slot'] })).body.slots['pause-slot']).not.toBeNull();
    expect((await api('DELETE', `/api/segments/${seg.id}`)).status).toBe(409);
    expect((await api('GET', `/api/offers?site=${t.site.id}&slot=pause-slot`)).body.offers).toHaveLength(1);
    expect((await api('DELETE', `/api/offers/${created.id}`)).status).toBe(200);
    expect((await api('DELETE', `/api/segments/${seg.id}`)).status).toBe(200);
  });
});

describe('POST /v1/decide', () => {
  it('personalizes the first page view by search keyword, before any event is stored', async () => {
    const thailand = await segment('Thailand searchers', { field: 'referrer.current.term', op: 'contains', value: 'thailand' });
    const argentina = await segment('Argentina searchers', { field: 'referrer.first.term', op: 'contains', value: 'argentina' });
    const family = await offer({ name: 'Family hotels', slot: 'hero', segment: thailand.id, priority: 10, content: { title: 'Family hotels with babysitting', link: '/hotels/family' } });
    const extreme = await offer({ name: 'Extreme insurance', slot: 'hero', segment: argentina.id, priority: 10, content: { title: 'Extreme-sports insurance', link: '/insurance/extreme' } });
    const fallback = await offer({ name: 'Everyone', slot: 'hero', priority: 1, content: { title: 'Spring sale' } });

    const parent = await decide(fromSearch('first-visit-parent', 'family holiday thailand'));
    expect(parent.status).toBe(200);
    expect(parent.headers.get('cache-control')).toBe('no-store');
    expect(parent.body.slots.hero).toMatchObject({ offerId: family.id, variant: 'offer', content: { title: 'Family hotels with babysitting' } });
    const graduate = await decide(fromSearch('first-visit-grad', 'argentina backpacking'));
    expect(graduate.body.slots.hero).toMatchObject({ offerId: extreme.id, content: { link: '/insurance/extreme' } });
    const other = await decide(fromSearch('first-visit-other', 'cheap flights'));
    expect(other.body.slots.hero).toMatchObject({ offerId: fallback.id, reason: 'everyone' });
    // Nothing was stored for them.
    expect((await api('GET', `/api/profiles?site=${t.site.id}&anonymousId=first-visit-parent`)).body.profiles).toHaveLength(0);
    // Unknown slots answer null: keep the default.
    expect((await decide({ anonymousId: 'x', slots: ['hero', 'sidebar'] })).body.slots.sidebar).toBeNull();
  });

  it('remembers the keyword of the first visit on later pages', async () => {
    await send([
      { type: 'page', anonymousId: 'returning-grad', context: { page: { url: `${ORIGIN}/`, referrer: 'https://www.google.com/search?q=argentina+backpacking' } } },
    ]);
    const later = await decide({ anonymousId: 'returning-grad', slots: ['hero'], context: { page: { url: `${ORIGIN}/trips`, referrer: `${ORIGIN}/` } } });
    expect(later.body.slots.hero.content.title).toBe('Extreme-sports insurance');
  });

  it('keeps control buckets stable, and a control visitor on the default', async () => {
    const tested = await offer({ name: 'Half control', slot: 'ab-slot', controlPercent: 50, content: { title: 'Treatment' } });
    const variants = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const id = `bucket-${i}`;
      const answer = (await decide({ anonymousId: id, slots: ['ab-slot'] })).body.slots['ab-slot'];
      variants.set(id, answer.variant);
      expect(answer.variant).toBe(inControlGroup(id, tested.id, 50) ? 'control' : 'offer');
      if (answer.variant === 'control') expect(answer.content).toBeNull();
    }
    expect(new Set(variants.values())).toEqual(new Set(['control', 'offer']));
    for (const [id, variant] of variants) {
      expect((await decide({ anonymousId: id, slots: ['ab-slot'] })).body.slots['ab-slot'].variant).toBe(variant);
    }
    // The bucket survives the visitor's first stored event (the profile keeps the first id).
    const id = [...variants.keys()][0];
    await send([{ type: 'page', anonymousId: id }]);
    expect((await decide({ anonymousId: id, slots: ['ab-slot'] })).body.slots['ab-slot'].variant).toBe(variants.get(id));
  });

  it('honours frequency caps', async () => {
    const capped = await offer({ name: 'Capped', slot: 'cap-slot', priority: 5, cap: { count: 2, days: 7 }, content: { title: 'Capped' } });
    const backup = await offer({ name: 'Backup', slot: 'cap-slot', priority: 1, content: { title: 'Backup' } });
    const seen = () => send([{ type: 'track', anonymousId: 'capped-visitor', event: SLOT_EVENTS.impression, properties: { offerId: capped.id, slot: 'cap-slot', variant: 'offer' } }]);
    const shown = async () => (await decide({ anonymousId: 'capped-visitor', slots: ['cap-slot'] })).body.slots['cap-slot'].offerId;
    expect(await shown()).toBe(capped.id);
    await seen();
    expect(await shown()).toBe(capped.id);
    await seen();
    expect(await shown()).toBe(backup.id);
  });

  it('honours schedules', async () => {
    const now = Date.now();
    await offer({ name: 'Future', slot: 'sched', priority: 9, startsAt: new Date(now + DAY).toISOString(), content: { title: 'Future' } });
    await offer({ name: 'Past', slot: 'sched', priority: 8, endsAt: new Date(now - DAY).toISOString(), content: { title: 'Past' } });
    const current = await offer({ name: 'Now', slot: 'sched', priority: 1, startsAt: new Date(now - DAY).toISOString(), endsAt: new Date(now + DAY).toISOString(), content: { title: 'Now' } });
    expect((await decide({ anonymousId: 'sched-v', slots: ['sched'] })).body.slots.sched.offerId).toBe(current.id);
  });

  it('fills placeholders from traits, escaped for where they land', async () => {
    await offer({ name: 'Greeting', slot: 'greet', content: { title: 'Welcome back, {{traits.firstName|friend}}', link: '/search?q={{traits.firstName}}' } });
    await send([{ type: 'identify', anonymousId: 'greet-v', traits: { firstName: '<script>alert(1)</script>&' } }]);
    const hero = (await decide({ anonymousId: 'greet-v', slots: ['greet'] })).body.slots.greet;
    expect(hero.content.title).toBe('Welcome back, <script>alert(1)</script>&');
    expect(hero.content.link).toBe('/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%26');
    expect((await decide({ anonymousId: 'greet-new', slots: ['greet'] })).body.slots.greet.content.title).toBe('Welcome back, friend');
  });

  it('exposes no traits or segment names unless the site turns it on', async () => {
    const answer = (await decide(fromSearch('quiet', 'family holiday thailand'))).body;
    expect(JSON.stringify(answer)).not.toContain('Thailand searchers');
    expect(answer.slots.hero.segments).toBeUndefined();
    await api('PATCH', `/api/sites/${t.site.id}`, { exposeSegments: true });
    const debug = (await decide(fromSearch('loud', 'family holiday thailand'))).body;
    expect(debug.slots.hero.segments).toContain('Thailand searchers');
    await api('PATCH', `/api/sites/${t.site.id}`, { exposeSegments: false });
  });

  it('answers bad input with a 4xx naming the field', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ anonymousId: 'x' }, 400, 'slots: must be an array'],
      [{ anonymousId: 'x', slots: [] }, 400, 'slots: must be an array'],
      [{ anonymousId: 'x', slots: ['<bad>'] }, 400, 'slots[0]: must be a slot name'],
      [{ slots: ['hero'] }, 400, 'anonymousId: an anonymousId or a userId is required'],
      [{ anonymousId: 5, slots: ['hero'] }, 400, 'anonymousId: must be a non-empty string'],
      [{ anonymousId: 'x', slots: ['hero'], context: 'x' }, 400, 'context: must be a JSON object'],
      [{ anonymousId: 'x', slots: ['hero'], context: { page: [] } }, 400, 'context.page: must be a JSON object'],
      [[1, 2], 400, 'the body must be a JSON object'],
    ];
    for (const [body, status, error] of cases) {
      const res = await decide(body as Record<string, unknown>);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error).toContain(error);
    }
    const wrongKey = await decide({ anonymousId: 'x', slots: ['hero'], writeKey: 'wk_nope' }, { authorization: '' });
    expect(wrongKey.status).toBe(401);
    const beacon = await t.send('/v1/decide', JSON.stringify({ anonymousId: 'x', slots: ['hero'], writeKey: t.site.writeKey }), {
      raw: true,
      headers: { authorization: '', 'content-type': 'text/plain', origin: ORIGIN },
    });
    expect(beacon.status).toBe(200);
    expect(beacon.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });
});

describe('GET /api/offers/:id/report', () => {
  it('compares the offer group with its control group on a data set with a known uplift', async () => {
    const tested = await offer({ name: 'Reported', slot: 'report-slot', controlPercent: 50, goal: { event: 'Order Completed', withinDays: 7 }, content: { title: 'Buy' } });
    const start = Date.now() - 12 * DAY;
    const batch: Array<Record<string, unknown>> = [];
    // 200 offer visitors convert at 30%, 200 control visitors at 15%; 10 more offer visitors
    // convert too late (after the 7-day window) and must not count.
    for (let i = 0; i < 400; i++) {
      const group = i < 200 ? 'offer' : 'control';
      const anonymousId = `report-${i}`;
      const exposedAt = start + (i % 2) * DAY;
      batch.push({
        type: 'track',
        anonymousId,
        event: group === 'offer' ? SLOT_EVENTS.impression : SLOT_EVENTS.control,
        properties: { offerId: tested.id, slot: 'report-slot', variant: group },
        timestamp: new Date(exposedAt).toISOString(),
      });
      if (group === 'offer' && i % 10 === 0) {
        batch.push({ type: 'track', anonymousId, event: SLOT_EVENTS.click, properties: { offerId: tested.id }, timestamp: new Date(exposedAt + 1000).toISOString() });
      }
      const converts = group === 'offer' ? i % 10 < 3 : i % 20 < 3;
      if (converts) batch.push({ type: 'track', anonymousId, event: 'Order Completed', properties: { revenue: 50 }, timestamp: new Date(exposedAt + 3_600_000).toISOString() });
      if (group === 'offer' && i % 20 === 9) {
        batch.push({ type: 'track', anonymousId, event: 'Order Completed', timestamp: new Date(exposedAt + 8 * DAY).toISOString() });
      }
      // A purchase before the exposure does not count either.
      if (i % 10 === 5) batch.push({ type: 'track', anonymousId, event: 'Order Completed', timestamp: new Date(exposedAt - DAY).toISOString() });
    }
    for (let i = 0; i < batch.length; i += 200) await send(batch.slice(i, i + 200));

    const report = (await api('GET', `/api/offers/${tested.id}/report`)).body;
    expect(report.offer).toMatchObject({ exposures: 200, impressions: 200, clicks: 20, clickRate: 0.1, conversions: 60, conversionRate: 0.3 });
    expect(report.control).toMatchObject({ exposures: 200, impressions: 200, conversions: 30, conversionRate: 0.15 });
    expect(report.uplift.absolute).toBeCloseTo(0.15, 10);
    expect(report.uplift.relative).toBeCloseTo(1, 10);
    const expected = twoProportionTest(60, 200, 30, 200);
    expect(report.significance.z).toBeCloseTo(expected.z!, 10);
    expect(report.significance.pValue).toBeCloseTo(expected.pValue!, 12);
    expect(report.significance.significant).toBe(true);
    expect(report.daily).toHaveLength(2);
    expect(report.daily.map((d: { offer: { exposures: number } }) => d.offer.exposures)).toEqual([100, 100]);
    expect(report.daily.reduce((s: number, d: { control: { conversions: number } }) => s + d.control.conversions, 0)).toBe(30);
    expect((await api('GET', '/api/offers/off_nope/report')).status).toBe(404);
  });
});

describe('POST /v1/decide with "links": true', () => {
  const trackedOf = async (query: string) => {
    const res = await api('GET', `/api/events?site=${t.site.id}&type=track&limit=200&${query}`);
    return res.body.events as Array<{ event: string; properties: Record<string, unknown>; userId: string | null; trust: string }>;
  };

  it('gives an offer a pixel of its view and a signed redirect of its click, recording what the SDK records', async () => {
    const shown = await offer({ name: 'Linked', slot: 'links-hero', content: { title: 'Thailand', link: '/trips/thailand?from=offer' } });
    const res = await decide({ anonymousId: 'links-1', slots: ['links-hero'], links: true, context: { page: { url: `${ORIGIN}/home` } } });
    expect(res.status).toBe(200);
    const decision = res.body.slots['links-hero'];
    expect(decision).toMatchObject({ offerId: shown.id, variant: 'offer' });
    // Absolute, on the server's public URL, for an email or a page without the SDK.
    expect(decision.links.impression.startsWith(`${t.url}/v1/p.gif?`)).toBe(true);
    expect(decision.links.click.startsWith(`${t.url}/v1/r?`)).toBe(true);

    const image = await fetch(decision.links.impression);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/gif');
    const followed = await fetch(decision.links.click, { redirect: 'manual' });
    expect(followed.status).toBe(302);
    expect(followed.headers.get('location')).toBe(`${ORIGIN}/trips/thailand?from=offer`);

    const properties = { offerId: shown.id, slot: 'links-hero', variant: 'offer' };
    const events = await trackedOf('anonymousId=links-1');
    expect(events.find((e) => e.event === SLOT_EVENTS.impression)?.properties).toEqual(properties);
    expect(events.find((e) => e.event === SLOT_EVENTS.click)?.properties).toEqual({ ...properties, url: `${ORIGIN}/trips/thailand?from=offer` });
    // The offer's report counts them as it counts the SDK's.
    const report = (await api('GET', `/api/offers/${shown.id}/report`)).body;
    expect(report.offer).toMatchObject({ impressions: 1, clicks: 1 });
  });

  it('gives a control decision the pixel of its exposure only', async () => {
    const tested = await offer({ name: 'All control', slot: 'links-control', controlPercent: 100, content: { title: 'Hidden', link: 'https://travel.example/x' } });
    const decision = (await decide({ anonymousId: 'links-2', slots: ['links-control'], links: true })).body.slots['links-control'];
    expect(decision.variant).toBe('control');
    expect(Object.keys(decision.links)).toEqual(['impression']);
    expect((await fetch(decision.links.impression)).status).toBe(200);
    const [exposed] = await trackedOf('anonymousId=links-2');
    expect(exposed).toMatchObject({ event: SLOT_EVENTS.control, properties: { offerId: tested.id, slot: 'links-control', variant: 'control' } });
  });

  it('records for a user id only when the decision vouched for it', async () => {
    await offer({ name: 'For users', slot: 'links-user', content: { title: 'Welcome back', link: 'https://travel.example/account' } });
    const userHash = userHashOf(t.site.secret, 'links-user-1');
    const verified = (await decide({ userId: 'links-user-1', slots: ['links-user'], links: true, context: { userHash } })).body.slots['links-user'];
    await fetch(verified.links.impression);
    await fetch(verified.links.click, { redirect: 'manual' });
    const events = await trackedOf('userId=links-user-1');
    expect(events.map((e) => [e.event, e.trust]).sort()).toEqual([
      [SLOT_EVENTS.click, 'trusted'],
      [SLOT_EVENTS.impression, 'verified'],
    ]);

    // A bare user id, which anyone with the write key can type, goes into no link.
    const bare = (await decide({ anonymousId: 'links-3', userId: 'links-victim', slots: ['links-user'], links: true })).body.slots['links-user'];
    for (const url of Object.values(bare.links as Record<string, string>)) {
      expect(new URL(url).searchParams.get('u')).toBeNull();
      expect(url).not.toContain('links-victim');
    }
  });

  it('makes a path absolute on the site’s own origin, never on one the caller names', async () => {
    await offer({ name: 'Path', slot: 'links-path', content: { title: 'Trips', link: '/trips' } });
    const decision = (await decide({ anonymousId: 'links-4', slots: ['links-path'], links: true, context: { page: { url: 'https://evil.example/' } } })).body.slots['links-path'];
    expect(new URL(decision.links.click).searchParams.get('to')).toBe(`${ORIGIN}/trips`);
  });

  it('adds no links unless asked, and refuses a links that is not a boolean', async () => {
    await offer({ name: 'Plain', slot: 'links-none', content: { title: 'Plain', link: 'https://travel.example/' } });
    expect((await decide({ anonymousId: 'links-5', slots: ['links-none'] })).body.slots['links-none'].links).toBeUndefined();
    const bad = await decide({ anonymousId: 'links-5', slots: ['links-none'], links: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.details[0]).toMatchObject({ field: 'links' });
  });
});
