#!/usr/bin/env node
// Ceilings (b) and (c) of the ingest benchmark: the storage part alone. Raw better-sqlite3
// inserts of the same rows Rapport writes for the same batches (its `events` table, the same
// columns, a `data` JSON of the message and its enrichment), with the same pragmas and schema:
// the database is opened with Rapport's own `SqliteStore.open` (WAL, the migrations, the pragmas
// of store/sqlite/open.ts) in its default durability. No HTTP, no identity resolution, no profile
// updates. Runs in its own process, on one thread, as fast as it can for `--seconds`.
//   --mode batch (b): one transaction of 20 per batch, each durable before the next starts, as
//     every 200 of the server is: when the pragmas leave syncing to the store (synchronous=NORMAL,
//     Rapport fsyncing the WAL itself) the ceiling fsyncs the WAL after each commit; with
//     synchronous=FULL SQLite does.
//   --mode group (c): `--clients` batches in flight at once (the load's connections), written
//     through Rapport's own GroupCommit and WalSync (the built store/sqlite/group-commit.js and
//     open.js): each batch a savepoint, each group one transaction and one fsync, which the next
//     group's inserts overlap. The honest limit for durable inserts of this load.
//
//   node bench/ceiling-sqlite.mjs --seconds 10 [--mode batch|group] [--clients 50] [--db FILE] [--json]
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR, removeDb } from './lib/dataset.mjs';
import { batchFactory } from './lib/payloads.mjs';
import { DEVICES } from './lib/world.mjs';
import { isMain, parseArgs, percentile } from './lib/stats.mjs';
import { ROOT, rapportServer } from './lib/server.mjs';

const { SqliteStore } = await rapportServer();
const built = (file) => import(path.join(ROOT, 'packages/server/dist/store/sqlite', file));
const { GroupCommit } = await built('group-commit.js');
const { WalSync } = await built('open.js');

export async function runSqliteCeiling({ seconds = 10, db = path.join(DATA_DIR, 'ceiling-sqlite.db'), mode = 'batch', clients = 50 } = {}) {
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
  // message ids, spliced into the prepared `data` text (at a marker that JSON leaves as it is), so
  // the unique index sees new keys.
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
      const marker = '@@message-id@@';
      const data = JSON.stringify({ message: { ...m, messageId: marker }, enrichment });
      const [before, after] = data.split(marker);
      return { m, profileId, before, after, ts: Date.parse(m.timestamp) };
    });
  });

  const args = new Array(fill.length);
  const insertRows = (rows, now) => {
    for (const r of rows) {
      const id = randomUUID();
      for (let i = 0; i < fill.length; i++) args[i] = fill[i](r, id, now);
      insert.run(args);
    }
  };
  const write = sql.transaction(insertRows);

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
  let groups = 0;
  if (mode === 'group') {
    const wal = new WalSync(synchronous >= 2 ? null : `${db}-wal`);
    const commits = new GroupCommit(sql, () => (groups++, wal.sync()));
    const client = async () => {
      for (let now = performance.now(); now < until && batches < 10_000_000; now = performance.now()) {
        const rows = pool[batches++ % pool.length];
        await commits.submit(() => insertRows(rows, Date.now()));
        latencies.push(performance.now() - now);
      }
    };
    await Promise.all(Array.from({ length: clients }, client));
    await commits.drain();
    wal.close();
  } else {
    for (let now = started; now < until && batches < 10_000_000; now = performance.now()) {
      const rows = pool[batches % pool.length];
      write(rows, Date.now());
      durable();
      latencies.push(performance.now() - now);
      batches++;
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  const stored = sql.prepare('SELECT COUNT(*) FROM events').pluck().get();
  if (walFd !== null) fs.closeSync(walFd);
  store.close();
  removeDb(db);
  if (stored !== batches * 20) throw new Error(`ceiling-sqlite: ${stored} rows stored for ${batches} batches of 20`);
  return {
    mode,
    seconds: elapsed,
    batches,
    batchesPerGroup: mode === 'group' ? batches / groups : 1,
    eventsPerSec: (batches * 20) / elapsed,
    stored,
    synchronous: synchronous >= 2 ? 'FULL' : `NORMAL + ${mode === 'group' ? 'fsync' : 'fdatasync'} of the WAL after each commit`,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const mode = args.mode ?? 'batch';
  if (mode !== 'batch' && mode !== 'group') throw new Error('ceiling-sqlite: --mode must be batch or group');
  const result = await runSqliteCeiling({ seconds: Number(args.seconds ?? 10), db: args.db, mode, clients: Number(args.clients ?? 50) });
  if (args.json) console.log(JSON.stringify(result));
  else console.log(`raw better-sqlite3 (${mode}): ${Math.round(result.eventsPerSec)} events/s, ${result.batchesPerGroup.toFixed(1)} batches per commit, batch p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms`);
}
