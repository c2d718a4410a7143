import { RANKINGS_TTL_MS } from '../profiles/ranking-cache.js';
import { rangeOf } from '../reports/days.js';
import { siteOverview } from '../reports/overview.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleBrowser, consoleTestApp, loggedInConsoles, pageHtml, seedShop, textOf } from './test-support/console-client.js';

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const setup = loggedInConsoles();


async function html(b: ConsoleBrowser, path: string, status = 200) {
  const body = await pageHtml(b, path, status);
  expect(body.startsWith('<!doctype html>')).toBe(true);
  return body;
}

/** The offer editor's fields as a browser sends them. */
const offerForm = (site: string, extra: Record<string, string> = {}) => ({
  site, name: 'Deal', slot: 'home-hero', segment: '', priority: '0', status: 'active', title: 'Hello', text: '', image: '', link: '', linkText: '',
  startsAt: '', endsAt: '', capCount: '', capDays: '', controlPercent: '10', goalEvent: '', goalDays: '7', ...extra,
});

const RULE = JSON.stringify({ all: [{ field: 'computed.orders', op: 'gte', value: 1 }] });

async function populate(t: TestApp, b: ConsoleBrowser) {
  await seedShop(t);
  await b.post('/console/segments', { site: t.site.id, name: 'Buyers', description: 'ordered at least once', rule: RULE });
  const segment = (await t.store.listSegments(t.site.id))[0];
  await b.post('/console/offers', {
    site: t.site.id, name: 'Welcome deal', slot: 'home-hero', segment: segment.id, priority: '5', status: 'active',
    title: 'Hi {{traits.firstName|there}}', text: 'Ten percent off', link: 'https://shop.example/deals', linkText: 'See deals',
    controlPercent: '20', goalEvent: 'Order Completed', goalDays: '7', capCount: '3', capDays: '7',
  });
  const offer = (await t.store.listOffers(t.site.id))[0];
  const ann = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
  const evil = (await t.store.findProfileId(t.site.id, 'anonymous', 'evil'))!;
  return { segment, offer, ann, evil };
}

