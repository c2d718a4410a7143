import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStoreKind } from '../test-support/test-db.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

describe('/api/sites', () => {
  it('needs the admin token', async () => {
    for (const authorization of ['', 'Bearer wrong', `Basic ${Buffer.from('test-admin-token:').toString('base64')}`]) {
      const res = await fetch(`${t.url}/api/sites`, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
    }
  });

  it('creates a site with keys, secret and normalized origins', async () => {
    const res = await t.api('POST', '/api/sites', { name: 'Travel shop', origins: ['https://Shop.Example.com/', 'http://localhost:3000'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Travel shop',
      origins: ['https://shop.example.com', 'http://localhost:3000'],
      // Verification is on for every new site: a user id needs its hash.
      requireUserHash: true,
    });
    expect(res.body.id).toMatch(/^site_/);
    expect(res.body.writeKey).toMatch(/^wk_[0-9a-z]{32}$/);
    expect(res.body.secret).toMatch(/^sk_[0-9a-z]{32}$/);
    const list = await t.api('GET', '/api/sites');
    expect(list.body.sites.map((s: { id: string }) => s.id)).toContain(res.body.id);
  });

  it.each([
    [{}, 'name: is required'],
    [{ name: '' }, 'name: must not be empty'],
    [{ name: 7 }, 'name: must be a string'],
    [{ name: 'x', origins: 'https://a.example' }, 'origins: must be an array of strings'],
    [{ name: 'x', origins: ['ftp://a.example'] }, 'origins[0]: "ftp://a.example" is not an http or https origin'],
    [{ name: 'x', origins: ['https://a.example/path'] }, 'origins[0]: "https://a.example/path" has more than an origin; give only scheme, host and port'],
    [{ name: 'x', requireUserHash: 'yes' }, 'requireUserHash: must be true or false'],
    [{ name: 'x', colour: 'red' }, 'colour: unknown field; expected one of name, origins, requireUserHash, storeFullIp, emailMatching, exposeSegments, retentionDays, timeZone, smtpUrl, mailFrom, quietHours, sendCap, blockedIds, maxAnonymousIds, maxMerges, selfService, recommendations'],
    [{ name: 'x', retentionDays: 0 }, 'retentionDays: must be at least 1'],
    [{ name: 'x', retentionDays: 1.5 }, 'retentionDays: must be a whole number'],,
  ])('answers 400 naming the field for %j', async (body, error) => {
    const res = await t.api('POST', '/api/sites', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(error);
  });

  it('patches origins and settings, and rotates the secret', async () => {
    const created = (await t.api('POST', '/api/sites', { name: 'Patch me' })).body;
    const res = await t.api('PATCH', `/api/sites/${created.id}`, {
      origins: ['https://patched.example'],
      requireUserHash: true,
      rotateSecret: true,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ origins: ['https://patched.example'], requireUserHash: true, writeKey: created.writeKey });
    expect(res.body.secret).not.toBe(created.secret);
    const oldSecret = await t.send('/v1/track', { anonymousId: 'a', event: 'x' }, { headers: { authorization: `Bearer ${created.secret}` } });
    expect(oldSecret.status).toBe(401);
    const newSecret = await t.send('/v1/track', { anonymousId: 'a', event: 'x' }, { headers: { authorization: `Bearer ${res.body.secret}` } });
    expect(newSecret.status).toBe(200);
  });

  it('keeps the self-service settings: defaults, a partial change over what is saved, shown segments of the site only', async () => {
    const created = (await t.api('POST', '/api/sites', { name: 'Self-service' })).body;
    expect(created.selfService).toEqual({ editableTraits: ['firstName', 'lastName', 'phone', 'address', 'preferences'], shownSegments: [], cssUrl: null, logoUrl: null });
    const segment = (await t.api('POST', '/api/segments', { site: created.id, name: 'Gold', rule: { field: 'traits.plan', op: 'eq', value: 'gold' } })).body;
    const patched = await t.api('PATCH', `/api/sites/${created.id}`, {
      selfService: { editableTraits: ['firstName', ' nickname '], shownSegments: [segment.id, segment.id], cssUrl: 'https://cdn.shop.example/me.css' },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.selfService).toEqual({ editableTraits: ['firstName', 'nickname'], shownSegments: [segment.id], cssUrl: 'https://cdn.shop.example/me.css', logoUrl: null });
    // A change names only what changes; the rest stays.
    const logo = await t.api('PATCH', `/api/sites/${created.id}`, { selfService: { logoUrl: 'https://img.shop.example/logo.png' } });
    expect(logo.body.selfService).toMatchObject({ editableTraits: ['firstName', 'nickname'], shownSegments: [segment.id], logoUrl: 'https://img.shop.example/logo.png' });
    expect((await t.api('GET', `/api/sites/${created.id}`)).body.selfService.cssUrl).toBe('https://cdn.shop.example/me.css');
    // A segment deleted since does not block other changes; it just stops showing.
    expect((await t.api('DELETE', `/api/segments/${segment.id}`)).status).toBeLessThan(300);
    expect((await t.api('PATCH', `/api/sites/${created.id}`, { selfService: { cssUrl: null } })).status).toBe(200);
    // null restores the defaults.
    expect((await t.api('PATCH', `/api/sites/${created.id}`, { selfService: null })).body.selfService).toMatchObject({ shownSegments: [], logoUrl: null });
  });

  it('keeps the recommendation settings: defaults, a partial change, and refusals naming the field', async () => {
    const created = (await t.api('POST', '/api/sites', { name: 'Recs' })).body;
    expect(created.recommendations).toEqual({ trainEveryMinutes: 60, lookbackDays: 180, boughtAgainCategories: [], attributionDays: 7 });
    const patched = await t.api('PATCH', `/api/sites/${created.id}`, { recommendations: { trainEveryMinutes: 15, boughtAgainCategories: ['coffee', ' coffee ', 'tea'] } });
    expect(patched.body.recommendations).toEqual({ trainEveryMinutes: 15, lookbackDays: 180, boughtAgainCategories: ['coffee', 'tea'], attributionDays: 7 });
    expect((await t.api('PATCH', `/api/sites/${created.id}`, { recommendations: { attributionDays: 3 } })).body.recommendations).toMatchObject({ trainEveryMinutes: 15, attributionDays: 3 });
    for (const [body, error] of [
      [{ trainEveryMinutes: 2 }, 'recommendations.trainEveryMinutes: must be 0 (only on request) or at least 5'],
      [{ lookbackDays: 0 }, 'recommendations.lookbackDays: must be a whole number from 1 to 3650'],
      [{ boughtAgainCategories: ['ok', ''] }, 'recommendations.boughtAgainCategories[1]: must be a non-empty string of at most 200 characters'],
      [{ colour: 1 }, 'recommendations.colour: unknown field; expected one of trainEveryMinutes, lookbackDays, boughtAgainCategories, attributionDays'],
    ] as const) {
      const res = await t.api('PATCH', `/api/sites/${created.id}`, { recommendations: body });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe(error);
    }
    expect((await t.api('PATCH', `/api/sites/${created.id}`, { recommendations: null })).body.recommendations.trainEveryMinutes).toBe(60);
  });

  it("refuses a segment of another site among the shown ones", async () => {
    const other = (await t.api('POST', '/api/sites', { name: 'Other shop' })).body;
    const segment = (await t.api('POST', '/api/segments', { site: other.id, name: 'Theirs', rule: { field: 'traits.plan', op: 'exists' } })).body;
    const res = await t.api('PATCH', `/api/sites/${t.site.id}`, { selfService: { shownSegments: [segment.id] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(`selfService.shownSegments[0]: no segment ${segment.id} on this site`);
    // A new site has no segments to show yet.
    expect((await t.api('POST', '/api/sites', { name: 'New', selfService: { shownSegments: [segment.id] } })).status).toBe(400);
  });

  const URL_RULE = 'must be an https:// URL of at most 2000 characters, without user name or password, or null';
  const NOT_EDITABLE = 'cannot be edited by customers: it links profiles or belongs to automations and consent';
  it.each([
    [{ selfService: 'yes' }, 'selfService: must be an object with some of editableTraits, shownSegments, cssUrl, logoUrl, or null for the defaults'],
    [{ selfService: { colour: 'red' } }, 'selfService.colour: unknown field; expected one of editableTraits, shownSegments, cssUrl, logoUrl'],
    [{ selfService: { cssUrl: 'http://cdn.example/me.css' } }, `selfService.cssUrl: ${URL_RULE}`],
    [{ selfService: { cssUrl: 'not a url' } }, `selfService.cssUrl: ${URL_RULE}`],
    [{ selfService: { logoUrl: 'https://user:pw@img.example/l.png' } }, `selfService.logoUrl: ${URL_RULE}`],
    [{ selfService: { logoUrl: `https://img.example/${'x'.repeat(2000)}` } }, `selfService.logoUrl: ${URL_RULE}`],
    [{ selfService: { editableTraits: 'firstName' } }, 'selfService.editableTraits: must be a list of at most 50 trait names'],
    [{ selfService: { editableTraits: Array.from({ length: 51 }, (_, i) => `t${i}`) } }, 'selfService.editableTraits: must be a list of at most 50 trait names'],
    [{ selfService: { editableTraits: ['first name'] } }, 'selfService.editableTraits[0]: must be a trait name: a letter or _, then letters, digits, _ or -, at most 64 characters'],
    [{ selfService: { editableTraits: ['firstName', 'email'] } }, `selfService.editableTraits[1]: "email" ${NOT_EDITABLE}`],
    [{ selfService: { editableTraits: ['unsubscribed'] } }, `selfService.editableTraits[0]: "unsubscribed" ${NOT_EDITABLE}`],
    [{ selfService: { shownSegments: Array.from({ length: 101 }, (_, i) => `seg_${i}`) } }, 'selfService.shownSegments: must be a list of at most 100 segment ids'],
    [{ selfService: { shownSegments: ['<script>'] } }, 'selfService.shownSegments[0]: must be the id of a segment, such as "seg_0a1b2c3d4e5f6g7h"'],
    [{ selfService: { shownSegments: ['seg_nope'] } }, 'selfService.shownSegments[0]: no segment seg_nope on this site'],
  ])('answers 400 naming the self-service field for %j, and keeps what was saved', async (body, error) => {
    const before = (await t.api('GET', `/api/sites/${t.site.id}`)).body.selfService;
    const res = await t.api('PATCH', `/api/sites/${t.site.id}`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(error);
    expect((await t.api('GET', `/api/sites/${t.site.id}`)).body.selfService).toEqual(before);
  });

  it('answers 404 for an unknown site and 400 for a body that is not JSON', async () => {
    expect((await t.api('PATCH', '/api/sites/site_nope', { name: 'x' })).status).toBe(404);
    expect((await t.api('GET', '/api/sites/site_nope')).status).toBe(404);
    const res = await fetch(`${t.url}/api/sites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(res.status).toBe(400);
  });
});

describe('GET /healthz', () => {
  it('says which store it is and that the database answers', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      store: testStoreKind(),
      database: 'ok',
      clientsClosedMidUpload: 0,
      automations: { claimed: 0, failed: 0, late: 0, maxLatenessMs: 0 },
    });
  });
});
