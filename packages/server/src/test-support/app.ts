import { createApp, type App, type AppOptions } from '../app.js';
import { SiteDirectory } from '../sites/directory.js';
import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { openTestStore, type TestStore } from './store.js';

export interface TestApp {
  app: App;
  store: Store;
  sites: SiteDirectory;
  site: Site;
  /** The app's clock: tests move it (`clock.now = ...`). */
  clock: { now: number };
  /** A collect call with the site's write key; the parsed answer. */
  send(path: string, body: unknown): Promise<{ status: number; body: any }>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

const ADMIN_TOKEN = 'test-admin-token';

/**
 * The Rapport app in this process, over a new database of the store under test, on a clock the
 * test sets: for what needs time to pass (automation waits), with requests answered by
 * `app.request` rather than a socket. Nothing runs in the background: the test drives the
 * automations' scheduler with `app.automations.scheduler.round()`.
 *
 * @example
 * const t = await startTestApp(Date.UTC(2026, 10, 1));
 * await t.send('/v1/track', { anonymousId: 'a1', event: 'Product Added' });
 * t.clock.now += 3_600_000;
 * await t.app.automations.scheduler.round();
 */
export async function startTestApp(start: number, options: Partial<AppOptions> = {}): Promise<TestApp> {
  const opened: TestStore = await openTestStore();
  const sites = await SiteDirectory.load(opened.store);
  const site = await sites.create({ name: 'Test site', origins: [], settings: { requireUserHash: false } });
  const clock = { now: start };
  const app = createApp({
    store: opened.store,
    sites,
    adminToken: ADMIN_TOKEN,
    rateLimitPerIp: null,
    rateLimitPerSite: null,
    now: () => clock.now,
    ...options,
  });
  const call = async (path: string, init: RequestInit) => {
    const response = await app.request(path, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return {
    app,
    store: opened.store,
    sites,
    site,
    clock,
    send: (path, body) =>
      call(path, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    api: (method, path, body) =>
      call(path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async close() {
      await app.automations.scheduler.stop();
      await opened.close();
    },
  };
}
