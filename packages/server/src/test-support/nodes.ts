// Several Rapport nodes on one database, for tests of what holds across nodes: each node is a
// real `rapport serve` process (see process.ts), so that nothing is shared between them but the
// database, as in a deployment behind a load balancer.
import pg from 'pg';
import type { StoredEvent } from '../store/types.js';
import { spawnServer, type ServerProcess } from './process.js';

export const NODES_ADMIN_TOKEN = 'nodes-admin-token';

export interface Nodes {
  nodes: ServerProcess[];
  adminToken: string;
  /** SIGTERM to every node still running (SIGKILL after 10 s); resolves once all have exited. */
  stop(): Promise<void>;
}

/**
 * Starts `count` nodes on `db` at the same time: they race for the migration (the first one to
 * take the advisory lock migrates, the others wait and find the schema up to date). Rate limits
 * are off, so that tests measure the store, not the limiter.
 *
 * @example
 * const { nodes, stop } = await startNodes(await createTestDatabase(testPostgresUrl()));
 */
export async function startNodes(db: string, count = 2, options: { adminToken?: string; args?: string[] } = {}): Promise<Nodes> {
  const adminToken = options.adminToken ?? NODES_ADMIN_TOKEN;
  const args = ['--db', db, '--admin-token', adminToken, '--rate-limit-ip', '0', '--rate-limit-site', '0', ...(options.args ?? [])];
  const started = await Promise.allSettled(Array.from({ length: count }, () => spawnServer(args)));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = () => Promise.all(nodes.map(stopNode)).then(() => {});
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { nodes, adminToken, stop };
}

/** Stops one node: SIGTERM, then SIGKILL if it has not exited within 10 s. Idempotent. */
export async function stopNode(node: ServerProcess): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
  await node.exited;
  clearTimeout(timer);
}

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the admin JSON API of the node at `url` with the admin token. */
export async function api<T = any>(url: string, method: string, path: string, body?: unknown, token = NODES_ADMIN_TOKEN): Promise<ApiAnswer<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

/** What `POST /api/sites` answers. */
export interface SiteJson {
  id: string;
  name: string;
  writeKey: string;
  secret: string;
  origins: string[];
  requireUserHash: boolean;
}

/** Creates a site through a node's admin API; user ids need no hash, so tests can send bare ones. */
export async function createSite(url: string, input: { name?: string; origins?: string[] } = {}, token = NODES_ADMIN_TOKEN): Promise<SiteJson> {
  const res = await api<SiteJson>(url, 'POST', '/api/sites', { name: input.name ?? 'Nodes test', origins: input.origins ?? [], requireUserHash: false }, token);
  if (res.status !== 201) throw new Error(`POST /api/sites answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** HTTP Basic with the write key as user name and an empty password: how the SDK authenticates. */
export const writeKeyAuth = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
/** The site secret as a bearer token: a trusted, server-side sender. */
export const secretAuth = (secret: string) => `Bearer ${secret}`;

/** How one collect call ended: an HTTP status, or `timeout` / `error` when no answer came. */
export interface SendResult {
  status: number | 'timeout' | 'error';
  retryAfter: string | null;
  body: any;
  ms: number;
  error?: string;
}

/**
 * Posts `{ batch }` to `/v1/batch` of the node at `url`. Never throws: a request that got no
 * answer within `timeoutMs` is `timeout`, a connection that failed (a killed node) is `error`.
 */
export async function postBatch(
  url: string,
  auth: string,
  batch: object[],
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<SendResult> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body, ms: performance.now() - started };
  } catch (error) {
    const name = (error as Error).name;
    return {
      status: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'error',
      retryAfter: null,
      body: null,
      ms: performance.now() - started,
      error: String((error as Error & { cause?: unknown }).cause ?? error),
    };
  }
}

/** Every event of a site, read through a node's admin API page by page (newest first). */
export async function allEvents(url: string, siteId: string, token = NODES_ADMIN_TOKEN): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | null = null;
  for (;;) {
    const query = `site=${encodeURIComponent(siteId)}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res: ApiAnswer<{ events: StoredEvent[]; nextCursor: string | null }> = await api(url, 'GET', `/api/events?${query}`, undefined, token);
    if (res.status !== 200) throw new Error(`GET /api/events answered ${res.status}: ${JSON.stringify(res.body)}`);
    events.push(...res.body.events);
    cursor = res.body.nextCursor;
    if (!cursor) return events;
  }
}

/** How many times each message id is stored. */
export function countByMessageId(events: StoredEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
  return counts;
}

/**
 * Checks that every id in `expected` is stored exactly once and nothing else is stored:
 * resolves with the ids missing, those stored more than once, and those not expected.
 */
export function exactlyOnce(events: StoredEvent[], expected: Iterable<string>) {
  const counts = countByMessageId(events);
  const wanted = new Set(expected);
  return {
    missing: [...wanted].filter((id) => !counts.has(id)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`),
    unexpected: [...counts.keys()].filter((id) => !wanted.has(id)),
  };
}

/** Counts of keys, for figures such as statuses: `{ "200": 1532, "503": 41 }`. */
export class Histogram {
  readonly counts = new Map<string, number>();
  add(key: string | number, n = 1) {
    const k = String(key);
    this.counts.set(k, (this.counts.get(k) ?? 0) + n);
  }
  get(key: string | number) {
    return this.counts.get(String(key)) ?? 0;
  }
  keys() {
    return [...this.counts.keys()].sort();
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

/** Runs `tasks` with at most `concurrency` of them in flight, in order of the list; results in that order. */
export async function runConcurrently<T>(tasks: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}

/** Polls `probe` every `everyMs` until it is true; resolves with the ms it took, or throws after `timeoutMs`. */
export async function timeUntil(probe: () => Promise<boolean>, options: { timeoutMs?: number; everyMs?: number; what?: string } = {}): Promise<number> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 5_000;
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${options.what ?? 'condition'} not reached within ${timeoutMs} ms`);
    await sleep(options.everyMs ?? 10);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A shuffled copy (Fisher-Yates). */
export function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Transactions committed and rolled back in the database of `url` so far, and deadlocks: how
 * much the nodes' writers collided (a rollback is mostly a retried conflict). PostgreSQL's
 * statistics lag by up to a second.
 */
export async function transactionStats(url: string): Promise<{ commits: number; rollbacks: number; deadlocks: number }> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT xact_commit::int AS commits, xact_rollback::int AS rollbacks, deadlocks::int AS deadlocks FROM pg_stat_database WHERE datname = current_database()',
    );
    return rows[0];
  } finally {
    await client.end().catch(() => {});
  }
}

/** The versions in the database's `schema_migrations`, in order: each once when nodes that started together migrated once. */
export async function appliedMigrations(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    return rows.map((r) => Number(r.version));
  } finally {
    await client.end().catch(() => {});
  }
}
