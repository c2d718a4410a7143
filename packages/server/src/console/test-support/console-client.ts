import { afterEach, expect } from 'vitest';
import { createApp, type App } from '../../app.js';
import type { TrustProxy } from '../../http/client-ip.js';
import { SiteDirectory } from '../../sites/directory.js';
import { openStore } from '../../store/open-store.js';
import { newTestDb, testStoreKind } from '../../test-support/test-db.js';
import type { Site } from '../../store/types.js';

export const ADMIN_TOKEN = 'console-test-token';
export const ORIGIN = 'http://localhost';

/**
 * A Rapport app with one site and a clock the test moves, on a new database of the store under
 * test (SQLite in memory, or PostgreSQL in the vitest project `postgres`) unless given one.
 */
export async function consoleTestApp(options: { sites?: string[]; trustProxy?: TrustProxy; file?: string } = {}) {
  const store = await openStore(options.file ?? (testStoreKind() === 'postgres' ? (await newTestDb()).db : ':memory:'));
  const sites = await SiteDirectory.load(store);
  // Ingest stamps messages with this clock too, so it starts at the real time.
  const clock = { now: Date.now() };
  const app = createApp({
    store,
    sites,
    adminToken: ADMIN_TOKEN,
    now: () => clock.now,
    rateLimitPerIp: null,
    rateLimitPerSite: null,
    sdkDir: '/nonexistent',
    trustProxy: options.trustProxy,
  });
  const created: Site[] = [];
  // Bare user ids, as the test-support server allows them (see startTestServer).
  for (const name of options.sites ?? ['Shop']) {
    created.push(await sites.create({ name, origins: ['https://shop.example'], settings: { requireUserHash: false } }));
  }
  return {
    app,
    store,
    sites,
    site: created[0],
    created,
    clock,
    /** Sends collect messages for a site (default: the first). */
    async collect(batch: Array<Record<string, unknown>>, site = created[0]) {
      const res = await app.request('/v1/batch', {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });
      if (res.status !== 200) throw new Error(`collect answered ${res.status}: ${await res.text()}`);
    },
    close: () => store.close(),
  };
}

/** A browser of the console: keeps the session cookie, finds the CSRF token in pages. */
export class ConsoleBrowser {
  cookie: string | null = null;
  csrf: string | null = null;

  constructor(private readonly app: App) {}

  async request(path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const res = await this.app.request(`${ORIGIN}${path}`, { ...init, headers, redirect: 'manual' });
    const set = res.headers.get('set-cookie');
    if (set) {
      const [pair] = set.split(';');
      this.cookie = pair.endsWith('=') ? null : pair;
    }
    return res;
  }

  async get(path: string) {
    const res = await this.request(path);
    const text = await res.clone().text();
    const token = /name="csrf-token" content="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1];
    return res;
  }

  /** Posts a form with the CSRF token (unless given one) from this server's origin (unless told otherwise). */
  post(path: string, fields: Record<string, string> = {}, options: { origin?: string | null; csrf?: string | null } = {}) {
    const form = new URLSearchParams(fields);
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf !== null && csrf !== undefined) form.set('_csrf', csrf);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const origin = options.origin === undefined ? ORIGIN : options.origin;
    if (origin !== null) headers.origin = origin;
    return this.request(path, { method: 'POST', headers, body: form.toString() });
  }

  /** A JSON call of the console's scripts. */
  json(path: string, body: unknown, options: { csrf?: string | null; origin?: string | null } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf) headers['x-csrf-token'] = csrf;
    const origin = options.origin === undefined ? ORIGIN : options.origin;
    if (origin !== null) headers.origin = origin;
    return this.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
  }

  async login(token = ADMIN_TOKEN) {
    const res = await this.post('/console/login', { token }, { csrf: null });
    if (res.status === 303) await this.get('/console');
    return res;
  }
}

const DAY = 86_400_000;

/**
 * A small shop: Ann (two devices merged at login, two orders, from a search for Thailand),
 * Bob (anonymous, from a newsletter), and a visitor who typed markup everywhere.
 */
export async function seedShop(t: Awaited<ReturnType<typeof consoleTestApp>>, site = t.site) {
  const at = (daysAgo: number, minutes = 0) => new Date(t.clock.now - daysAgo * DAY + minutes * 60_000).toISOString();
  let n = 0;
  const id = () => `seed-${site.id}-${++n}`;
  const page = (anonymousId: string, when: string, url: string, referrer = '', title = 'Shop') => ({
    type: 'page', messageId: id(), anonymousId, timestamp: when, context: { page: { url, referrer, title } },
  });
  await t.collect(
    [
      page('ann-laptop', at(10), 'https://shop.example/trips/thailand', 'https://www.google.com/search?q=thailand+beach', 'Thailand'),
      { type: 'identify', messageId: id(), anonymousId: 'ann-laptop', userId: 'u-ann', timestamp: at(10, 1), traits: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', city: 'Lyon' } },
      { type: 'track', messageId: id(), anonymousId: 'ann-laptop', userId: 'u-ann', event: 'Order Completed', timestamp: at(10, 5), properties: { revenue: 1200 } },
      page('ann-phone', at(2), 'https://shop.example/deals?utm_source=newsletter&utm_medium=email&utm_campaign=june'),
      page('bob', at(1), 'https://shop.example/?utm_source=newsletter&utm_medium=email', ''),
      { type: 'track', messageId: id(), anonymousId: 'bob', event: 'Product Viewed', timestamp: at(1, 1), properties: { product: 'Crete' } },
    ],
    site,
  );
  // Ann logs in on her phone later: its profile merges into hers and stays as a tombstone.
  await t.collect(
    [
      { type: 'identify', messageId: id(), anonymousId: 'ann-phone', userId: 'u-ann', timestamp: at(2, 1), traits: { plan: 'gold' } },
      { type: 'track', messageId: id(), anonymousId: 'ann-phone', userId: 'u-ann', event: 'Order Completed', timestamp: at(2, 5), properties: { revenue: 300 } },
      page('evil', at(0, -30), 'javascript:alert(1)', 'https://www.google.com/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E', '<script>alert("title")</script>'),
      { type: 'identify', messageId: id(), anonymousId: 'evil', userId: '<img src=x onerror=alert(1)>', timestamp: at(0, -20), traits: { name: '<script>alert("name")</script>', city: '"><svg onload=alert(1)>' } },
      { type: 'track', messageId: id(), anonymousId: 'evil', event: '<b>bold</b>', timestamp: at(0, -10), properties: { link: 'javascript:alert(1)' } },
    ],
    site,
  );
}

/**
 * A file's logged-in consoles, each over an app of its own, all closed after each test.
 *
 * @example
 * const setup = loggedInConsoles();
 * it('shows the overview', async () => { const { t, b } = await setup(); ... });
 */
export function loggedInConsoles() {
  const apps: Awaited<ReturnType<typeof consoleTestApp>>[] = [];
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
  });
  return async (options: Parameters<typeof consoleTestApp>[0] = {}) => {
    const t = await consoleTestApp(options);
    apps.push(t);
    const b = new ConsoleBrowser(t.app);
    await b.login();
    return { t, b };
  };
}

/** The text a page shows: tags dropped, entities decoded. */
export const textOf = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** A console page's HTML, checked to be an HTML answer with `status`. */
export async function pageHtml(b: ConsoleBrowser, path: string, status = 200): Promise<string> {
  const res = await b.get(path);
  expect(res.status, path).toBe(status);
  expect(res.headers.get('content-type')).toContain('text/html');
  return res.text();
}
