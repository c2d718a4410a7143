import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { createApp, type App } from './app.js';
import type { TrustProxy } from './http/client-ip.js';
import type { RateLimit } from './http/rate-limit.js';
import { newToken } from './ids.js';
import { SiteDirectory } from './sites/directory.js';
import { scheduleRetention } from './sites/retention.js';
import { scheduleTraining } from './recommendations/trainer.js';
import { openIngester } from './collect/ingester.js';
import { openStore } from './store/open-store.js';
import type { Synchronous } from './store/sqlite/open.js';
import type { Store } from './store/store.js';
import type { Site } from './store/types.js';

/** Everything `rapport serve` can be told; the CLI fills it from flags and environment. */
export interface ServerConfig {
  /** @default 8787 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** A SQLite file, or a `postgres://` URL. @default './data/rapport.db' */
  db: string;
  /** PostgreSQL: connections in this node's pool. @default 10 */
  poolSize?: number;
  /** When given, this is the admin token; otherwise the one stored in the database (made on first start). */
  adminToken?: string;
  trustProxy?: TrustProxy;
  synchronous?: Synchronous;
  /** SQLite files: ingest on a writer thread (see `WriterThread`). @default true */
  writerThread?: boolean;
  rateLimitPerIp?: RateLimit | null;
  rateLimitPerSite?: RateLimit | null;
  /**
   * How long this node holds an automation step it claimed (ms): a step whose node died is
   * claimed again, and sent under the same idempotency key, once its lease runs out.
   * @default 60_000 (the scheduler's)
   */
  automationLeaseMs?: number;
  /**
   * The address people reach this server at, when it differs from where it listens (a proxy in
   * front): the links in automation emails point there. @default the listening address
   */
  publicUrl?: string;
  /** Create the demo site on first start. */
  demo?: boolean;
  sdkDir?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  app: App;
  store: Store;
  sites: SiteDirectory;
  adminToken: string;
  /** True when this start created the admin token (a new database). */
  createdAdminToken: boolean;
  /** The demo site, when `demo` is on. */
  demoSite: Site | null;
  close(): Promise<void>;
}

const ADMIN_TOKEN_KEY = 'admin_token';

/**
 * Opens the database, prepares the admin token (and the demo site), and listens.
 *
 * @example
 * const server = await startServer({ port: 0, host: '127.0.0.1', db: './data/test.db' });
 * console.log(server.url, server.adminToken);
 * await server.close();
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const store = await openStore(config.db, { synchronous: config.synchronous, poolSize: config.poolSize });
  const ingester = openIngester(store, { db: config.db, synchronous: config.synchronous, writerThread: config.writerThread });
  try {
    let adminToken = config.adminToken ?? (await store.getMeta(ADMIN_TOKEN_KEY));
    let createdAdminToken = false;
    if (!adminToken) {
      // Nodes that start at once on a new database all end up with the one token stored first.
      const made = newToken();
      adminToken = await store.setMetaIfAbsent(ADMIN_TOKEN_KEY, made);
      createdAdminToken = adminToken === made;
    }
    const sites = await SiteDirectory.load(store);
    // Known once listening (port 0 picks one), and asked for only when an email goes out.
    let listening = '';
    const app = createApp({
      publicUrl: () => config.publicUrl ?? listening,
      store,
      ingester,
      sites,
      adminToken,
      trustProxy: config.trustProxy,
      rateLimitPerIp: config.rateLimitPerIp,
      rateLimitPerSite: config.rateLimitPerSite,
      sdkDir: config.sdkDir,
      automations: config.automationLeaseMs === undefined ? undefined : { scheduler: { leaseMs: config.automationLeaseMs } },
    });
    // A pixel's query may be as large as one collect message (32 KB); Node's 16 KB default for
    // the request line and headers would refuse it before the pixel could answer its GIF.
    const server = createAdaptorServer({ fetch: app.fetch, hostname: config.host, serverOptions: { maxHeaderSize: 48 * 1024 } }) as Server;
    // Keep-alive connections of a load balancer outlive Node's 5 s default; close them later.
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    listening = url;
    const demoSite = config.demo ? await ensureDemoSite(sites, [url, `http://localhost:${port}`, `http://127.0.0.1:${port}`]) : null;
    const stopRetention = scheduleRetention(store, () => sites.list(), app.node);
    const stopTraining = scheduleTraining(store, () => sites.list(), app.node, (trained) => app.recommender.invalidate(trained.siteId));
    app.automations.scheduler.start();

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      app,
      store,
      sites,
      adminToken,
      createdAdminToken,
      demoSite,
      close: () =>
        (closing ??= drain(server).then(async () => {
          stopRetention();
          stopTraining();
          // The steps in hand finish (their outcome written) before the store closes.
          await app.automations.scheduler.stop();
          await ingester.close();
          await store.close();
        })),
    };
  } catch (error) {
    await ingester.close();
    await store.close();
    throw error;
  }
}

/** Longest wait for requests in flight when a server closes; then their connections are cut. */
const DRAIN_DEADLINE_MS = 10_000;

/**
 * Stops taking connections and lets the requests in flight finish. A load balancer's keep-alive
 * connections would otherwise carry new requests for as long as it likes: from now on every
 * answer says `Connection: close`, idle connections are closed as they become idle, and what is
 * still open at the deadline is cut.
 */
function drain(server: Server): Promise<void> {
  server.on('request', (_req, res) => res.setHeader('Connection', 'close'));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => server.closeAllConnections(), DRAIN_DEADLINE_MS);
  return closed.finally(() => {
    clearInterval(sweep);
    clearTimeout(deadline);
  });
}

const DEMO_SITE_NAME = 'Demo shop';

/** The demo site, made on first start with the server's own origins (the shop is served by it). */
async function ensureDemoSite(sites: SiteDirectory, origins: string[]): Promise<Site> {
  const existing = sites.list().find((s) => s.name === DEMO_SITE_NAME);
  const unique = [...new Set(origins)];
  if (!existing) return sites.create({ name: DEMO_SITE_NAME, origins: unique });
  const missing = unique.filter((o) => !existing.origins.includes(o));
  if (missing.length === 0) return existing;
  return (await sites.update(existing.id, { origins: [...existing.origins, ...missing] }))!;
}
