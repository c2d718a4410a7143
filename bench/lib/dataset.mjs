// Datasets of 10k, 100k and 1M visitors with their histories, in Rapport's real schema.
//
// How they are made (fast, in batches, through the real write path):
// - Each visitor's history comes from history.mjs (about 4.3 events per visitor on average).
// - Two worker threads feed chunks of 2,000 visitors through `SqliteStore.ingest` (identity
//   resolution, computed attributes, event rows: exactly what a collect call stores, minus HTTP,
//   validation and fsync) into in-memory databases.
// - The main thread appends each chunk's rows to the growing file with INSERT ... SELECT while
//   the secondary indexes are dropped, then recreates them (the product's own CREATE INDEX
//   statements, read back from sqlite_schema) at each tier. The file is then put back in WAL mode,
//   checkpointed and copied aside, so 100k extends 10k and 1M extends 100k: one pass in all.
// Bulk-built indexes are packed tighter than indexes grown by random inserts in production, so
// these files are somewhat smaller than a live database with the same rows.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GENERATOR_VERSION } from './history.mjs';
import { ROOT, rapportServer } from './server.mjs';
import { SHOP } from './world.mjs';

const { SiteDirectory, SqliteStore } = await rapportServer();

export const DATA_DIR = path.resolve(import.meta.dirname, '..', '.data');
export const SITE = { name: 'Bench shop', origins: [SHOP] };
const CHUNK = 2000;
const WORKERS = Number(process.env.GEN_WORKERS ?? Math.max(1, Math.min(2, os.availableParallelism())));
const TMP = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const TABLES = ['profiles', 'identities', 'events', 'merges'];
const STAGED = { profiles: 'site_id, id', identities: 'site_id, kind, value' };
/** The rollup tables (reports/rollups.ts): their key and the counts that add up. */
const ROLLUPS = [
  ['rollup_days', 'site_id, day, shard', ['events', 'visitors', 'new_visitors', 'sessions', 'orders', 'revenue', 'customers']],
  ['rollup_touches', 'site_id, day, touch, medium, source, campaign, term, shard', ['visitors', 'sessions', 'customers', 'orders', 'revenue']],
];

/**
 * Datasets are cached by a fingerprint of the generator and of the built server (its schema and
 * the way it computes profiles): any change to either makes new ones.
 */
function fingerprint() {
  const hash = createHash('sha1').update(`generator ${GENERATOR_VERSION}\n`);
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) hash.update(fs.readFileSync(p));
    }
  };
  for (const pkg of ['server', 'referrer', 'protocol']) walk(path.join(ROOT, 'packages', pkg, 'dist'));
  for (const f of ['history.mjs', 'world.mjs', 'dataset.mjs', 'generate-worker.mjs']) hash.update(fs.readFileSync(path.join(import.meta.dirname, f)));
  return hash.digest('hex').slice(0, 10);
}
let fp;
const tierFile = (visitors) => path.join(DATA_DIR, `dataset-${(fp ??= fingerprint())}-${visitors}.db`);
const metaFile = (visitors) => `${tierFile(visitors)}.json`;

/** Removes every cached dataset and working copy (run.mjs does this first unless told to reuse). */
export function clearDatasets() {
  if (!fs.existsSync(DATA_DIR)) return;
  for (const f of fs.readdirSync(DATA_DIR)) {
    if (f.startsWith('dataset-') || f.startsWith('work-') || f.startsWith('generating-')) fs.rmSync(path.join(DATA_DIR, f), { force: true });
  }
}

/**
 * Makes sure a dataset exists for each tier (number of visitors); returns
 * `{ [tier]: { file, visitors, profiles, events, bytes, seconds, siteId, writeKey, now, cached } }`.
 * Tiers on disk are reused; missing ones are generated in one growing pass.
 */
