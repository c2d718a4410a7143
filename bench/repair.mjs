#!/usr/bin/env node
// Benchmark 9, identity repair (issue 18: "the cost of a split of a profile with 10,000
// events"). On the built server, per store and per run, on a fresh site: an anonymous visitor
// with `--events` events (page views, product views and some orders, batches of 500 sent with
// the site secret) and a customer with 20 of their own; then
//   - merge at ingest: one `identify` joining the visitor's anonymous id to the customer;
//   - split: `POST /api/profiles/:customer/split { from: visitor }`, which moves the visitor's
//     identities and events back and recounts both profiles from their events;
//   - operator merge: `POST /api/profiles/:customer/merge { from: visitor }`, the two joined again.
// Each is one request, timed from the client (ms); the events moved are checked in the answers.
//
//   node bench/repair.mjs [--events 10000] [--runs 3] [--stores sqlite,postgres] [--quick]

import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR } from './lib/dataset.mjs';
import { admin, ensureBuilt, startRapport } from './lib/server.mjs';
import { fmt, isMain, log, parseArgs, percentile, report } from './lib/stats.mjs';

const CLUSTER_DIR = path.join(DATA_DIR, 'postgres-15');
const BATCH = 500;

const at = (ms) => new Date(ms).toISOString();

async function send(url, secret, batch) {
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  if (res.status !== 200) throw new Error(`batch: ${res.status} ${await res.text()}`);
}

/** The visitor's history: mostly page and product views over 60 days, an order every 200 events. */
function history(anonymousId, events, start) {
  const step = Math.floor((60 * 86_400_000) / events);
  return Array.from({ length: events }, (_, i) => {
    const timestamp = at(start + i * step);
    const messageId = `${anonymousId}-${i}`;
    if (i % 200 === 199) return { type: 'track', messageId, anonymousId, event: 'Order Completed', properties: { revenue: 40 + (i % 7) }, timestamp };
    if (i % 3 === 0) return { type: 'track', messageId, anonymousId, event: 'Product Viewed', properties: { product_id: `p${i % 50}` }, timestamp };
    return { type: 'page', messageId, anonymousId, name: 'Shop', properties: { path: `/p/${i % 50}` }, timestamp };
  });
}

async function timed(work) {
  const t = performance.now();
  const value = await work();
  return { ms: performance.now() - t, value };
}

async function runStore(store, { events, runs, cluster }) {
  let db;
  let drop = () => {};
  if (store === 'sqlite') {
    fs.mkdirSync(DATA_DIR, { recursive: true });
    const dir = fs.mkdtempSync(path.join(DATA_DIR, 'repair-'));
    db = path.join(dir, 'rapport.db');
    drop = () => fs.rmSync(dir, { recursive: true, force: true });
  } else {
    db = await cluster.createDatabase('bench_repair');
    drop = () => cluster.dropDatabase('bench_repair');
  }
  const server = await startRapport(db);
  const out = { ingestMerge: [], split: [], operatorMerge: [], eventsMoved: [] };
  try {
    for (let r = 0; r < runs; r++) {
      const site = await admin(server.url, 'POST', '/api/sites', { name: `Repair bench ${r}`, origins: [], requireUserHash: false });
      const anonymousId = `visitor-${r}`;
      const userId = `customer-${r}`;
      const start = Date.now() - 61 * 86_400_000;
      const visitor = history(anonymousId, events, start);
      for (let i = 0; i < visitor.length; i += BATCH) await send(server.url, site.secret, visitor.slice(i, i + BATCH));
      await send(
        server.url,
        site.secret,
        Array.from({ length: 20 }, (_, i) => ({ type: 'track', messageId: `${userId}-${i}`, userId, event: 'Product Viewed', timestamp: at(start + i * 3_600_000) })),
      );
      const find = async (query) => (await admin(server.url, 'GET', `/api/profiles?site=${site.id}&${query}`)).profiles[0].id;
      const visitorId = await find(`anonymousId=${anonymousId}`);
      const customerId = await find(`userId=${userId}`);
      const merge = await timed(() => send(server.url, site.secret, [{ type: 'identify', messageId: `login-${r}`, anonymousId, userId, timestamp: at(Date.now()) }]));
      const split = await timed(() => admin(server.url, 'POST', `/api/profiles/${customerId}/split`, { from: visitorId, by: 'bench' }));
      if (split.value.restored.events !== events) throw new Error(`split moved ${split.value.restored.events} events, not ${events}`);
      const again = await timed(() => admin(server.url, 'POST', `/api/profiles/${customerId}/merge`, { from: visitorId, by: 'bench' }));
      if (!again.value.merged) throw new Error('the operator merge did not merge');
      out.ingestMerge.push(merge.ms);
      out.split.push(split.ms);
      out.operatorMerge.push(again.ms);
      out.eventsMoved.push(split.value.restored.events);
      log(`repair ${store} run ${r + 1}: merge at ingest ${fmt(merge.ms)} ms, split ${fmt(split.ms)} ms, operator merge ${fmt(again.ms)} ms`);
    }
  } finally {
    await server.stop();
    await drop();
  }
  const median = (values) => percentile(values, 50);
  return { ...out, median: { ingestMerge: median(out.ingestMerge), split: median(out.split), operatorMerge: median(out.operatorMerge) } };
}

export async function runRepair({ events = 10_000, runs = 3, stores = ['sqlite', 'postgres'], quick = false } = {}) {
  ensureBuilt({ log });
  const started = Date.now();
  const result = { settings: { events, runs, stores, quick }, stores: {} };
  let cluster = null;
  try {
    for (const store of stores) {
      if (store === 'postgres' && !cluster) {
        const { startPostgres } = await import('./lib/postgres.mjs');
        cluster = await startPostgres({ dir: CLUSTER_DIR, log });
      }
      result.stores[store] = await runStore(store, { events, runs, cluster });
    }
  } finally {
    await cluster?.stop();
  }
  result.seconds = (Date.now() - started) / 1000;
  result.finishedAt = new Date().toISOString();
  return result;
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const result = await runRepair({
    events: Number(args.events ?? (quick ? 2_000 : 10_000)),
    runs: Number(args.runs ?? (quick ? 1 : 3)),
    stores: String(args.stores ?? 'sqlite,postgres').split(','),
    quick,
  });
  report(
    'repair',
    result,
    Object.entries(result.stores).map(
      ([store, r]) => `${store}: split of ${fmt(result.settings.events)} events ${fmt(r.median.split)} ms (median), merge at ingest ${fmt(r.median.ingestMerge)} ms, operator merge ${fmt(r.median.operatorMerge)} ms`,
    ),
  );
}