describe('every page', () => {
  it('says what to do before the first site exists', async () => {
    const { b } = await setup({ sites: [] });
    for (const path of ['/console', '/console/customers', '/console/segments', '/console/segments/new', '/console/offers', '/console/offers/new', '/console/reports/attribution']) {
      const text = textOf(await html(b, path));
      expect(text, path).toContain('No site yet');
      expect(text).toContain('Add your first site');
    }
    expect(textOf(await html(b, '/console/sites'))).toContain('Add a site');
  });

  it('renders for an empty site, with an empty state that says what to do', async () => {
    const { t, b } = await setup();
    const site = t.site.id;
    const expectations: Array<[string, string]> = [
      [`/console?site=${site}`, 'No visitors yet'],
      [`/console/customers?site=${site}`, 'No customers yet'],
      [`/console/customers?site=${site}&q=nobody`, 'No customer matches “nobody”'],
      [`/console/segments?site=${site}`, 'No segments yet'],
      [`/console/segments/new?site=${site}`, 'Who is in it'],
      [`/console/offers?site=${site}`, 'No offers yet'],
      [`/console/offers/new?site=${site}`, 'Preview'],
      ['/console/sites', 'Shop'],
      [`/console/sites/${site}`, 'data-write-key'],
    ];
    for (const [path, expected] of expectations) expect(textOf(await html(b, path)), path).toContain(expected);
  });

  it('renders for a populated site', async () => {
    const { t, b } = await setup();
    const { segment, offer, ann } = await populate(t, b);
    const site = t.site.id;

    // The ABC card reads the cached rankings, which populating counted before any order: once
    // they are stale, a view refreshes them for the next one.
    t.clock.now += RANKINGS_TTL_MS;
    await html(b, `/console?site=${site}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const overview = textOf(await html(b, `/console?site=${site}`));
    for (const expected of ['People', 'Identified customers', 'New visitors', 'Sessions', 'Top referral sources', 'Google', 'newsletter', 'thailand beach', 'New and returning', 'ABC classes', 'Days in UTC']) {
      expect(overview).toContain(expected);
    }
    const o = await siteOverview(t.store, t.site, rangeOf({}, t.clock.now, 'UTC'));
    expect(overview).toContain(`People ${o.people} all time`);
    expect(overview).toContain(`Identified customers ${o.identified}`);
    const buyers = (await t.store.rankingInputs(site)).filter((p) => p.revenue > 0).length;
    expect(buyers).toBeGreaterThan(0);
    expect(overview).toContain(`${o.people - buyers} people have not bought yet`);
    const week = textOf(await html(b, `/console?site=${site}&days=7`));
    expect(week).toContain('New visitors');
    expect((await b.get(`/console?site=${site}&days=12`)).status).toBe(400);

    const attribution = textOf(await html(b, `/console/reports/attribution?site=${site}&by=term`));
    for (const expected of ['First touch', 'Last touch', 'Search keyword', 'thailand beach', 'Download CSV']) expect(attribution).toContain(expected);
    const csv = await b.get(`/console/reports/attribution.csv?site=${site}&by=source`);
    expect(csv.status).toBe(200);
    expect((await csv.text()).split('\r\n')[0]).toBe(
      'source,first_visitors,first_customers,first_orders,first_revenue,first_conversion_rate,first_revenue_per_visitor,last_visitors,last_customers,last_orders,last_revenue,last_conversion_rate,last_revenue_per_visitor',
    );

    const list = textOf(await html(b, `/console/customers?site=${site}`));
    expect(list).toContain('Ann Lee');
    expect(list).toContain('1,500.00');
    const found = textOf(await html(b, `/console/customers?site=${site}&q=u-ann`));
    expect(found).toContain('Ann Lee');
    expect(found).not.toContain('Anonymous visitor');
    const byTrait = textOf(await html(b, `/console/customers?site=${site}&q=lyon`));
    expect(byTrait).toContain('Ann Lee');

    const customer = textOf(await html(b, `/console/customers/${ann}`));
    for (const expected of ['Ann Lee', 'ann-laptop', 'ann-phone', 'u-ann', 'gold', 'Lyon', 'thailand beach', 'Google', 'newsletter', 'june', 'Buyers', 'Logged in: an anonymous visitor joined the customer', 'Order Completed', 'Timeline', '1,500.00']) {
      expect(customer, expected).toContain(expected);
    }

    const segments = textOf(await html(b, `/console/segments?site=${site}`));
    expect(segments).toContain('Buyers');
    expect(segments).toContain('Orders is at least 1');
    expect(segments).toContain('1 offer');
    expect(textOf(await html(b, `/console/segments/${segment.id}`))).toContain('1 customer match now');
    const members = textOf(await html(b, `/console/customers?site=${site}&segment=${segment.id}`));
    expect(members).toContain('Members of the segment Buyers');
    expect(members).toContain('Ann Lee');
    expect(members).not.toContain('Anonymous visitor');

    const offers = textOf(await html(b, `/console/offers?site=${site}`));
    for (const expected of ['home-hero', 'Welcome deal', 'Buyers', 'Active', '20%', 'Order Completed in 7 d']) expect(offers).toContain(expected);
    const editor = await html(b, `/console/offers/${offer.id}`);
    expect(textOf(editor)).toContain('Hi Alex');
    expect(editor).toContain('value="Hi {{traits.firstName|there}}"');

    const report = textOf(await html(b, `/console/offers/${offer.id}/report`));
    expect(report).toContain('No one has been shown this offer yet.');
    expect(report).toContain('Offer group');

    const sites = textOf(await html(b, '/console/sites'));
    expect(sites).toContain('https://shop.example');
  });

  it('keeps the chosen site in links, and shows only its data', async () => {
    const { t, b } = await setup({ sites: ['Shop', 'Blog'] });
    const [shop, blog] = t.created;
    await seedShop(t, shop);
    const blogPage = await html(b, `/console/customers?site=${blog.id}`);
    expect(textOf(blogPage)).toContain('No customers yet');
    expect(blogPage).toContain(`href="/console/segments?site=${blog.id}"`);
    expect(blogPage).toMatch(new RegExp(`<option value="${blog.id}" selected="">Blog</option>`));
    expect(textOf(await html(b, `/console/customers?site=${shop.id}`))).toContain('Ann Lee');
    expect(textOf(await html(b, '/console/customers?site=site_nope', 404))).toContain('There is no site site_nope.');
  });
});

describe('forms without their site', () => {
  it('are refused with a 400 that names the missing field', async () => {
    const { t, b } = await setup();
    const segment = await b.post('/console/segments', { name: 'Buyers', rule: RULE });
    expect(segment.status).toBe(400);
    expect(textOf(await segment.text())).toContain('site: is required');
    const offer = await b.post('/console/offers', { ...offerForm(t.site.id), site: '' });
    expect(offer.status).toBe(400);
    expect(textOf(await offer.text())).toContain('site: is required');
    expect(await t.store.listSegments(t.site.id)).toEqual([]);
    expect(await t.store.listOffers(t.site.id)).toEqual([]);
  });
});

describe('addresses', () => {
  it('lead to the page without a trailing slash', async () => {
    const { b } = await setup();
    for (const [path, to] of [['/console/', '/console'], ['/console/customers/?q=ann', '/console/customers?q=ann']]) {
      const res = await b.get(path);
      expect(res.status).toBe(301);
      expect(res.headers.get('location')).toBe(`http://localhost${to}`);
    }
  });
});

