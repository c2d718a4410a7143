// docs/nginx/rapport.conf, the nginx config that docs/deploy.md gives, run for real: Debian's
// nginx in front of two `rapport serve` processes on one PostgreSQL. nginx runs in the
// foreground from a temporary folder (its own pid file, logs and temp paths there), started
// with a wrapper config that includes the doc's file with only the node addresses, the listen
// address and the log folder replaced.
//
// Which node served a request is read from nginx's access log: the doc's log format has
// $upstream_addr (Rapport sends no header that names the node).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePostgres, startPostgres, type PostgresCluster } from '../../test-support/postgres.js';
import { spawnServer, type ServerProcess } from '../../test-support/process.js';

const DOC_CONF = fileURLToPath(new URL('../../../../../docs/nginx/rapport.conf', import.meta.url));
const ADMIN_TOKEN = 'lb-test-admin-token';
/** The fail_timeout of the doc's upstream: how long nginx leaves a failed node alone. */
const FAIL_TIMEOUT_MS = Number(/fail_timeout=(\d+)s/.exec(readFileSync(DOC_CONF, 'utf8'))?.[1] ?? 10) * 1000;

function findNginx(): string | null {
  for (const candidate of ['/usr/sbin/nginx', ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'nginx'))]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const NGINX = findNginx();
const runWithoutNginx = process.env.CI === 'true'; // then a missing nginx fails the tests
if (!NGINX && !runWithoutNginx) console.warn('load-balancer tests skipped: nginx not found (apt-get install -y nginx)');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The doc's config with the node addresses, the listen address and the log folder replaced,
 * and nothing else. Fails if the doc no longer has the lines it replaces.
 */
function siteConf(doc: string, nodes: number[], listen: number, logDir: string): string {
  const serverLine = /^(\s*)server\s+\d+\.\d+\.\d+\.\d+:\d+(\s[^;]*)?;\s*$/;
  const lines = doc.split('\n');
  const examples = lines.filter((line) => serverLine.test(line));
  expect(examples.length, 'the upstream of docs/nginx/rapport.conf lists two example nodes').toBe(2);
  const [, indent, params = ''] = serverLine.exec(examples[0])!;
  let placed = false;
  const out = lines.flatMap((line) => {
    if (!serverLine.test(line)) return [line];
    if (placed) return [];
    placed = true;
    return nodes.map((port) => `${indent}server 127.0.0.1:${port}${params};`);
  });
  let text = out.join('\n');
  expect(text).toContain('listen 80 default_server;');
  expect(text).toContain('listen [::]:80 default_server;');
  text = text.replace('listen 80 default_server;', `listen 127.0.0.1:${listen};`).replace(/^\s*listen \[::\]:80 default_server;\n/m, '');
  expect(text).toContain('/var/log/nginx/');
  return text.replaceAll('/var/log/nginx/', `${logDir}/`);
}

interface Nginx {
  url: string;
  port: number;
  dir: string;
  /** The access log's lines so far. */
  log(): Promise<string[]>;
  stop(): Promise<void>;
}

async function startNginx(bin: string, nodes: number[]): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'rapport-nginx-'));
  // As root, nginx's workers run as `nobody`: they must reach the temp folders nginx makes here.
  await chmod(dir, 0o755);
  const port = await freePort();
  await writeFile(join(dir, 'rapport.conf'), siteConf(await readFile(DOC_CONF, 'utf8'), nodes, port, dir));
  const temp = (name: string) => `${name}_temp_path ${join(dir, name.replace(/_.*/, ''))};`;
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 2;',
      'events { worker_connections 1024; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${temp(name)}`),
      `  include ${join(dir, 'rapport.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const check = spawnSync(bin, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid; error_log ${dir}/error.log;`], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t refuses the config:\n${check.stderr}`);
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${output}`);
    try {
      await request(url, '/healthz');
      break;
    } catch {
      if (i > 100) throw new Error(`nginx did not listen on ${url}:\n${output}`);
      await sleep(50);
    }
  }
  return {
    url,
    port,
    dir,
    log: async () => (await readFile(join(dir, 'rapport.access.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT'); // graceful: finish the requests in flight, then exit
        await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** One HTTP request; `localAddress` picks the client's source address (any 127.x.y.z works on Linux). */
function request(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; localAddress?: string } = {},
): Promise<Response> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, base),
      { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, agent: options.localAddress ? undefined : agent, localAddress: options.localAddress },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`no answer to ${path} in 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const basic = (writeKey: string) => ({ authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` });

