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
    [{ name: 'x', colour: 'red' }, 'colour: unknown field; expected one of name, origins, requireUserHash, storeFullIp, emailMatching, exposeSegments, retentionDays, timeZone, smtpUrl, mailFrom, quietHours, sendCap, blockedIds, maxAnonymousIds, maxMerges, selfService'],
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