describe('what visitors typed', () => {
  it('is escaped on every page, and their javascript: URLs never become links', async () => {
    const { t, b } = await setup();
    const { evil, offer } = await populate(t, b);
    const pages = [
      `/console?site=${t.site.id}`,
      `/console/customers?site=${t.site.id}`,
      `/console/customers?site=${t.site.id}&q=${encodeURIComponent('<script>')}`,
      `/console/customers/${evil}`,
      `/console/customers/${evil}/erase`,
      `/console/offers/${offer.id}/report`,
    ];
    for (const path of pages) {
      const body = await html(b, path);
      expect(body, path).not.toMatch(/<script>alert|<img src=x|<svg onload|<b>bold/);
      expect(body).not.toMatch(/href="javascript:/i);
    }
    const customer = await html(b, `/console/customers/${evil}`);
    expect(customer).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
    expect(customer).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(customer).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(customer).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(customer).toContain('<span class="raw-url" title="javascript:alert(1)">javascript:alert(1)</span>');
    expect(customer).toContain('rel="noopener noreferrer nofollow"');
    const search = await html(b, `/console/customers?site=${t.site.id}&q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(search).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });
});

describe('customers', () => {
  it('are flagged when they merge unusually fast', async () => {
    const { t, b } = await setup();
    const anonymous = Array.from({ length: 10 }, (_, i) => ({ type: 'track', event: 'Browsed', anonymousId: `fast-${i}`, messageId: `fast-t${i}` }));
    await t.collect([{ type: 'identify', anonymousId: 'fast-home', userId: 'u-fast', messageId: 'fast-0' }, ...anonymous]);
    await t.collect(anonymous.map((_, i) => ({ type: 'identify', anonymousId: `fast-${i}`, userId: 'u-fast', messageId: `fast-i${i}` })));
    const id = (await t.store.findProfileId(t.site.id, 'user', 'u-fast'))!;
    expect(textOf(await html(b, `/console/customers/${id}`))).toContain('Merging fast: 10 merges in 24 h');
    const home = (await t.store.findProfileId(t.site.id, 'anonymous', 'fast-home'))!;
    await t.collect([{ type: 'identify', anonymousId: 'calm', userId: 'u-calm', messageId: 'calm-0' }]);
    expect(textOf(await html(b, `/console/customers/${(await t.store.findProfileId(t.site.id, 'user', 'u-calm'))!}`))).not.toContain('Merging fast');
    expect(home).toBe(id);
  });

  it('show the consent a person gave or withdrew, per purpose', async () => {
    const { t, b } = await setup();
    await t.collect([{ type: 'track', event: 'Consent Updated', anonymousId: 'consent-1', messageId: 'c1', properties: { purposes: { marketing: false, analytics: true } } }]);
    const id = (await t.store.findProfileId(t.site.id, 'anonymous', 'consent-1'))!;
    const page = textOf(await html(b, `/console/customers/${id}`));
    expect(page).toMatch(/Consent Purpose Consent Since Said by analytics Given .+ the browser marketing Withdrawn/);
  });

  it('export everything stored about a person as a JSON download', async () => {
    const { t, b } = await setup();
    const { ann } = await populate(t, b);
    const res = await b.get(`/console/customers/${ann}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="profile-${ann}.json"`);
    const data = (await res.json()) as { profile: unknown; events: unknown[]; merges: unknown[] };
    expect(data.profile).toMatchObject({ id: ann, userId: 'u-ann' });
    expect(data.events.length).toBeGreaterThan(4);
    expect(data.merges).toHaveLength(2);
  });

  it('are erased only after the confirmation step', async () => {
    const { t, b } = await setup();
    const { ann } = await populate(t, b);
    const confirm = textOf(await html(b, `/console/customers/${ann}/erase`));
    expect(confirm).toContain('Erase Ann Lee?');
    expect(confirm).toContain('It cannot be undone.');
    expect(await t.store.getProfile(t.site.id, ann)).not.toBeNull();
    const res = await b.post(`/console/customers/${ann}/erase`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/customers?site=${t.site.id}&done=erased`);
    expect(await t.store.getProfile(t.site.id, ann)).toBeNull();
    expect(await t.store.findProfileId(t.site.id, 'user', 'u-ann')).toBeNull();
    expect(textOf(await html(b, res.headers.get('location')!))).toContain('The customer and everything stored about them were erased.');
    expect(textOf(await html(b, `/console/customers/${ann}`, 404))).toContain('There is no customer');
  });

  it('take in a duplicate after a preview, and give it back with a split', async () => {
    const { t, b } = await setup();
    const { ann } = await populate(t, b);
    const bob = (await t.store.findProfileId(t.site.id, 'anonymous', 'bob'))!;
    const ask = textOf(await html(b, `/console/customers/${ann}/merge`));
    expect(ask).toContain('Profile id of the duplicate');
    const preview = textOf(await html(b, `/console/customers/${ann}/merge?from=${bob}`));
    expect(preview).toContain(`Profile ${bob} goes into this one`);
    expect(preview).toContain('Traits after the merge');
    expect((await t.store.getProfile(t.site.id, bob))!.mergedInto).toBeNull();

    const merged = await b.post(`/console/customers/${ann}/merge`, { from: bob });
    expect(merged.status).toBe(303);
    expect((await t.store.getProfile(t.site.id, bob))!.mergedInto).toBe(ann);
    const after = textOf(await html(b, `/console/customers/${ann}`));
    expect(after).toContain('Merged by an operator');
    expect(after).toContain('by console');
    expect(after).toContain('Split it out');

    expect(textOf(await html(b, `/console/customers/${ann}/split?from=${bob}`))).toContain(`Split profile ${bob} out of`);
    const split = await b.post(`/console/customers/${ann}/split`, { from: bob });
    expect(split.status).toBe(303);
    expect(split.headers.get('location')).toBe(`/console/customers/${bob}`);
    expect((await t.store.getProfile(t.site.id, bob))!.mergedInto).toBeNull();
    expect(await t.store.findProfileId(t.site.id, 'anonymous', 'bob')).toBe(bob);
    expect(textOf(await html(b, `/console/customers/${ann}`))).toContain('Undone by a split');
    // Ann's own login merge (her phone) can be split too; bob's cannot twice.
    expect((await b.post(`/console/customers/${ann}/split`, { from: bob })).status).toBe(409);
  });

  it('that were merged away lead to the profile they live on in', async () => {
    const { t, b } = await setup();
    await populate(t, b);
    const ann = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
    const merge = (await t.store.profileMerges(t.site.id, ann)).find((m) => m.from && m.from !== ann)!;
    const res = await b.get(`/console/customers/${merge.from}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/console/customers/${ann}`);
  });

  it('have a timeline paged from newest to oldest', async () => {
    const { t, b } = await setup();
    const at = (i: number) => new Date(t.clock.now - (100 - i) * 60_000).toISOString();
    await t.collect(Array.from({ length: 45 }, (_, i) => ({ type: 'track', messageId: `m-${i}`, anonymousId: 'busy', event: `Step ${i}`, timestamp: at(i) })));
    const id = (await t.store.findProfileId(t.site.id, 'anonymous', 'busy'))!;
    const first = await html(b, `/console/customers/${id}`);
    expect(textOf(first)).toContain('Step 44');
    expect(textOf(first)).not.toContain('Step 14 ');
    const next = /href="([^"]*\?events=[^"#]+)#timeline"/.exec(first)![1].replace(/&amp;/g, '&');
    const second = textOf(await html(b, next));
    expect(second).toContain('Step 14');
    expect(second).not.toContain('Step 44');
    expect(second).toContain('Back to the start');
  });
});

describe('segments', () => {
  it('count members before saving, with the API validation messages', async () => {
    const { t, b } = await setup();
    await seedShop(t);
    const count = async (rule: unknown) => {
      const res = await b.json('/console/api/segments/count', { site: t.site.id, rule });
      return { status: res.status, body: (await res.json()) as { count?: number; error?: string; details?: unknown[] } };
    };
    expect(await count({ field: 'computed.orders', op: 'gte', value: 1 })).toEqual({ status: 200, body: { count: 1 } });
    expect(await count({ any: [{ field: 'identified', op: 'eq', value: true }, { event: 'Product Viewed', op: 'gte', value: 1, withinDays: 7 }] })).toEqual({ status: 200, body: { count: 3 } });
    const api = await t.app.request('/api/segments/preview', {
      method: 'POST',
      headers: { authorization: 'Bearer console-test-token', 'content-type': 'application/json' },
      body: JSON.stringify({ site: t.site.id, rule: { all: [{ field: 'computed.orders', op: 'bigger', value: 1 }, { event: '', op: 'gte', value: 1 }] } }),
    });
    const bad = await count({ all: [{ field: 'computed.orders', op: 'bigger', value: 1 }, { event: '', op: 'gte', value: 1 }] });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(await api.json());
    expect(bad.body.error).toMatch(/^rule\.all\[0\]\.op: unknown operator "bigger"/);
    expect(bad.body.details).toContainEqual({ field: 'rule.all[1].event', message: expect.stringContaining('must be an event name') });
    expect((await b.json('/console/api/segments/count', { site: 'site_nope', rule: {} })).status).toBe(404);
  });

  it('show the validation messages when a rule cannot be saved, and keep what was typed', async () => {
    const { t, b } = await setup();
    const typed = '{"all": [{"field": "computed.orders", "op": "bigger", "value": 1}]}';
    const res = await b.post('/console/segments', { site: t.site.id, name: 'Big spenders', rule: typed });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(textOf(body)).toContain('Not saved: rule.all[0].op: unknown operator "bigger"; expected one of eq, neq');
    expect(body).toContain('value="Big spenders"');
    expect(body).toContain('{&quot;all&quot;: [{&quot;field&quot;: &quot;computed.orders&quot;, &quot;op&quot;: &quot;bigger&quot;, &quot;value&quot;: 1}]}');
    const notJson = await b.post('/console/segments', { site: t.site.id, name: 'x', rule: '{all: [' });
    expect(notJson.status).toBe(400);
    expect(textOf(await notJson.text())).toContain('Not saved: rule: is not valid JSON');
    const noName = await b.post('/console/segments', { site: t.site.id, name: ' ', rule: RULE });
    expect(textOf(await noName.text())).toContain('Not saved: name: must not be empty');
    expect(await t.store.listSegments(t.site.id)).toEqual([]);
  });

  it('are saved, renamed and refused a duplicate name', async () => {
    const { t, b } = await setup();
    const created = await b.post('/console/segments', { site: t.site.id, name: 'Buyers', description: '', rule: RULE });
    expect(created.status).toBe(303);
    expect(created.headers.get('location')).toBe(`/console/segments?site=${t.site.id}&done=saved`);
    const [segment] = await t.store.listSegments(t.site.id);
    expect(segment).toMatchObject({ name: 'Buyers', description: null, rule: JSON.parse(RULE) });
    await b.post('/console/segments', { site: t.site.id, name: 'Others', rule: RULE });
    const duplicate = await b.post(`/console/segments/${segment.id}`, { name: 'Others', rule: RULE });
    expect(duplicate.status).toBe(400);
    expect(textOf(await duplicate.text())).toContain('a segment named "Others" exists already');
    expect((await b.post(`/console/segments/${segment.id}`, { name: 'Loyal buyers', rule: '{"field":"computed.orders","op":"gte","value":2}' })).status).toBe(303);
    expect((await t.store.listSegments(t.site.id)).find((s) => s.id === segment.id)).toMatchObject({ name: 'Loyal buyers', rule: { field: 'computed.orders', op: 'gte', value: 2 } });
  });

  it('are deleted after a confirmation step, and not while an offer is aimed at them', async () => {
    const { t, b } = await setup();
    const { segment, offer } = await populate(t, b);
    const blocked = await html(b, `/console/segments/${segment.id}/delete`);
    expect(textOf(blocked)).toContain('1 offer is shown to this segment.');
    expect(blocked).toContain(`href="/console/offers/${offer.id}"`);
    expect(blocked).not.toContain('Delete the segment');
    const refused = await b.post(`/console/segments/${segment.id}/delete`);
    expect(refused.status).toBe(409);
    expect(textOf(await refused.text())).toContain('offers use this segment: Welcome deal');
    expect(await t.store.listSegments(t.site.id)).toHaveLength(1);

    await b.post(`/console/offers/${offer.id}`, { ...offerForm(t.site.id), name: 'Welcome deal', segment: '' });
    const confirm = textOf(await html(b, `/console/segments/${segment.id}/delete`));
    expect(confirm).toContain('Delete Buyers?');
    expect(confirm).toContain('It cannot be undone.');
    expect(await t.store.listSegments(t.site.id)).toHaveLength(1);
    const res = await b.post(`/console/segments/${segment.id}/delete`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/segments?site=${t.site.id}&done=deleted`);
    expect(await t.store.listSegments(t.site.id)).toEqual([]);
    expect(textOf(await html(b, res.headers.get('location')!))).toContain('The segment is deleted.');
    expect((await b.post(`/console/segments/${segment.id}/delete`)).status).toBe(404);
  });

  it('give the builder its fields and operators from the rule language', async () => {
    const { t, b } = await setup();
    const body = await html(b, `/console/segments/new?site=${t.site.id}`);
    const schema = JSON.parse(/data-schema="([^"]*)"/.exec(body)![1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
    expect(schema.fields).toContainEqual({ key: 'referrer.first.term', label: 'First visit: search keyword', group: 'Where they came from', kind: 'string' });
    expect(schema.byKind.boolean).toEqual(['eq', 'neq', 'exists']);
    expect(schema.eventOperators).toEqual(['eq', 'neq', 'gt', 'gte', 'lt', 'lte']);
    expect(body).toContain('<script src="/console/static/segment-builder.js" defer=""></script>');
  });
});

describe('offers', () => {
  const form = offerForm;

  it('are saved with schedule (UTC), cap, control and goal, through the API validator', async () => {
    const { t, b } = await setup();
    const res = await b.post('/console/offers', form(t.site.id, { startsAt: '2030-01-01T09:30', endsAt: '2030-02-01T00:00', capCount: '2', capDays: '7', goalEvent: 'Order Completed', goalDays: '14', priority: '7' }));
    expect(res.status).toBe(303);
    const [offer] = await t.store.listOffers(t.site.id);
    expect(offer).toMatchObject({
      name: 'Deal', slot: 'home-hero', segmentId: null, priority: 7, status: 'active', content: { title: 'Hello' },
      startsAt: Date.UTC(2030, 0, 1, 9, 30), endsAt: Date.UTC(2030, 1, 1), cap: { count: 2, days: 7 }, controlPercent: 10,
      goal: { event: 'Order Completed', withinDays: 14 },
    });
    const list = textOf(await html(b, `/console/offers?site=${t.site.id}`));
    expect(list).toContain('Starts 2030-01-01 09:30 UTC');
    const editor = await html(b, `/console/offers/${offer.id}`);
    expect(editor).toContain('value="2030-01-01T09:30"');
    // Saved again unchanged, nothing changes.
    const values = Object.fromEntries([...editor.matchAll(/<input id="(\w+)" name="\w+"[^>]*?value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    expect(values).toMatchObject({ name: 'Deal', startsAt: '2030-01-01T09:30', capCount: '2', goalDays: '14' });
  });

  it('show the API validation messages and mark the field', async () => {
    const { t, b } = await setup();
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ link: 'javascript:alert(1)' }, 'content.link: must be an http(s) URL or a path starting with /', 'link'],
      [{ title: '' }, 'content: is required: at least one of title, text, image, link', 'title'],
      [{ slot: 'no spaces please' }, 'slot: must be 1 to 100 letters, digits, or _ . : -', 'slot'],
      [{ controlPercent: '150' }, 'controlPercent: must be at most 100', 'controlPercent'],
      [{ priority: 'high' }, 'priority: must be a number', 'priority'],
      [{ capCount: '3' }, 'cap.days: must be a whole number from 1 to 365', 'capDays'],
      [{ startsAt: '2030-02-01T00:00', endsAt: '2030-01-01T00:00' }, 'endsAt: must be after startsAt', 'endsAt'],
      [{ segment: 'seg_nope' }, 'segment: no segment seg_nope in this site', 'segment'],
    ];
    for (const [extra, message, field] of cases) {
      const res = await b.post('/console/offers', form(t.site.id, extra));
      expect(res.status, message).toBe(400);
      const body = await res.text();
      expect(textOf(body)).toContain(`Not saved: ${message}`);
      if (field !== 'segment') expect(body, field).toMatch(new RegExp(`<input id="${field}" name="${field}"[^>]*class="invalid"|<input id="${field}" name="${field}"[^>]*aria-invalid="true"`));
    }
    expect(await t.store.listOffers(t.site.id)).toEqual([]);
  });

  it('are paused and resumed', async () => {
    const { t, b } = await setup();
    await b.post('/console/offers', form(t.site.id));
    const [offer] = await t.store.listOffers(t.site.id);
    const paused = await b.post(`/console/offers/${offer.id}/status`, { status: 'paused' });
    expect(paused.headers.get('location')).toBe(`/console/offers?site=${t.site.id}&done=paused`);
    expect((await t.store.listOffers(t.site.id))[0].status).toBe('paused');
    expect(textOf(await html(b, paused.headers.get('location')!))).toContain('The offer is paused');
    const resumed = await b.post(`/console/offers/${offer.id}/status`, { status: 'active', back: 'editor' });
    expect(resumed.headers.get('location')).toBe(`/console/offers/${offer.id}?site=${t.site.id}&done=active`);
    expect((await t.store.listOffers(t.site.id))[0].status).toBe('active');
    expect((await b.post(`/console/offers/${offer.id}/status`, { status: 'deleted' })).status).toBe(400);
  });

  it('are deleted with their report after a confirmation step', async () => {
    const { t, b } = await setup();
    const { offer } = await populate(t, b);
    await t.collect([{ type: 'track', messageId: 'exp-1', anonymousId: 'viewer', event: 'Offer Viewed', properties: { offerId: offer.id, slot: 'home-hero' } }]);
    expect(await t.store.offerEvents(t.site.id, offer.id)).toHaveLength(1);
    expect(await html(b, `/console/offers/${offer.id}`)).toContain(`href="/console/offers/${offer.id}/delete"`);
    const confirm = textOf(await html(b, `/console/offers/${offer.id}/delete`));
    expect(confirm).toContain('Delete Welcome deal?');
    expect(confirm).toContain('pause it instead');
    expect(await t.store.listOffers(t.site.id)).toHaveLength(1);
    const res = await b.post(`/console/offers/${offer.id}/delete`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/offers?site=${t.site.id}&done=deleted`);
    expect(await t.store.listOffers(t.site.id)).toEqual([]);
    expect(await t.store.offerEvents(t.site.id, offer.id)).toEqual([]);
    expect(textOf(await html(b, res.headers.get('location')!))).toContain('The offer and its report are deleted');
    expect((await b.get(`/console/offers/${offer.id}/delete`)).status).toBe(404);
  });

  it('preview their content with placeholders filled, as text', async () => {
    const { t, b } = await setup();
    await seedShop(t);
    const preview = async (content: Record<string, string>, customer?: string) => (await b.json('/console/api/offers/preview', { site: t.site.id, content, customer })).json();
    expect(await preview({ title: 'Hi {{traits.firstName|friend}}', link: '/x?name={{traits.firstName}}' })).toEqual({
      content: { title: 'Hi Alex', link: '/x?name=Alex' },
      traitsOf: 'sample',
      problem: null,
    });
    expect(await preview({ title: 'Hi {{traits.firstName|friend}}' }, 'u-ann')).toMatchObject({ content: { title: 'Hi Ann' }, traitsOf: 'customer' });
    expect(await preview({ title: 'Hi {{traits.firstName|friend}}' }, 'ann@example.com')).toMatchObject({ content: { title: 'Hi Ann' } });
    expect(await preview({ title: 'Hi {{traits.name}}', link: 'https://x.example/?n={{traits.name}}' }, 'evil')).toEqual({
      content: { title: 'Hi <script>alert("name")</script>', link: 'https://x.example/?n=%3Cscript%3Ealert(%22name%22)%3C%2Fscript%3E' },
      traitsOf: 'customer',
      problem: null,
    });
    expect(await preview({ title: 'x' }, 'nobody')).toMatchObject({ traitsOf: 'sample', problem: 'No customer nobody in Shop: the preview uses sample traits.' });
    expect(await preview({ link: 'javascript:alert(1)' })).toMatchObject({ problem: 'content.link: must be an http(s) URL or a path starting with /' });
  });

  it('render the first preview on the server the way the SDK renders content', async () => {
    const { t, b } = await setup();
    await b.post('/console/offers', form(t.site.id, { title: '<b>Big</b> {{traits.firstName}}', text: 'Line', image: 'https://cdn.example/a.png', link: 'https://shop.example/a', linkText: 'Go' }));
    const [offer] = await t.store.listOffers(t.site.id);
    const body = await html(b, `/console/offers/${offer.id}`);
    const preview = body.slice(body.indexOf('id="offer-preview"'), body.indexOf('id="preview-note"'));
    expect(preview).toContain('<div class="rapport-offer__title">&lt;b&gt;Big&lt;/b&gt; Alex</div>');
    expect(preview).toContain('<div class="preview-image">Image: https://cdn.example/a.png</div>');
    expect(preview).not.toContain('<img');
    expect(preview).toContain('<a class="rapport-offer__link" href="https://shop.example/a" rel="noopener noreferrer nofollow" target="_blank">Go</a>');
  });
});

describe('reports', () => {
  it('say in words whether the offer converts better than its control group', async () => {
    const { t, b } = await setup();
    await b.post('/console/offers', {
      site: t.site.id, name: 'Deal', slot: 'hero', status: 'active', title: 'Hi', controlPercent: '50', goalEvent: 'Order Completed', goalDays: '7', priority: '0',
    });
    const [offer] = await t.store.listOffers(t.site.id);
    const events = [];
    for (let i = 0; i < 200; i++) {
      const control = i % 2 === 1;
      const ts = new Date(t.clock.now - (3 - (i % 3)) * 86_400_000).toISOString();
      events.push({ type: 'track', messageId: `e-${i}`, anonymousId: `v-${i}`, event: control ? 'Offer Control Exposed' : 'Offer Viewed', timestamp: ts, properties: { offerId: offer.id, slot: 'hero' } });
      if (control ? i % 20 === 1 : i % 10 < 4) {
        events.push({ type: 'track', messageId: `o-${i}`, anonymousId: `v-${i}`, event: 'Order Completed', timestamp: new Date(Date.parse(ts) + 60_000).toISOString(), properties: { revenue: 10 } });
      }
    }
    await t.collect(events);
    const text = textOf(await html(b, `/console/offers/${offer.id}/report`));
    expect(text).toContain('95% confident the offer converts better than the default content.');
    expect(text).toContain('Visitors exposed 100 100');
    expect(text).toContain('Conversion rate 40.0% 10.0%');
    expect(text).toContain('+30.0 percentage points');
    expect(text).toContain('+300%');
    expect(text).toMatch(/p = 0\.000 \(two-proportion z-test\)/);
  });
});

describe('sites', () => {
  it('show the script tag with the origin the browser sees', async () => {
    const { t, b } = await setup({ trustProxy: true });
    const direct = await html(b, `/console/sites/${t.site.id}`);
    expect(direct).toContain(`&lt;script async src=&quot;http://localhost/sdk.js&quot; data-write-key=&quot;${t.site.writeKey}&quot;&gt;&lt;/script&gt;`);
    const proxied = await (await b.request(`/console/sites/${t.site.id}`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'crm.example' } })).text();
    expect(proxied).toContain('src=&quot;https://crm.example/sdk.js&quot;');
  });

  it('hide the secret until a POST reveals it, and rotate it after a confirmation', async () => {
    const { t, b } = await setup();
    const page = await html(b, `/console/sites/${t.site.id}`);
    expect(page).not.toContain(t.site.secret);
    const revealed = await b.post(`/console/sites/${t.site.id}/reveal`);
    expect(revealed.status).toBe(200);
    expect(revealed.headers.get('cache-control')).toBe('no-store');
    expect(await revealed.text()).toContain(`<code id="site-secret" class="secret">${t.site.secret}</code>`);
    expect(textOf(await html(b, `/console/sites/${t.site.id}/rotate`))).toContain('Rotate the secret?');
    expect(t.sites.get(t.site.id)!.secret).toBe(t.site.secret);
    const rotated = await (await b.post(`/console/sites/${t.site.id}/rotate`)).text();
    const secret = t.sites.get(t.site.id)!.secret;
    expect(secret).not.toBe(t.site.secret);
    expect(rotated).toContain(secret);
    expect(textOf(rotated)).toContain('New secret made; the old one no longer works.');
  });

  it('edit allowed origins with the API messages, and identity verification', async () => {
    const { t, b } = await setup();
    const bad = await b.post(`/console/sites/${t.site.id}/origins`, { origins: 'https://ok.example\nftp://files.example' });
    expect(bad.status).toBe(400);
    expect(textOf(await bad.text())).toContain('Not saved: origins[1]: "ftp://files.example" is not an http or https origin');
    expect(t.sites.get(t.site.id)!.origins).toEqual(['https://shop.example']);
    const ok = await b.post(`/console/sites/${t.site.id}/origins`, { origins: 'https://Shop.example/\nhttps://www.shop.example\nhttps://shop.example' });
    expect(ok.status).toBe(303);
    expect(t.sites.get(t.site.id)!.origins).toEqual(['https://shop.example', 'https://www.shop.example']);
    await b.post(`/console/sites/${t.site.id}/settings`, { requireUserHash: 'on' });
    expect(t.sites.get(t.site.id)!.settings).toMatchObject({ requireUserHash: true, emailMatching: false });
    expect(await html(b, `/console/sites/${t.site.id}`)).toMatch(/<input type="checkbox" name="requireUserHash" checked=""/);
    await b.post(`/console/sites/${t.site.id}/settings`, {});
    expect(t.sites.get(t.site.id)!.settings.requireUserHash).toBe(false);
  });

  it('keep events for a number of days, or forever when empty', async () => {
    const { t, b } = await setup();
    expect((await b.post(`/console/sites/${t.site.id}/settings`, { retentionDays: '90' })).status).toBe(303);
    expect(t.sites.get(t.site.id)!.settings.retentionDays).toBe(90);
    expect(await html(b, `/console/sites/${t.site.id}`)).toMatch(/name="retentionDays"[^>]*value="90"/);
    const bad = await b.post(`/console/sites/${t.site.id}/settings`, { retentionDays: '0', requireUserHash: 'on' });
    expect(bad.status).toBe(400);
    expect(textOf(await bad.text())).toContain('retentionDays: must be a whole number of days from 1 to 3650');
    expect(t.sites.get(t.site.id)!.settings).toMatchObject({ retentionDays: 90, requireUserHash: false });
    await b.post(`/console/sites/${t.site.id}/settings`, { retentionDays: '' });
    expect(t.sites.get(t.site.id)!.settings.retentionDays).toBeNull();
  });

  it('set how automations send: the SMTP server (its password never shown), From, quiet hours and the cap', async () => {
    const { t, b } = await setup();
    const form = { smtpUrl: 'smtp://shop:s3cret@mail.example.com:587', mailFrom: 'Shop <shop@example.com>', quietFrom: '22', quietTo: '8', capSends: '2', capDays: '1' };
    expect((await b.post(`/console/sites/${t.site.id}/mail`, form)).status).toBe(303);
    expect(t.sites.get(t.site.id)!.settings).toMatchObject({
      smtpUrl: 'smtp://shop:s3cret@mail.example.com:587',
      mailFrom: 'Shop <shop@example.com>',
      quietHours: { from: 22, to: 8 },
      sendCap: { sends: 2, days: 1 },
    });
    const shown = await html(b, `/console/sites/${t.site.id}`);
    expect(shown).not.toContain('s3cret');
    expect(shown).toContain('value="smtp://shop:********@mail.example.com:587"');
    // Sent back as shown: the password stays; the cap cleared.
    await b.post(`/console/sites/${t.site.id}/mail`, { ...form, smtpUrl: 'smtp://shop:********@mail.example.com:587', capSends: '', capDays: '' });
    expect(t.sites.get(t.site.id)!.settings).toMatchObject({ smtpUrl: 'smtp://shop:s3cret@mail.example.com:587', sendCap: null });
    const bad = await b.post(`/console/sites/${t.site.id}/mail`, { ...form, quietTo: '22' });
    expect(bad.status).toBe(400);
    expect(textOf(await bad.text())).toContain('quietHours: must be');
  });

  it('are added with a name and origins', async () => {
    const { t, b } = await setup();
    const res = await b.post('/console/sites', { name: 'Blog', origins: 'https://blog.example' });
    expect(res.status).toBe(303);
    const blog = t.sites.list().find((s) => s.name === 'Blog')!;
    expect(blog.origins).toEqual(['https://blog.example']);
    expect(res.headers.get('location')).toBe(`/console/sites/${blog.id}?site=${blog.id}&done=created`);
    const refused = await b.post('/console/sites', { name: '', origins: '' });
    expect(refused.status).toBe(400);
    expect(textOf(await refused.text())).toContain('Not saved: name: must not be empty');
  });
});