/** Polls until `check` passes (returns without throwing); returns the ms it took. */
async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return Date.now() - started;
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await sleep(25);
    }
  }
}

interface Site {
  id: string;
  writeKey: string;
  secret: string;
}

interface LoadResult {
  ok: number;
  /** Answers other than 200, and requests that failed, as "status body". */
  failures: string[];
  /** The messageIds of every batch answered 200. */
  acknowledged: string[];
}

/**
 * Collect load through `base`: `workers` loops, each sending batches of 5 track messages with
 * fresh messageIds, one after the other, until `during` has resolved and `afterMs` more passed.
 */
async function collectLoad(base: string, site: Site, prefix: string, during: () => Promise<void>, { workers = 8, afterMs = 500 } = {}): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failures: [], acknowledged: [] };
  let stop = false;
  const loop = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const ids = Array.from({ length: 5 }, (_, j) => `${prefix}-${w}-${i}-${j}`);
      const batch = ids.map((messageId) => ({ type: 'track', event: 'Load Tested', anonymousId: `${prefix}-visitor-${w}`, messageId, properties: { i } }));
      try {
        const res = await request(base, '/v1/batch', { headers: basic(site.writeKey), body: { batch } });
        if (res.status === 200) {
          result.ok++;
          result.acknowledged.push(...ids);
        } else {
          result.failures.push(`${res.status} ${res.text.slice(0, 200)}`);
        }
      } catch (error) {
        result.failures.push(`request failed: ${(error as Error).message}`);
      }
    }
  };
  const loops = Array.from({ length: workers }, (_, w) => loop(w));
  try {
    await during();
    await sleep(afterMs);
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  return result;
}