export async function ensureDatasets(tiers, { log = () => {} } = {}) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const sorted = [...new Set(tiers)].sort((a, b) => a - b);
  const out = {};
  for (const t of sorted) {
    if (fs.existsSync(tierFile(t)) && fs.existsSync(metaFile(t))) out[t] = { ...JSON.parse(fs.readFileSync(metaFile(t), 'utf8')), file: tierFile(t), cached: true };
  }
  const missing = sorted.filter((t) => !out[t]);
  if (missing.length === 0) return out;

  const work = path.join(DATA_DIR, `generating-${process.pid}.db`);
  removeDb(work);
  // Continue from the largest cached tier below the first missing one, if any.
  const base = sorted.filter((t) => t < missing[0] && out[t]).pop();
  if (base) fs.copyFileSync(tierFile(base), work);
  const now = base ? out[base].now : Date.now();
  let events = base ? out[base].events : 0;
  let profiles = base ? out[base].profiles : 0;
  let from = base ?? 0;
  let seconds = base ? out[base].seconds : 0;

  const store = SqliteStore.open(work);
  const db = store.db;
  const sites = await SiteDirectory.load(store);
  const site = sites.list().find((s) => s.name === SITE.name) ?? (await sites.create({ name: SITE.name, origins: SITE.origins }));
  const indexes = db
    .prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${TABLES.map((t) => `'${t}'`).join(', ')})`)
    .all();
  const columns = Object.fromEntries(TABLES.map((t) => [t, db.prepare(`SELECT name FROM pragma_table_info('${t}') WHERE name != 'seq'`).pluck().all().join(', ')]));
  const bulkMode = () => {
    db.pragma('journal_mode = DELETE');
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1000000');
    // Index builds read the whole tables and sort: map the file, sort on two threads.
    db.pragma('mmap_size = 30000000000');
    db.pragma('threads = 2');
    for (const i of indexes) db.exec(`DROP INDEX IF EXISTS ${i.name}`);
    for (const t of Object.keys(STAGED)) db.exec(`CREATE TEMP TABLE IF NOT EXISTS stage_${t} AS SELECT * FROM main.${t} WHERE 0`);
  };
  const unstage = () => {
    for (const [t, key] of Object.entries(STAGED)) {
      db.exec(`INSERT INTO main.${t} SELECT * FROM stage_${t} ORDER BY ${key}`);
      db.exec(`DROP TABLE stage_${t}`);
    }
  };
  const append = (file) => {
    db.prepare('ATTACH ? AS chunk').run(file);
    try {
      db.transaction(() => {
        for (const t of TABLES) {
          // Rowid tables append in order; the clustered (WITHOUT ROWID) ones are staged and
          // inserted in key order at the end of the tier, which visits each leaf page once.
          if (STAGED[t]) db.exec(`INSERT INTO stage_${t} SELECT * FROM chunk.${t}`);
          else db.exec(`INSERT INTO main.${t} (${columns[t]}) SELECT ${columns[t]} FROM chunk.${t} ORDER BY seq`);
        }
        // Each chunk's rollups count its own visitors, none of whom is in another chunk: they add up.
        for (const [t, key, counts] of ROLLUPS) {
          db.exec(`INSERT INTO main.${t} SELECT * FROM chunk.${t} WHERE true
            ON CONFLICT (${key}) DO UPDATE SET ${counts.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`);
        }
      })();
    } finally {
      db.exec('DETACH chunk');
      fs.rmSync(file, { force: true });
    }
  };

  const siteRow = { id: site.id, name: site.name, origins: site.origins, writeKey: site.writeKey, secret: site.secret, settings: site.settings };
  const workers = Array.from({ length: WORKERS }, () => new Worker(new URL('./generate-worker.mjs', import.meta.url), { workerData: { site: siteRow, now } }));
  try {
    bulkMode();
    const started = process.hrtime.bigint();
    const elapsed = () => seconds + Number(process.hrtime.bigint() - started) / 1e9;
    let lastLog = Date.now();
    let chunkNo = 0;
    for (const tier of missing) {
      const chunks = [];
      for (let i = from; i < tier; i += CHUNK) chunks.push({ from: i, to: Math.min(tier, i + CHUNK), file: path.join(TMP, `rapport-bench-${process.pid}-${chunkNo++}.db`) });
      // A pool: each worker takes the next chunk when it hands one back.
      await new Promise((resolve, reject) => {
        let next = 0;
        let done = 0;
        const feed = (w) => {
          if (next < chunks.length) w.postMessage(chunks[next++]);
        };
        for (const w of workers) {
          w.removeAllListeners('message');
          w.removeAllListeners('error');
          w.on('error', reject);
          w.on('message', (m) => {
            if (m.error) return reject(new Error(m.error));
            feed(w);
            try {
              append(m.file);
            } catch (error) {
              return reject(error);
            }
            events += m.events;
            profiles += m.profiles;
            if (Date.now() - lastLog > 10_000) {
              lastLog = Date.now();
              log(`  … ${events.toLocaleString('en')} events so far (${Math.round(elapsed())} s)`);
            }
            if (++done === chunks.length) resolve();
          });
          feed(w);
        }
        if (chunks.length === 0) resolve();
      });
      from = tier;
      const t0 = performance.now();
      db.transaction(unstage)();
      const t1 = performance.now();
      for (const i of indexes) db.exec(i.sql);
      log(`  tier ${tier.toLocaleString('en')}: profiles and identities sorted in ${((t1 - t0) / 1000).toFixed(1)} s, indexes rebuilt in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
      // Back to the product's WAL mode. Nothing was written since, so the main file is whole.
      db.pragma('journal_mode = WAL');
      const bytes = fs.statSync(work).size;
      const last = tier === missing[missing.length - 1];
      // The last tier takes the file itself; the others a copy, and the pass goes on.
      if (last) {
        await store.close();
        removeDb(tierFile(tier));
        fs.renameSync(work, tierFile(tier));
        for (const f of [`${work}-wal`, `${work}-shm`]) fs.rmSync(f, { force: true });
      } else fs.copyFileSync(work, tierFile(tier));
      const meta = { visitors: tier, profiles, events, bytes, seconds: +elapsed().toFixed(1), siteId: site.id, writeKey: site.writeKey, now, generator: GENERATOR_VERSION };
      fs.writeFileSync(metaFile(tier), JSON.stringify(meta));
      out[tier] = { ...meta, file: tierFile(tier), cached: false };
      log(`  tier ${tier.toLocaleString('en')}: ${profiles.toLocaleString('en')} profiles, ${events.toLocaleString('en')} events, ${(bytes / 1e6).toFixed(0)} MB, ${meta.seconds} s`);
      if (!last) bulkMode();
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await store.close();
    removeDb(work);
  }
  return out;
}

/** A private copy of a dataset for a benchmark that writes to it (the cached tier stays as made). */
export function workingCopy(file, name) {
  const dest = path.join(DATA_DIR, `work-${name}.db`);
  removeDb(dest);
  fs.copyFileSync(file, dest);
  return dest;
}

export function removeDb(file) {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
}
