// A server killed (SIGKILL) between a step falling due and its delivery being written back:
// after the restart on the same SQLite file the step is sent again, once its lease has run out,
// under the same webhook-id, so a receiver that drops repeats sees one delivery per run. A real
// `rapport serve` process (test-support/process.ts), a real receiver that holds the first
// deliveries open (the step is in flight: claimed, not written back) until the kill.
import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { api, createSite, postBatch, sleep, stopNode, timeUntil, writeKeyAuth, NODES_ADMIN_TOKEN } from '../test-support/nodes.js';
import { spawnServer, type ServerProcess } from '../test-support/process.js';
import { startReceiver, type Receiver } from '../test-support/receiver.js';
import { newWebhookSecret, signWebhook } from './webhook.js';

/** The shortest lease `--automation-lease-ms` takes: what the restarted server waits out. */
const LEASE_MS = 15_000;
const RUNS = 3;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Delivery {
  id: string;
  at: number;
  status: number | 'held';
  signed: boolean;
  body: any;
}

describe('an automation step in flight when the server is killed', () => {
  it('is sent again after the restart, once its lease ran out, under the same webhook-id', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rapport-automation-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = path.join(dir, 'rapport.db');
    const flags = ['--db', db, '--admin-token', NODES_ADMIN_TOKEN, '--rate-limit-ip', '0', '--rate-limit-site', '0', '--automation-lease-ms', String(LEASE_MS)];
    const secret = newWebhookSecret();

    // Until the kill, every delivery is held open, never answered; after it, each gets a 204.
    let answering = false;
    const deliveries: Delivery[] = [];
    let firstArrived: () => void = () => {};
    const first = new Promise<void>((resolve) => (firstArrived = resolve));
    const receiver: Receiver = await startReceiver((req: http.IncomingMessage, res: http.ServerResponse, n: number) => {
      const { headers, body } = receiver.received[n - 1];
      const id = String(headers['webhook-id']);
      const signed = headers['webhook-signature'] === signWebhook(secret, id, Number(headers['webhook-timestamp']), body);
      deliveries.push({ id, at: Date.now(), status: answering ? 204 : 'held', signed, body: JSON.parse(body) });
      if (answering) res.writeHead(204).end();
      firstArrived();
    });
    cleanups.push(() => receiver.close());

    let server: ServerProcess = await spawnServer(flags);
    cleanups.push(() => stopNode(server));
    const site = await createSite(server.url, { name: 'Crash' });
    const created = await api(server.url, 'POST', '/api/automations', {
      site: site.id,
      name: 'Crash test',
      status: 'active',
      trigger: { event: 'Crash Test' },
      steps: [{ wait: '2s' }, { webhook: { url: receiver.url, secret } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const automation = created.body.id as string;
    const batch = Array.from({ length: RUNS }, (_, i) => ({ type: 'track', event: 'Crash Test', anonymousId: `crash-${i}`, messageId: `crash-${i}` }));
    expect((await postBatch(server.url, writeKeyAuth(site.writeKey), batch)).status).toBe(200);
    const runs = await runsOf(server.url, automation);
    expect(runs).toHaveLength(RUNS);
    const expected = new Set(runs.map((r) => `${r.id}:1`));

    // The wait ends, its run is claimed and the webhook after it is out: kill the server now.
    await Promise.race([first, sleep(15_000).then(() => Promise.reject(new Error(`no delivery within 15 s:\n${server.output()}`)))]);
    server.child.kill('SIGKILL');
    await server.exited;
    const killedAt = Date.now();
    const held = deliveries.length;
    expect(held).toBeGreaterThanOrEqual(1);

    // What the killed server left in the file: the steps claimed (leased), none written back. A
    // wait's end and the webhook after it go under one claim, so the runs still stand at the wait.
    const rows = readRuns(db);
    expect(rows.every((r) => r.status === 'active' && r.position === '0')).toBe(true);
    const leased = rows.filter((r) => r.lease_until !== null);
    expect(leased.length).toBeGreaterThanOrEqual(held);
    expect(Math.min(...leased.map((r) => r.lease_until!))).toBeGreaterThan(killedAt);

    answering = true;
    server = await spawnServer(flags);
    await timeUntil(async () => (await runsOf(server.url, automation)).every((r) => r.status === 'done'), {
      timeoutMs: LEASE_MS + 20_000,
      everyMs: 200,
      what: 'every run done after the restart',
    });
    const after = await runsOf(server.url, automation);
    // A step sent again would show as a second delivery: wait a little for any straggler.
    await sleep(1_500);

    expect(after.map((r) => r.status)).toEqual(Array(RUNS).fill('done'));
    expect(deliveries.every((d) => d.signed)).toBe(true);
    // Every run's delivery id is its step's key, one per run; each run got a 2xx once.
    expect(new Set(deliveries.map((d) => d.id))).toEqual(expected);
    const answered = deliveries.filter((d) => d.status === 204);
    expect(answered.map((d) => d.id).sort()).toEqual([...expected].sort());
    // The deliveries held before the kill came again with the same id, and only once the lease
    // taken before the kill had run out (the claim came shortly before the first delivery).
    const heldIds = deliveries.filter((d) => d.status === 'held');
    expect(heldIds).toHaveLength(held);
    for (const h of heldIds) {
      const again = answered.find((d) => d.id === h.id)!;
      expect(again, `${h.id} was sent again`).toBeDefined();
      expect(again.body.data.run).toEqual(h.body.data.run);
      expect(again.at - h.at).toBeGreaterThanOrEqual(LEASE_MS - 1_000);
    }
    expect(deliveries).toHaveLength(held + RUNS);
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health.automations).toMatchObject({ claimed: RUNS, failed: 0 });
  }, 90_000);
});

interface RunRow {
  id: string;
  status: string;
  position: string;
  lease_until: number | null;
}

/** The runs in the file, read while no server has it open. */
function readRuns(db: string): RunRow[] {
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return sqlite.prepare("SELECT id, status, position, lease_until FROM automation_runs WHERE position <> 'watch'").all() as RunRow[];
  } finally {
    sqlite.close();
  }
}

async function runsOf(url: string, automation: string): Promise<Array<{ id: string; status: string }>> {
  const res = await api(url, 'GET', `/api/automations/${automation}/runs?limit=100`);
  if (res.status !== 200) throw new Error(`GET runs answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.runs;
}
