#!/usr/bin/env node
// Ceiling (b) of the ingest benchmark: the storage part alone. Raw better-sqlite3 inserts of the
// same rows Rapport writes for the same batches (its `events` table, the same columns, a `data`
// JSON of the message and its enrichment) in transactions of 20, one transaction per batch, with
// the same pragmas and schema: the database is opened with Rapport's own `SqliteStore.open`
// (WAL, the migrations, the pragmas of store/sqlite/open.ts) in its default durability, and each
// transaction is durable before the next starts, as a 200 of the server is: when the pragmas
// leave syncing to the store (synchronous=NORMAL, with Rapport fsyncing the WAL itself after each
// group commit) the ceiling fsyncs the WAL after each commit; with synchronous=FULL SQLite does.
// No HTTP, no identity resolution, no profile updates. Runs in its own process, single-threaded,
// as fast as it can for `--seconds`.
//
//   node bench/ceiling-sqlite.mjs --seconds 10 [--db FILE] [--json]
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR, removeDb } from './lib/dataset.mjs';
import { batchFactory } from './lib/payloads.mjs';
import { DEVICES } from './lib/world.mjs';
import { isMain, parseArgs, percentile } from './lib/stats.mjs';
import { rapportServer } from './lib/server.mjs';

const { SqliteStore } = await rapportServer();

export function runSqliteCeiling({ seconds = 10, db = path.join(DATA_DIR, 'ceiling-sqlite.db') } = {}) {
  removeDb(db);
  const store = SqliteStore.open(db, { synchronous: 'full' });
  const sql = store.db;
  // The columns of Rapport's events table as the migrations made them today, each filled the
  // way the server fills it (sqlite-store.ts, insertEvent).
  const valueOf = {
    site_id: () => 'site_bench',
    sender: (r) => r.m.anonymousId ?? r.m.userId,
    message_id: (r, id) => id,
    profile_id: (r) => r.profileId,
    type: (r) => r.m.type,
    name: (r) => r.m.event ?? r.m.name ?? null,
    anonymous_id: (r) => r.m.anonymousId,
    user_id: (r) => r.m.userId ?? null,
    session_id: () => 'sess_0123456789ab',
    timestamp: (r) => r.ts,
    received_at: (r, id, now) => now,
    data: (r, id) => r.before + id + r.after,
  };
  const columns = sql.prepare("SELECT name, \"notnull\" AS required, dflt_value AS fallback FROM pragma_table_info('events') WHERE pk = 0").all();
  const unknown = columns.filter((c) => !(c.name in valueOf) && c.required && c.fallback === null);
  if (unknown.length) throw new Error(`ceiling-sqlite: the events table has new required columns (${unknown.map((c) => c.name).join(', ')}); teach valueOf how the server fills them`);
  const used = columns.filter((c) => c.name in valueOf);
  const fill = used.map((c) => valueOf[c.name]);
  const insert = sql.prepare(`INSERT INTO events (${used.map((c) => c.name).join(', ')}) VALUES (${used.map(() => '?').join(', ')})`);

  // A pool of real batches (the load generator's), turned into rows once. Each use gets fresh
  // message ids, spliced into the prepared `data` text, so the unique index sees new keys.
  const next = batchFactory({ visitors: 0 });
  const pool = Array.from({ length: 200 }, () => {
    const batch = JSON.parse(next()).batch;
    const profileId = randomUUID().slice(0, 16);
    return batch.map((m) => {
      const page = m.context.page;
      const enrichment = {
        ip: '127.0.0.0',
        device: DEVICES[0],
        referral: { medium: 'internal', source: 'shop.example', term: null, campaign: null, referrer: page.referrer, landingPage: page.url },
        campaign: null,
        page: { url: page.url, path: page.path, title: page.title },
        firstTouch: null,
      };
      const data = JSON.stringify({ message: { ...m, messageId: '\u0000' }, enrichment });
      const [before, after] = data.split('\u0000');
      return { m, profileId, before, after, ts: Date.parse(m.timestamp) };
    });
  });

  const args = new Array(fill.length);
  const write = sql.transaction((rows, now) => {
    for (const r of rows) {
      const id = randomUUID();
      for (let i = 0; i < fill.length; i++) args[i] = fill[i](r, id, now);
      insert.run(args);
    }
  });

  // 2 = FULL (SQLite syncs the WAL in each commit), 1 = NORMAL (it does not: sync it here).
  const synchronous = sql.pragma('synchronous', { simple: true });
  let walFd = null;
  const durable = () => {
    if (synchronous >= 2) return;
    walFd ??= fs.openSync(`${db}-wal`, 'r+');
    fs.fdatasyncSync(walFd);
  };

  const latencies = [];
  let batches = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  for (let now = started; now < until && batches < 10_000_000; now = performance.now()) {
    const rows = pool[batches % pool.length];
    write(rows, Date.now());
    durable();
    latencies.push(performance.now() - now);
    batches++;
  }
  const elapsed = (performance.now() - started) / 1000;
  const stored = sql.prepare('SELECT COUNT(*) FROM events').pluck().get();
  if (walFd !== null) fs.closeSync(walFd);
  store.close();
  removeDb(db);
  return {
    seconds: elapsed,
    batches,
    eventsPerSec: (batches * 20) / elapsed,
    stored,
    synchronous: synchronous >= 2 ? 'FULL' : 'NORMAL + fdatasync of the WAL after each commit',
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const result = runSqliteCeiling({ seconds: Number(args.seconds ?? 10), db: args.db });
  if (args.json) console.log(JSON.stringify(result));
  else console.log(`raw better-sqlite3: ${Math.round(result.eventsPerSec)} events/s, transaction of 20 p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms`);
}
