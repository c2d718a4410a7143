// Two nodes on one PostgreSQL database, each with its scheduler running, and a few hundred runs
// falling due at once: every step is claimed by one node (FOR UPDATE SKIP LOCKED and a lease),
// so every delivery arrives once, though both nodes take their share. Each node is a real
// `rapport serve` process (test-support/nodes.ts): nothing is shared between them but the database.
import { afterEach, expect, it } from 'vitest';
import { api, createSite, postBatch, sleep, startNodes, timeUntil, writeKeyAuth } from '../test-support/nodes.js';
import { createTestDatabase, describePostgres, testPostgresUrl } from '../test-support/postgres.js';
import { startReceiver } from '../test-support/receiver.js';
import { newWebhookSecret, signWebhook } from './webhook.js';

const RUNS = 300;
const PER_BATCH = 50;
/** Longer than ingesting the runs takes, so that they all wait together. */
const WAIT_S = 3;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface RunJson {
  id: string;
  status: string;
}

/** Every run of an automation, page by page. */
async function allRuns(url: string, automation: string): Promise<RunJson[]> {
  const runs: RunJson[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const res = await api(url, 'GET', `/api/automations/${automation}/runs?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.status !== 200) throw new Error(`GET runs answered ${res.status}: ${JSON.stringify(res.body)}`);
    runs.push(...res.body.runs);
    cursor = res.body.nextCursor;
    if (!cursor) break;
  }
  return runs;
}

describePostgres('automation steps on two nodes sharing one PostgreSQL database', () => {
  it('sends each of a few hundred steps that fall due at once exactly once, both schedulers claiming', async () => {
    const db = await createTestDatabase(testPostgresUrl());
    const { nodes, stop } = await startNodes(db, 2);
    cleanups.push(stop);
    const secret = newWebhookSecret();
    // A little time per delivery (0-20 ms), as a real receiver takes: the nodes' batches overlap.
    const receiver = await startReceiver((_req, res) => setTimeout(() => res.writeHead(204).end(), Math.random() * 20));
    cleanups.push(() => receiver.close());

    const site = await createSite(nodes[0].url, { name: 'Two schedulers' });
    const created = await api(nodes[0].url, 'POST', '/api/automations', {
      site: site.id,
      name: 'Due at once',
      status: 'active',
      trigger: { event: 'Due Together' },
      steps: [{ wait: `${WAIT_S}s` }, { webhook: { url: receiver.url, secret } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const automation = created.body.id as string;
    // The other node reads active automations through a cache of at most a second.
    await sleep(1_200);

    // Every batch at the same moment, half through each node (each wakes its scheduler for the
    // runs it started): all the runs wait together and fall due within the time ingest took.
    const auth = writeKeyAuth(site.writeKey);
    const batches = Array.from({ length: RUNS / PER_BATCH }, (_, b) =>
      Array.from({ length: PER_BATCH }, (_, i) => ({ type: 'track', event: 'Due Together', anonymousId: `due-${b}-${i}`, messageId: `due-${b}-${i}` })),
    );
    const ingestStarted = Date.now();
    const answers = await Promise.all(batches.map((batch, b) => postBatch(nodes[b % 2].url, auth, batch)));
    expect(answers.map((a) => a.status)).toEqual(batches.map(() => 200));
    const runs = await allRuns(nodes[1].url, automation);
    expect(runs).toHaveLength(RUNS);
    expect(runs.every((r) => r.status === 'active')).toBe(true);
    // Still all waiting when ingest was over: they fall due together.
    expect(Date.now() - ingestStarted).toBeLessThan(WAIT_S * 1000);

    await timeUntil(async () => (await allRuns(nodes[0].url, automation)).every((r) => r.status === 'done'), {
      timeoutMs: 30_000,
      everyMs: 250,
      what: `all ${RUNS} runs done`,
    });
    // A step sent twice would arrive later than the others: give a straggler the time to.
    await sleep(1_500);

    const counts = new Map<string, number>();
    for (const { headers, body } of receiver.received) {
      const id = String(headers['webhook-id']);
      expect(headers['webhook-signature']).toBe(signWebhook(secret, id, Number(headers['webhook-timestamp']), body));
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const expected = runs.map((r) => `${r.id}:1`).sort();
    expect([...counts.keys()].sort()).toEqual(expected);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect(receiver.received).toHaveLength(RUNS);

    // Each run was claimed once, by one node or the other (its wait's end and the webhook after
    // it go under one claim: runner.ts), and both nodes claimed some. A run claimed by both
    // would count twice here even when only one of them got to send.
    const stats = await Promise.all(nodes.map(async (node) => (await (await fetch(`${node.url}/healthz`)).json()).automations));
    console.log(`[automation nodes] claimed per node: ${stats.map((s) => s.claimed).join(' / ')}; max lateness ${stats.map((s) => s.maxLatenessMs).join(' / ')} ms`);
    expect(stats.every((s) => s.claimed > 0)).toBe(true);
    expect(stats.reduce((sum, s) => sum + s.claimed, 0)).toBe(RUNS);
    expect(stats.map((s) => s.failed)).toEqual([0, 0]);
  }, 90_000);
});
