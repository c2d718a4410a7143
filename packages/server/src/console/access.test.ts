import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoginThrottle } from './access/login-throttle.js';
import { safeNext } from './access/login.js';
import { CONSOLE_CSP } from './access/security.js';
import { ConsoleSessions } from './access/sessions.js';
import { openStore } from '../store/open-store.js';
import { newTestDb, testStoreKind } from '../test-support/test-db.js';
import { ADMIN_TOKEN, ConsoleBrowser, ORIGIN, consoleTestApp, seedShop } from './test-support/console-client.js';

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const apps: TestApp[] = [];
async function setup(options: Parameters<typeof consoleTestApp>[0] = {}) {
  const t = await consoleTestApp(options);
  apps.push(t);
  return t;
}
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

const HOUR = 3_600_000;

describe('login and logout', () => {
  it('starts an HttpOnly, SameSite=Strict session limited to /console with the admin token', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    const res = await b.post('/console/login', { token: ADMIN_TOKEN, next: '/console/segments?site=x' }, { csrf: null });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/segments?site=x');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^rapport_console=[\w-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/console');
    expect(cookie).toContain(`Max-Age=${8 * 3600}`);
    expect(cookie).not.toContain('Secure');
    expect((await b.get('/console')).status).toBe(200);
  });

  it('marks the cookie Secure when the request is https (directly or, with trustProxy, at the proxy)', async () => {
    const t = await setup({ trustProxy: true });
    const direct = await t.app.request('https://crm.example/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://crm.example' },
      body: `token=${ADMIN_TOKEN}`,
    });
    expect(direct.headers.get('set-cookie')).toContain('Secure');
    const proxied = await t.app.request('http://internal:8787/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'crm.example', origin: 'https://crm.example' },
      body: `token=${ADMIN_TOKEN}`,
    });
    expect(proxied.status).toBe(303);
    expect(proxied.headers.get('set-cookie')).toContain('Secure');
  });

  it('refuses a wrong token with the form again, and sets no cookie', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    for (const token of ['nope', '', `${ADMIN_TOKEN}x`]) {
      const res = await b.post('/console/login', { token }, { csrf: null });
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toContain('That is not the admin token.');
    }
  });

  it('sends a logged-in visitor of the login page on, and a logged-out one to the form', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    expect((await b.get('/console/login')).status).toBe(200);
    await b.login();
    const again = await b.get('/console/login?next=/console/offers');
    expect(again.status).toBe(302);
    expect(again.headers.get('location')).toBe('/console/offers');
  });

  it('logs out: the session is deleted on the server, not only the cookie', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    await b.login();
    const cookie = b.cookie;
    const res = await b.post('/console/logout');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login?status=out');
    expect(res.headers.get('set-cookie')).toMatch(/rapport_console=;.*Max-Age=0/);
    expect(b.cookie).toBeNull();
    // The old cookie, replayed, opens nothing.
    const replay = await t.app.request(`${ORIGIN}/console`, { headers: { cookie: cookie! } });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toBe('/console/login?next=%2Fconsole');
  });

  it('ends a session 8 hours after login', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    await b.login();
    t.clock.now += 8 * HOUR - 1000;
    expect((await b.get('/console/customers')).status).toBe(200);
    t.clock.now += 1000;
    const res = await b.get('/console/customers?q=ann');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/console/login?next=${encodeURIComponent('/console/customers?q=ann')}`);
    const json = await b.json('/console/api/segments/count', { site: t.site.id, rule: { field: 'identified', op: 'eq', value: true } });
    expect(json.status).toBe(401);
  });

  it('goes back after login only to a console path', () => {
    expect(safeNext('/console/customers?q=a')).toBe('/console/customers?q=a');
    for (const bad of ['https://evil.example/', '//evil.example/console', '/\\evil.example', '/console\\@evil', '/consolex\nLocation: x', '/console/login', 42, undefined]) {
      expect(safeNext(bad)).toBe('/console');
    }
  });
});

describe('failed logins', () => {
  it('are limited to 10 a minute per client: then even the right token waits', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    for (let i = 0; i < 10; i++) expect((await b.post('/console/login', { token: `guess-${i}` }, { csrf: null })).status).toBe(401);
    const blocked = await b.post('/console/login', { token: ADMIN_TOKEN }, { csrf: null });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Too many failed attempts');
    expect(blocked.headers.get('set-cookie')).toBeNull();
    t.clock.now += 60_001;
    expect((await b.login()).status).toBe(303);
  });

  it('are counted in a sliding window, per client', () => {
    let now = 0;
    const throttle = new LoginThrottle({ max: 3, windowMs: 60_000, now: () => now });
    throttle.fail('a');
    now = 20_000;
    throttle.fail('a');
    throttle.fail('a');
    expect(throttle.retryAfter('a')).toBe(40);
    expect(throttle.retryAfter('b')).toBe(0);
    now = 60_001;
    expect(throttle.retryAfter('a')).toBe(0);
    throttle.fail('a');
    expect(throttle.retryAfter('a')).toBe(20);
    throttle.succeed('a');
    expect(throttle.retryAfter('a')).toBe(0);
  });

  it('stay bounded in memory and work under any number of client addresses', () => {
    let now = 0;
    const throttle = new LoginThrottle({ max: 3, windowMs: 60_000, maxClients: 1000, now: () => now });
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) throttle.fail(`2001:db8::${i.toString(16)}`);
    expect(throttle.size).toBeLessThanOrEqual(1000);
    expect(performance.now() - started).toBeLessThan(1000);
    // A throttled client that keeps trying is kept, however many others fail meanwhile.
    for (let i = 0; i < 3; i++) throttle.fail('attacker');
    for (let i = 0; i < 10_000; i++) {
      throttle.fail(`198.51.100.${i % 250}-${i}`);
      if (i % 100 === 0) expect(throttle.retryAfter('attacker')).toBeGreaterThan(0);
    }
    // Clients whose failures left the window are forgotten.
    now = 120_001;
    throttle.fail('late');
    expect(throttle.size).toBe(1);
  });

  it('refuse a body that is no form with a 400, not as a crash', async () => {
    const t = await setup();
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // A multipart body that ends before its boundary does: not a form.
      const res = await t.app.request(`${ORIGIN}/console/login`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x', origin: ORIGIN },
        body: '--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc',
      });
      expect(res.status).toBe(400);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });
});

describe('sessions', () => {
  it('expire, can be deleted, and are bounded in number; the store keeps a hash of the id, not the id', async () => {
    let now = 0;
    const store = await openStore(testStoreKind() === 'postgres' ? (await newTestDb()).db : ':memory:');
    try {
      const sessions = new ConsoleSessions(store, { ttlMs: 1000, max: 2, now: () => now });
      const a = await sessions.create();
      expect(a.id).not.toBe(a.csrf);
      expect(await sessions.get(a.id)).toEqual(a);
      expect(await store.getSession(a.id, now)).toBeNull();
      expect(await sessions.get(undefined)).toBeNull();
      expect(await sessions.get('made-up')).toBeNull();
      now = 1000;
      expect(await sessions.get(a.id)).toBeNull();
      const b = await sessions.create();
      now++;
      const c = await sessions.create();
      now++;
      const d = await sessions.create();
      expect(await sessions.get(b.id)).toBeNull(); // the oldest made room
      expect(await sessions.get(c.id)).toEqual(c);
      await sessions.delete(d.id);
      expect(await sessions.get(d.id)).toBeNull();
      // Another node on the same store knows the login.
      expect(await new ConsoleSessions(store, { now: () => now }).get(c.id)).toEqual(c);
    } finally {
      await store.close();
    }
  });
});

describe('CSRF', () => {
  const forms = (t: TestApp, ids: { profile: string; offer: string; segment: string }) => [
    ['/console/logout', {}],
    [`/console/customers/${ids.profile}/erase`, {}],
    ['/console/segments', { site: t.site.id, name: 'x', rule: '{"field":"identified","op":"eq","value":true}' }],
    [`/console/segments/${ids.segment}`, { name: 'x', rule: '{"field":"identified","op":"eq","value":true}' }],
    ['/console/offers', { site: t.site.id, name: 'x', slot: 'x', title: 'x' }],
    [`/console/offers/${ids.offer}`, { name: 'x', slot: 'x', title: 'x' }],
    [`/console/offers/${ids.offer}/status`, { status: 'paused' }],
    [`/console/offers/${ids.offer}/delete`, {}],
    [`/console/segments/${ids.segment}/delete`, {}],
    ['/console/sites', { name: 'x' }],
    [`/console/sites/${t.site.id}/reveal`, {}],
    [`/console/sites/${t.site.id}/rotate`, {}],
    [`/console/sites/${t.site.id}/origins`, { origins: 'https://evil.example' }],
    [`/console/sites/${t.site.id}/settings`, { requireUserHash: 'on' }],
  ] as Array<[string, Record<string, string>]>;

  async function populated() {
    const t = await setup();
    await seedShop(t);
    const b = new ConsoleBrowser(t.app);
    await b.login();
    const profile = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
    await b.post('/console/segments', { site: t.site.id, name: 'Buyers', rule: '{"field":"computed.orders","op":"gte","value":1}' });
    const segment = (await t.store.listSegments(t.site.id))[0].id;
    await b.post('/console/offers', { site: t.site.id, name: 'Deal', slot: 'hero', title: 'Hi', segment, status: 'active', controlPercent: '0' });
    const offer = (await t.store.listOffers(t.site.id))[0].id;
    return { t, b, ids: { profile, offer, segment } };
  }

  it('refuses every form post without the session token, with a wrong one, or from another origin', async () => {
    const { t, b, ids } = await populated();
    const before = JSON.stringify([await t.store.listSites(), await t.store.listSegments(t.site.id), await t.store.listOffers(t.site.id)]);
    for (const [path, fields] of forms(t, ids)) {
      for (const options of [{ csrf: null }, { csrf: 'wrong' }, { csrf: '' }, { origin: 'https://evil.example' }, { origin: 'null' }]) {
        const res = await b.post(path, fields, options);
        expect(res.status, `${path} ${JSON.stringify(options)}`).toBe(403);
        expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      }
    }
    // A foreign Referer, when there is no Origin, is refused too.
    const referred = await b.request(`/console/offers/${ids.offer}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', referer: 'https://evil.example/page' },
      body: `status=paused&_csrf=${b.csrf}`,
    });
    expect(referred.status).toBe(403);
    expect(JSON.stringify([await t.store.listSites(), await t.store.listSegments(t.site.id), await t.store.listOffers(t.site.id)])).toBe(before);
    expect(await t.store.getProfile(t.site.id, ids.profile)).not.toBeNull();
    // The same posts, done right, work: the refusals were the token's and the origin's.
    expect((await b.post(`/console/offers/${ids.offer}/status`, { status: 'paused' })).status).toBe(303);
    expect((await b.post(`/console/offers/${ids.offer}/status`, { status: 'active' }, { origin: null })).status).toBe(303);
  });

  it("refuses the scripts' JSON calls without the header token or from another origin", async () => {
    const { t, b } = await populated();
    const body = { site: t.site.id, rule: { field: 'identified', op: 'eq', value: true } };
    for (const options of [{ csrf: null }, { csrf: 'wrong' }, { origin: 'https://evil.example' }]) {
      const res = await b.json('/console/api/segments/count', body, options);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: expect.stringMatching(/reload the page|another site/) });
      expect((await b.json('/console/api/offers/preview', { site: t.site.id, content: { title: 'x' } }, options)).status).toBe(403);
    }
    expect((await b.json('/console/api/segments/count', body)).status).toBe(200);
  });

  it('refuses a login posted from another origin', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    const res = await b.post('/console/login', { token: ADMIN_TOKEN }, { csrf: null, origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('without a session', () => {
  it('every page redirects to the login form, every action and JSON call is refused, and nothing changes', async () => {
    const t = await setup();
    await seedShop(t);
    const admin = new ConsoleBrowser(t.app);
    await admin.login();
    await admin.post('/console/segments', { site: t.site.id, name: 'Buyers', rule: '{"field":"computed.orders","op":"gte","value":1}' });
    const segment = (await t.store.listSegments(t.site.id))[0].id;
    await admin.post('/console/offers', { site: t.site.id, name: 'Deal', slot: 'hero', title: 'Hi', status: 'active', controlPercent: '0' });
    const offer = (await t.store.listOffers(t.site.id))[0].id;
    const profile = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
    const site = t.site.id;

    const pages = [
      '/console',
      `/console?site=${site}`,
      '/console/customers?q=ann',
      `/console/customers/${profile}`,
      `/console/customers/${profile}/export`,
      `/console/customers/${profile}/erase`,
      '/console/segments',
      '/console/segments/new',
      `/console/segments/${segment}`,
      `/console/segments/${segment}/delete`,
      '/console/offers',
      '/console/offers/new',
      `/console/offers/${offer}`,
      `/console/offers/${offer}/report`,
      `/console/offers/${offer}/delete`,
      '/console/sites',
      `/console/sites/${site}`,
      `/console/sites/${site}/rotate`,
      '/console/no-such-page',
    ];
    const stranger = new ConsoleBrowser(t.app);
    for (const page of pages) {
      const res = await stranger.get(page);
      expect(res.status, page).toBe(302);
      expect(res.headers.get('location')).toBe(`/console/login?next=${encodeURIComponent(page)}`);
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(await res.text()).not.toContain('Ann');
    }
    const actions = [
      '/console/logout',
      `/console/customers/${profile}/erase`,
      '/console/segments',
      `/console/segments/${segment}`,
      '/console/offers',
      `/console/offers/${offer}`,
      `/console/offers/${offer}/status`,
      `/console/offers/${offer}/delete`,
      `/console/segments/${segment}/delete`,
      '/console/sites',
      `/console/sites/${site}/reveal`,
      `/console/sites/${site}/rotate`,
      `/console/sites/${site}/origins`,
      `/console/sites/${site}/settings`,
    ];
    // Even with a CSRF token stolen from another session, no session means no action.
    for (const action of actions) {
      const res = await stranger.post(action, { status: 'paused', name: 'x', origins: 'https://evil.example' }, { csrf: admin.csrf });
      expect(res.status, action).toBe(303);
      expect(res.headers.get('location')).toBe('/console/login?next=%2Fconsole');
      expect(await res.text()).not.toContain(t.site.secret);
    }
    for (const call of ['/console/api/segments/count', '/console/api/offers/preview']) {
      const res = await stranger.json(call, { site, rule: { field: 'identified', op: 'eq', value: true }, content: { title: 'x' } }, { csrf: admin.csrf });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: expect.stringContaining('log in') });
    }
    expect(await t.store.getProfile(site, profile)).not.toBeNull();
    expect((await t.store.listOffers(site))[0].status).toBe('active');
    expect(await t.store.listSegments(site)).toHaveLength(1);
    expect((await t.store.listSites()).find((s) => s.id === site)).toMatchObject({ secret: t.site.secret, origins: t.site.origins });
  });

  it('serves the login page and the static files, which hold no data', async () => {
    const t = await setup();
    for (const path of ['/console/login', '/console/static/console.css', '/console/static/console.js', '/console/static/segment-builder.js', '/console/static/offer-preview.js']) {
      const res = await t.app.request(`${ORIGIN}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    }
    const css = await t.app.request(`${ORIGIN}/console/static/console.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const etag = css.headers.get('etag')!;
    expect((await t.app.request(`${ORIGIN}/console/static/console.css`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await t.app.request(`${ORIGIN}/console/static/routes.tsx`)).status).toBe(404);
    expect((await t.app.request(`${ORIGIN}/console/static/..%2Froutes.tsx`)).status).toBe(404);
  });
});

describe('security headers', () => {
  it('are on every console answer: pages, errors, JSON, redirects, static files', async () => {
    const t = await setup();
    const b = new ConsoleBrowser(t.app);
    await b.login();
    const answers = [
      await b.get('/console'),
      await b.get('/console/customers'),
      await b.get('/console/customers/nobody'),
      await b.get('/console/segments/nope'),
      await b.get('/console/sites/nope'),
      await b.get('/console/static/console.js'),
      await b.json('/console/api/segments/count', { site: t.site.id, rule: { bad: 1 } }),
      await b.post('/console/offers/nope/status', { status: 'paused' }),
      await t.app.request(`${ORIGIN}/console/login`),
      await t.app.request(`${ORIGIN}/console/offers`),
    ];
    for (const res of answers) {
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
    }
    expect(answers[0].headers.get('cache-control')).toBe('no-store');
    expect(answers[2].status).toBe(404);
    expect(answers[6].status).toBe(400);
    // Pages load scripts only from files: no inline script and no inline style anywhere.
    for (const path of ['/console', '/console/segments/new', '/console/offers/new', `/console/sites/${t.site.id}`]) {
      const html = await (await b.get(path)).text();
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html).not.toMatch(/\sstyle=/);
      expect(html).not.toMatch(/\son[a-z]+=/i);
    }
  });
});
