import { rmSync } from 'node:fs';
import type { TrustProxy } from '../http/client-ip.js';
import type { RateLimit } from '../http/rate-limit.js';
import { startServer, type RunningServer } from '../server.js';
import type { Site, SiteSettings } from '../store/types.js';
import { newTestDb } from './test-db.js';

export interface TestServerOptions {
  /**
   * Database file or URL; default a new database of the store under test (see `newTestDb`): a
   * file in a temporary folder removed on stop, or a database on the test PostgreSQL cluster.
   */
  dbPath?: string;
  /** Origins of the default site. */
  origins?: string[];
  settings?: Partial<SiteSettings>;
  adminToken?: string;
  rateLimitPerIp?: RateLimit | null;
  rateLimitPerSite?: RateLimit | null;
  trustProxy?: TrustProxy;
  sdkDir?: string;
}

export interface TestServer {
  url: string;
  adminToken: string;
  site: Site;
  dbPath: string;
  server: RunningServer;
  createSite(input: { name: string; origins: string[]; settings?: Partial<SiteSettings> }): Promise<Site>;
  /** An active offer for everyone (no segment, no control group) in `slot`; returns its id. */
  createOffer(siteId: string, slot: string, content: Record<string, string>): Promise<string>;
  /** Calls the admin JSON API with the admin token. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Sends a collect call; `auth` defaults to the write key in HTTP Basic. */
  send(path: string, body: unknown, init?: { headers?: Record<string, string>; raw?: boolean }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A real Rapport server on 127.0.0.1 and a free port, over a real database of the store under
 * test (SQLite, or PostgreSQL in the vitest project `postgres`), with one site.
 * Rate limits are off unless given, so that tests measure behaviour, not the limiter. Unlike a
 * new site of the product, the test site does not require verified user ids unless `settings`
 * says so, so that tests of other rules can send bare user ids; tests of identity turn it on.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { db: dbPath, dir } = options.dbPath ? { db: options.dbPath, dir: null } : await newTestDb();
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    db: dbPath,
    adminToken: options.adminToken ?? 'test-admin-token',
    rateLimitPerIp: options.rateLimitPerIp ?? null,
    rateLimitPerSite: options.rateLimitPerSite ?? null,
    trustProxy: options.trustProxy,
    sdkDir: options.sdkDir,
  });
  const existing = server.sites.list().find((s) => s.name === 'Test site');
  const site =
    existing ??
    (await server.sites.create({ name: 'Test site', origins: options.origins ?? [], settings: { requireUserHash: false, ...options.settings } }));
  const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

  const t: TestServer = {
    url: server.url,
    adminToken: server.adminToken,
    site,
    dbPath,
    server,
    createSite: (input) => server.sites.create(input),
    async api(method, apiPath, body) {
      const response = await fetch(`${server.url}${apiPath}`, {
        method,
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    send(collectPath, body, init = {}) {
      return fetch(`${server.url}${collectPath}`, {
        method: 'POST',
        headers: { authorization: basic(site.writeKey), 'content-type': 'application/json', ...init.headers },
        body: init.raw ? (body as string) : JSON.stringify(body),
      });
    },
    async createOffer(siteId, slot, content) {
      const offer = { site: siteId, name: `Offer in ${slot}`, slot, segment: null, priority: 1, status: 'active', controlPercent: 0, content };
      const res = await t.api('POST', '/api/offers', offer);
      if (res.status !== 201) throw new Error(`the test offer was refused: ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async stop() {
      await server.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