describePostgres('nginx in front of two nodes (docs/nginx/rapport.conf)', () => {
  describe.skipIf(!NGINX && !runWithoutNginx)('through nginx', () => {
    let cluster: PostgresCluster;
    let db: string;
    let sql: pg.Pool;
    const ports: number[] = [];
    const nodes: Array<ServerProcess | null> = [null, null];
    let lb: Nginx;
    let site: Site;

    const nodeUrl = (i: number) => `http://127.0.0.1:${ports[i]}`;
    const startNode = async (i: number) => {
      // --rate-limit-ip 0: every request of this test comes from one address.
      nodes[i] = await spawnServer(['--db', db, '--admin-token', ADMIN_TOKEN, '--trust-proxy', '--port', String(ports[i]), '--rate-limit-ip', '0']);
    };
    /** Requests per node in access-log lines (a retried request names both nodes). */
    const servedBy = (lines: string[]) => ports.map((port) => lines.filter((line) => line.includes(`127.0.0.1:${port}`)).length);
    const stored = async (siteId: string) => {
      const { rows } = await sql.query<{ id: string; n: number }>('SELECT message_id AS id, count(*)::int AS n FROM events WHERE site_id = $1 GROUP BY message_id', [siteId]);
      return new Map(rows.map((r) => [r.id, r.n]));
    };
    const expectStoredOnce = async (load: LoadResult) => {
      const counts = await stored(site.id);
      const missing = load.acknowledged.filter((id) => counts.get(id) !== 1);
      expect(missing, 'acknowledged messages not stored exactly once').toEqual([]);
      expect([...counts.values()].every((n) => n === 1), 'no message stored twice').toBe(true);
    };

    beforeAll(async () => {
      if (!NGINX) throw new Error('nginx not found and CI=true: install it (apt-get install -y nginx; .ci/run does)');
      // A cluster of its own: the last test stops it.
      cluster = await startPostgres();
      db = cluster.url.replace(/\/postgres$/, '/rapport');
      const setup = new pg.Client({ connectionString: cluster.url });
      await setup.connect();
      await setup.query('CREATE DATABASE rapport');
      await setup.end();
      sql = new pg.Pool({ connectionString: db, max: 2 });
      sql.on('error', () => {});
      ports.push(await freePort(), await freePort());
      // Both at once: the migration runs once, under its advisory lock.
      await Promise.all([startNode(0), startNode(1)]);
      lb = await startNginx(NGINX, ports);
    }, 120_000);

    afterAll(async () => {
      await lb?.stop();
      await Promise.all(
        nodes.map(async (node) => {
          if (node && node.child.exitCode === null && node.child.signalCode === null) {
            node.child.kill('SIGTERM');
            await Promise.race([node.exited, sleep(10_000).then(() => node.child.kill('SIGKILL'))]);
          }
        }),
      );
      await sql?.end();
      await cluster?.stop();
    }, 60_000);

    it('docs/deploy.md quotes docs/nginx/rapport.conf as it is', async () => {
      const doc = await readFile(fileURLToPath(new URL('../../../../../docs/deploy.md', import.meta.url)), 'utf8');
      expect(doc).toContain('```nginx\n' + (await readFile(DOC_CONF, 'utf8')) + '```');
    });

    it('answers /healthz through nginx, from a PostgreSQL store', async () => {
      const res = await request(lb.url, '/healthz');
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ status: 'ok', store: 'postgres', database: 'ok' });
      const { rows } = await sql.query('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).toBeGreaterThan(0);
    });

    it('a site made on one node is known to the other within a second (LISTEN/NOTIFY)', async () => {
      const created = await request(nodeUrl(0), '/api/sites', { headers: admin, body: { name: 'Load-balanced shop' } });
      expect(created.status, created.text).toBe(201);
      site = created.json();
      const ms = await eventually(async () => {
        const list = (await request(nodeUrl(1), '/api/sites', { headers: admin })).json();
        expect((list.sites ?? list).map((s: Site) => s.id)).toContain(site.id);
      }, 5_000);
      console.log(`load-balancer: the other node listed the new site after ${ms} ms`);
      expect(ms).toBeLessThan(1_500);
    });

    it('spreads collect over both nodes', async () => {
      const before = (await lb.log()).length;
      for (let i = 0; i < 40; i++) {
        const batch = [{ type: 'track', event: 'Spread', anonymousId: `spread-${i}`, messageId: `spread-${i}` }];
        const res = await request(lb.url, '/v1/batch', { headers: basic(site.writeKey), body: { batch } });
        expect(res.status, res.text).toBe(200);
      }
      // nginx logs a request after it has answered it: the last line may come a moment after the answer.
      let lines: string[] = [];
      await eventually(async () => {
        lines = (await lb.log()).slice(before).filter((line) => line.includes('POST /v1/batch'));
        expect(lines).toHaveLength(40);
      }, 2_000);
      const [a, b] = servedBy(lines);
      console.log(`load-balancer: 40 batches through nginx, ${a} served by node 1 and ${b} by node 2`);
      expect(a).toBeGreaterThanOrEqual(5);
      expect(b).toBeGreaterThanOrEqual(5);
      const counts = await stored(site.id);
      expect(Array.from({ length: 40 }, (_, i) => counts.get(`spread-${i}`))).toEqual(Array(40).fill(1));
    });

    it('takes the client IP from the X-Forwarded-For that nginx appends to, not from what the client wrote', async () => {
      const full = (await request(lb.url, '/api/sites', { headers: admin, body: { name: 'Full IP shop', storeFullIp: true } })).json() as Site;
      const send = (s: Site, messageId: string) =>
        request(lb.url, '/v1/batch', {
          headers: { ...basic(s.writeKey), 'x-forwarded-for': '203.0.113.9' },
          body: { batch: [{ type: 'track', event: 'Forwarded', anonymousId: 'xff', messageId }] },
          // The client's own address, which nginx appends: not nginx's (127.0.0.1), not the forged one.
          localAddress: '127.0.0.5',
        });
      expect((await send(site, 'xff-truncated')).status).toBe(200);
      expect((await send(full, 'xff-full')).status).toBe(200);
      const ipOf = async (s: Site, messageId: string) => {
        const { events } = (await request(lb.url, `/api/events?site=${s.id}&limit=100`, { headers: admin })).json();
        return events.find((e: any) => e.messageId === messageId)?.enrichment.ip;
      };
      // Truncated as every site stores it by default (the last octet zeroed)...
      expect(await ipOf(site, 'xff-truncated')).toBe('127.0.0.0');
      // ...and in full for a site that asks: the address nginx saw.
      expect(await ipOf(full, 'xff-full')).toBe('127.0.0.5');
    });

    it('decides through nginx on both nodes, with an offer made on one of them', async () => {
      const offer = await request(nodeUrl(0), '/api/offers', {
        headers: admin,
        body: { site: site.id, name: 'Spring sale', slot: 'hero', priority: 1, controlPercent: 0, content: { title: 'Spring sale' } },
      });
      expect(offer.status, offer.text).toBe(201);
      const offerId = offer.json().id;
      const before = (await lb.log()).length;
      // Each node's catalog is a cache: the other one hears of the new offer by NOTIFY.
      const ms = await eventually(async () => {
        // 30 answers: all from one node by chance would be 1 in 500 million.
        for (let i = 0; i < 30; i++) {
          const res = await request(lb.url, '/v1/decide', { headers: basic(site.writeKey), body: { anonymousId: `decider-${i}`, slots: ['hero'] } });
          expect(res.status, res.text).toBe(200);
          expect(res.json().slots.hero).toMatchObject({ offerId, content: { title: 'Spring sale' } });
        }
      }, 5_000);
      const [a, b] = servedBy((await lb.log()).slice(before).filter((line) => line.includes('POST /v1/decide')));
      console.log(`load-balancer: both nodes decided with the new offer ${ms} ms after it was made (decide answered by node 1 ${a}, node 2 ${b} times)`);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
    });

    it('keeps a console login whichever node a request reaches (sessions are in the database)', async () => {
      const login = await request(lb.url, '/console/login', {
        // As a browser sends it: Origin names the address of nginx, port included.
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: lb.url },
        body: `token=${encodeURIComponent(ADMIN_TOKEN)}&next=%2Fconsole`,
      });
      expect(login.status, login.text).toBe(303);
      const cookie = String(login.headers['set-cookie']?.[0] ?? '').split(';')[0];
      expect(cookie).toMatch(/^rapport_console=/);
      const loggedIn = (res: Response) => res.status === 200 || (res.status === 302 && !String(res.headers.location).includes('/console/login'));
      for (let i = 0; i < 10; i++) {
        const page = await request(lb.url, '/console', { headers: { cookie } });
        expect(loggedIn(page), `request ${i}: ${page.status} ${page.headers.location ?? ''}`).toBe(true);
      }
      // Asked directly, both nodes know the session.
      const direct = await Promise.all([0, 1].map((i) => request(nodeUrl(i), '/console', { headers: { cookie } })));
      expect(direct.map(loggedIn)).toEqual([true, true]);
    });

    it('a node killed mid-load: collect gets no error, and every acknowledged message is stored once', async () => {
      const load = await collectLoad(lb.url, site, 'kill', async () => {
        await sleep(700);
        nodes[1]!.child.kill('SIGKILL');
        await nodes[1]!.exited;
        await sleep(1_000);
      });
      console.log(`load-balancer: ${load.ok} batches answered 200 while node 2 was killed, ${load.failures.length} failures`);
      expect(load.failures).toEqual([]);
      expect(load.ok).toBeGreaterThan(20);
      await expectStoredOnce(load);
      const errors = await readFile(join(lb.dir, 'rapport.error.log'), 'utf8');
      // nginx did see the dead node, and went on to the other one.
      expect(errors).toMatch(/Connection refused|Connection reset|prematurely closed/);
    }, 60_000);

    it('the killed node, restarted, takes traffic again after fail_timeout', async () => {
      await startNode(1);
      const started = Date.now();
      const before = (await lb.log()).length;
      const ms = await eventually(async () => {
        const res = await request(lb.url, '/healthz');
        expect(res.status).toBe(200);
        expect(servedBy((await lb.log()).slice(before))[1]).toBeGreaterThan(0);
      }, FAIL_TIMEOUT_MS + 10_000);
      console.log(`load-balancer: nginx sent requests to the restarted node again after ${ms} ms (fail_timeout ${FAIL_TIMEOUT_MS} ms)`);
      expect(Date.now() - started).toBeLessThan(FAIL_TIMEOUT_MS + 10_000);
    }, 60_000);

    it('a node stopped with SIGTERM mid-load (a rolling restart): collect gets no error, and the node exits', async () => {
      let exitMs: number | null = null;
      const load = await collectLoad(lb.url, site, 'term', async () => {
        await sleep(700);
        const stopping = Date.now();
        nodes[0]!.child.kill('SIGTERM');
        // The load goes on while the node drains: it must still get out.
        const exited = await Promise.race([nodes[0]!.exited.then(() => true), sleep(30_000).then(() => false)]);
        if (exited) exitMs = Date.now() - stopping;
      });
      console.log(`load-balancer: ${load.ok} batches answered 200 while node 1 stopped (exit ${exitMs === null ? 'not within 30 s' : `${exitMs} ms`} after SIGTERM, under load), ${load.failures.length} failures`);
      expect(load.failures).toEqual([]);
      expect(load.ok).toBeGreaterThan(20);
      await expectStoredOnce(load);
      expect(exitMs, 'the node exits after SIGTERM while nginx keeps sending').not.toBeNull();
    }, 90_000);

    it('the stopped node, started again, takes traffic again', async () => {
      if (nodes[0]!.child.exitCode === null && nodes[0]!.child.signalCode === null) {
        nodes[0]!.child.kill('SIGKILL');
        await nodes[0]!.exited;
      }
      await startNode(0);
      const before = (await lb.log()).length;
      await eventually(async () => {
        expect((await request(lb.url, '/healthz')).status).toBe(200);
        expect(servedBy((await lb.log()).slice(before))[0]).toBeGreaterThan(0);
      }, FAIL_TIMEOUT_MS + 10_000);
    }, 60_000);

    it('PostgreSQL away: every answer through nginx is a 503 with Retry-After, and collect resumes after', async () => {
      await cluster.stopNow();
      try {
        const statuses = new Map<number, number>();
        for (let i = 0; i < 30; i++) {
          const res = await request(lb.url, '/v1/batch', {
            headers: basic(site.writeKey),
            body: { batch: [{ type: 'track', event: 'Outage', anonymousId: 'outage', messageId: `outage-${i}` }] },
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, res.text).toBe(503);
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
          expect(res.json().error).toBeTruthy();
        }
        const health = await request(nodeUrl(1), '/healthz');
        expect(health.status).toBe(503);
        expect(health.json()).toMatchObject({ status: 'unavailable', store: 'postgres', database: 'not answering' });
      } finally {
        await cluster.start();
      }
      const ms = await eventually(async () => {
        const res = await request(lb.url, '/v1/batch', {
          headers: basic(site.writeKey),
          body: { batch: [{ type: 'track', event: 'Outage', anonymousId: 'outage', messageId: 'after-outage' }] },
        });
        expect(res.status).toBe(200);
      }, FAIL_TIMEOUT_MS + 15_000);
      console.log(`load-balancer: collect answered 200 through nginx ${ms} ms after PostgreSQL was back`);
    }, 90_000);
  });
});
