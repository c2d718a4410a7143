#!/usr/bin/env node
// Benchmark 7, PostgreSQL beside SQLite: the same built server on its two stores, measured in the
// same run, interleaved run by run (A, B, C, A, B, C, ...), so that every figure can be read as a
// ratio against the one beside it on this shared 2-core machine.
//
// The PostgreSQL 15 cluster (lib/postgres.mjs) is durable as in production: fsync,
// synchronous_commit and full_page_writes on; shared_buffers 1 GB, max_connections 200,
// max_wal_size 4 GB; 127.0.0.1 and a free port; its data folder is bench/.data/postgres-15/
// (kept between runs: the copied datasets live there), the server is stopped at the end.
//
// 1. Ingest: the load of ingest.mjs (POST /v1/batch, batches of 20 from a pool of 5,000 visitors,
//    50 connections), each run on a fresh database, on
//      - SQLite, 1 node (default durability: synchronous=FULL);
//      - PostgreSQL, 1 node;
//      - PostgreSQL, 2 nodes behind nginx (docs/nginx/rapport.conf, lib/nginx.mjs).
//    events/s, p50/p99, events/s per node, and the CPU of every process involved (the node
//    processes; the postgres server: postmaster, backends, helpers, /proc/<pid>/stat summed over
//    the tree; nginx; the load generator; the whole machine), hence events per CPU-second.
//    Then one more PostgreSQL 1-node run under --cpu-prof (not counted).
// 2. Decide at a fixed 1,000 requests/s (lib/paced.mjs, the request mix and the 50 segments / 20
//    offers of decide.mjs) on the SQLite tiers of lib/dataset.mjs and on their copies in
//    PostgreSQL (`rapport copy --from <file> --to <url>`, timed: rows/s), 100k and 1M profiles,
//    and with 2 PostgreSQL nodes behind nginx at both. Then funnels and retention at 1M on both
//    stores (lib/reports.mjs), and the decide target's own runs: the PostgreSQL 1M node alone,
//    every other server stopped, after a CHECKPOINT.
// 3. Ingest at 100k and 1M profiles: the configurations of 1 again, each on a clone of the tier
//    (removed afterwards), for the tier's site, 80% of the batches from its people.
//
//   node bench/postgres.mjs [--runs 3] [--seconds 10] [--connections 50] [--decide-runs 3]
//     [--decide-seconds 10] [--rate 1000] [--tiers 100000,1000000] [--two-node-tiers 100000,1000000]
//     [--pool-size <n>] [--copy-limit-minutes 25] [--no-ingest] [--no-decide] [--no-scale-ingest] [--quick]
//
// --quick: tiers of 2,000 and 10,000 visitors, one short run of each: about a minute.
// --pool-size: each node's --pool-size (default: the product's default, 10).
// --copy-limit-minutes: a tier whose copy is estimated (from the smaller tier's rows/s) to take
//   longer is not copied, and its PostgreSQL runs are reported as skipped.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { newestProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { DATA_DIR, ensureDatasets, removeDb } from './lib/dataset.mjs';
import { checkClean, load, warmUp } from './lib/load.mjs';
import { startNginx } from './lib/nginx.mjs';
import { paced } from './lib/paced.mjs';
import { funnelTarget, timeReports } from './lib/reports.mjs';
import { basicAuth, batchFactory, decideFactory, EVENTS_PER_BATCH } from './lib/payloads.mjs';
import { machineCpuSeconds, startPostgres } from './lib/postgres.mjs';
import { ROOT, admin, cpuSecondsOf, ensureBuilt, startRapport } from './lib/server.mjs';
import { fmt, isMain, log, mmm, parseArgs, report, sleep, summarize, summary } from './lib/stats.mjs';
import { SHOP } from './lib/world.mjs';
import { DECIDE_TARGET_P99_MS, prepareDecide } from './decide.mjs';
import { VISITOR_POOL } from './ingest.mjs';

export const PG_INGEST_TARGET_RATIO = 0.7;
const RAPPORT_BIN = path.join(ROOT, 'packages/server/bin/rapport.js');
const CLUSTER_DIR = path.join(DATA_DIR, 'postgres-15');
const INGEST_DB = 'bench_ingest';

/** What the nginx of this run was (its config's source and what was changed in it), for the results. */
let nginxInfo = null;
async function nginxFor(nodes) {
  const nginx = await startNginx(nodes.map((n) => n.url));
  nginxInfo ??= { source: nginx.source, changes: nginx.changes, config: nginx.config };
  return nginx;
}

// CPU accounting

/**
 * A CPU meter over the processes of one configuration: `start()` then `stop(seconds)` gives the
 * cores each used on average (CPU seconds / wall seconds) over the measured window.
 */
function cpuMeter({ nodes = [], postgres = null, nginx = null }) {
  const read = () => ({
    node: nodes.reduce((a, n) => a + cpuSecondsOf(n.pid), 0),
    postgres: postgres ? postgres.cpuSeconds() : 0,
    nginx: nginx ? nginx.cpuSeconds() : 0,
    loadGenerator: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    machine: machineCpuSeconds(),
    at: performance.now(),
  });
  let first;
  return {
    start() {
      first = read();
    },
    stop() {
      const last = read();
      const wall = (last.at - first.at) / 1000;
      const cores = (k) => (last[k] - first[k]) / wall;
      const node = cores('node');
      const pgCores = cores('postgres');
      const nginxCores = cores('nginx');
      const loadGenerator = cores('loadGenerator');
      const machineBusy = (last.machine.busy - first.machine.busy) / wall;
      const server = node + pgCores;
      return {
        node,
        postgres: pgCores,
        nginx: nginxCores,
        loadGenerator,
        machineBusy,
        machineCores: (last.machine.total - first.machine.total) / wall,
        // Busy time of the machine that none of this benchmark's processes account for.
        others: Math.max(0, machineBusy - node - pgCores - nginxCores - loadGenerator),
        server,
        postgresShare: server > 0 ? pgCores / server : 0,
      };
    },
  };
}

// Ingest

/**
 * The servers of one ingest configuration on a fresh database, or on `into` (`{ sqliteFile,
 * pgDatabase }`, a clone of a tier, kept); returns `{ url, nodes, nginx, postgres, db, count(),
 * stop(), cleanup() }`.
 */
async function startIngestTarget(kind, { cluster, poolArgs, nodeFlags = [], into = null }) {
  if (kind === 'sqlite') {
    const db = into?.sqliteFile ?? path.join(DATA_DIR, 'pg-step-ingest.db');
    if (!into) removeDb(db);
    const node = await startRapport(db, { nodeFlags });
    return {
      url: node.url,
      nodes: [node],
      async count() {
        const reader = new Database(db, { readonly: true });
        try {
          return reader.prepare('SELECT COUNT(*) FROM events').pluck().get();
        } finally {
          reader.close();
        }
      },
      async stop() {
        await node.stop();
      },
      async cleanup() {
        if (!into) removeDb(db);
      },
    };
  }
  const db = into?.pgDatabase ?? INGEST_DB;
  const url = into ? cluster.urlOf(db) : await cluster.createDatabase(db);
  const count = async () => Number((await cluster.query('SELECT COUNT(*) AS n FROM events', [], db))[0].n);
  const nodes = [];
  let nginx = null;
  const stop = async () => {
    await nginx?.stop();
    for (const n of nodes) await n.stop();
  };
  try {
    nodes.push(await startRapport(url, { nodeFlags, extraArgs: poolArgs }));
    if (kind === 'postgres-2') {
      nodes.push(await startRapport(url, { nodeFlags, extraArgs: [...poolArgs, '--trust-proxy=127.0.0.1'] }));
      nginx = await nginxFor(nodes);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const cleanup = async () => {
    if (!into) await cluster.dropDatabase(db);
  };
  return { url: nginx?.url ?? nodes[0].url, nodes, nginx, postgres: cluster, db, count, stop, cleanup };
}

/**
 * One ingest run of a configuration: on a fresh database and a new site whose visitors are
 * `VISITOR_POOL`, or with `into` (`{ sqliteFile, pgDatabase, writeKey, visitors }`) on a tier's
 * clone, for its site and visitors: 80% of the batches then come from the tier's people.
 */
async function ingestRun(kind, { cluster, poolArgs, seconds, warmup, connections, nodeFlags, seed, into = null }) {
  const target = await startIngestTarget(kind, { cluster, poolArgs, nodeFlags, into });
  try {
    const before = into ? await target.count() : 0;
    const site = into ? { writeKey: into.writeKey } : await admin(target.url, 'POST', '/api/sites', { name: 'Ingest bench', origins: [SHOP] });
    const visitors = into?.visitors ?? VISITOR_POOL;
    // Every node must know the new site before the load: a node that has not heard of it yet
    // reads the sites again on an unknown write key, so one accepted batch per node is enough.
    for (const n of target.nodes) {
      const res = await fetch(`${n.url}/v1/batch`, { method: 'POST', headers: { authorization: basicAuth(site.writeKey), 'content-type': 'application/json' }, body: batchFactory({ visitors, seed: 3 })() });
      await res.text();
      if (!res.ok) throw new Error(`${kind}: a node answered ${res.status} to its first batch`);
    }
    const shot = { url: target.url, path: '/v1/batch', headers: { authorization: basicAuth(site.writeKey) }, connections };
    const warm = await warmUp({ ...shot, body: batchFactory({ visitors, seed: seed + 1 }) }, warmup);
    target.nginx?.truncateLog();
    const meter = cpuMeter(target);
    if (target.postgres) await cluster.resetStatements();
    meter.start();
    const r = await load({ ...shot, body: batchFactory({ visitors, seed: seed + 2 }), seconds });
    const cpu = meter.stop();
    const statements = target.postgres ? await cluster.topStatements(target.db) : undefined;
    const spread = target.nginx?.accessLog();
    await target.stop();
    const stored = (await target.count()) - before;
    const acknowledged = (warm.ok + r.ok + target.nodes.length) * EVENTS_PER_BATCH;
    const eventsPerSec = (r.ok * EVENTS_PER_BATCH) / r.seconds;
    return {
      kind,
      nodes: target.nodes.length,
      eventsPerSec,
      eventsPerSecPerNode: eventsPerSec / target.nodes.length,
      batchesPerSec: r.okPerSec,
      p50: r.p50,
      p99: r.p99,
      maxMs: r.maxMs,
      cpu,
      // Events per CPU-second of the server side (node processes + postgres), and the same over every core the machine has.
      eventsPerServerCpuSecond: eventsPerSec / cpu.server,
      eventsPerServerCpuSecondWithNginx: eventsPerSec / (cpu.server + cpu.nginx),
      eventsPerMachineCore: eventsPerSec / cpu.machineCores,
      stored,
      acknowledged,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      statements,
      upstreams: spread ? spread.byUpstream : undefined,
      statuses: spread ? spread.byStatus : undefined,
      nodeOutput: r.non2xx || r.errors ? target.nodes.map((n) => n.output().split('\n').filter((l) => /error|warn|fail/i.test(l)).slice(-5)) : undefined,
      problem: checkClean(`ingest ${kind}`, r) ?? (stored < acknowledged ? `ingest ${kind}: only ${stored} of ${acknowledged} acknowledged events stored` : null),
    };
  } finally {
    await target.stop();
    await target.cleanup();
  }
}

const INGEST_KINDS = ['sqlite', 'postgres', 'postgres-2'];
const KIND_LABEL = { sqlite: 'SQLite, 1 node', postgres: 'PostgreSQL, 1 node', 'postgres-2': 'PostgreSQL, 2 nodes behind nginx' };

/** Ingest runs of every configuration, interleaved: `{ sqlite: [runs], postgres: [...], 'postgres-2': [...] }`. */
async function ingestRounds({ cluster, poolArgs, runs, seconds, warmup, connections, into = null, tag = '' }) {
  const all = Object.fromEntries(INGEST_KINDS.map((k) => [k, []]));
  for (let i = 1; i <= runs; i++) {
    for (const kind of INGEST_KINDS) {
      const r = await ingestRun(kind, { cluster, poolArgs, seconds, warmup, connections, seed: 1000 * i, into });
      all[kind].push(r);
      log(
        `ingest${tag} ${i}/${runs} ${KIND_LABEL[kind].padEnd(33)} ${fmt(r.eventsPerSec).padStart(6)} events/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms; ` +
          `cores: node ${r.cpu.node.toFixed(2)}, postgres ${r.cpu.postgres.toFixed(2)}, nginx ${r.cpu.nginx.toFixed(2)}, load ${r.cpu.loadGenerator.toFixed(2)}, machine ${r.cpu.machineBusy.toFixed(2)}/${r.cpu.machineCores.toFixed(0)}${r.problem ? `; ${r.problem}` : ''}`,
      );
    }
  }
  return all;
}

/** Each configuration's figures over its runs, and the ratios run by run: each figure over the SQLite figure of the same round. */
function ingestSummary(all) {
  const summ = (rs) => ({
    ...summarize(rs, ['eventsPerSec', 'eventsPerSecPerNode', 'batchesPerSec', 'p50', 'p99', 'maxMs', 'eventsPerServerCpuSecond', 'eventsPerServerCpuSecondWithNginx', 'eventsPerMachineCore']),
    cpu: summarize(rs.map((r) => r.cpu), ['node', 'postgres', 'nginx', 'loadGenerator', 'machineBusy', 'machineCores', 'others', 'server', 'postgresShare']),
    runs: rs,
  });
  return {
    ...Object.fromEntries(INGEST_KINDS.map((k) => [k, summ(all[k])])),
    ratioPostgresToSqlite: summary(all.postgres.map((r, i) => r.eventsPerSec / all.sqlite[i].eventsPerSec)),
    ratioTwoNodesToSqlite: summary(all['postgres-2'].map((r, i) => r.eventsPerSec / all.sqlite[i].eventsPerSec)),
    ratioTwoNodesToOne: summary(all['postgres-2'].map((r, i) => r.eventsPerSec / all.postgres[i].eventsPerSec)),
    ratioPerCpuPostgresToSqlite: summary(all.postgres.map((r, i) => r.eventsPerServerCpuSecond / all.sqlite[i].eventsPerServerCpuSecond)),
    problems: INGEST_KINDS.flatMap((k) => all[k].map((r) => r.problem)).filter(Boolean),
  };
}

async function runIngestPart({ cluster, poolArgs, runs, seconds, warmup, connections, profileSeconds }) {
  const all = await ingestRounds({ cluster, poolArgs, runs, seconds, warmup, connections });
  const result = ingestSummary(all);
  result.target = { ratio: PG_INGEST_TARGET_RATIO, met: result.ratioPostgresToSqlite.median >= PG_INGEST_TARGET_RATIO };
  if (profileSeconds > 0) {
    log('ingest: profiling one more PostgreSQL 1-node run (not counted)');
    const dir = path.join(DATA_DIR, 'profiles', 'postgres-ingest');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const r = await ingestRun('postgres', { cluster, poolArgs, seconds: profileSeconds, warmup: 1, connections, seed: 9000, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    const file = newestProfile(dir);
    result.profile = {
      run: { eventsPerSec: r.eventsPerSec, p99: r.p99, cpu: r.cpu, problem: r.problem },
      summary: file
        ? summarizeProfile(file, { top: 14, inclusive: ['ingestTransaction', 'ingestOnce', 'runProgramAsync', 'answer', 'write', 'collect', 'validateMessage', 'enrich', 'readJsonBody', 'query'] })
        : null,
    };
  }
  return result;
}

/**
 * Ingest into the tiers: each configuration on a clone of the tier (the SQLite file copied, the
 * PostgreSQL copy of the decide part as a template), for the tier's site, 80% of the batches
 * from its people, so that identities and profiles are looked up and updated among a tier's
 * millions of rows. The clones are removed afterwards: the tiers stay as they were generated.
 * Tiers without a PostgreSQL copy are skipped.
 */
async function runIngestAtScale({ cluster, poolArgs, tiers, runs, seconds, warmup, connections }) {
  const datasets = await ensureDatasets(tiers, { log });
  const result = { tiers: [], skipped: [] };
  for (const t of tiers) {
    const ds = datasets[t];
    const template = `ds_${t}`;
    if (!(await cluster.databases()).includes(template)) {
      result.skipped.push(`${fmt(ds.profiles)} profiles: no PostgreSQL copy of the tier`);
      continue;
    }
    const into = { sqliteFile: path.join(DATA_DIR, `pg-step-ingest-${t}.db`), pgDatabase: `ingest_${t}`, writeKey: ds.writeKey, visitors: ds.visitors };
    const t0 = performance.now();
    removeDb(into.sqliteFile);
    for (const suffix of ['', '-wal']) if (fs.existsSync(ds.file + suffix)) fs.copyFileSync(ds.file + suffix, into.sqliteFile + suffix);
    await cluster.dropDatabase(into.pgDatabase);
    // FILE_COPY: the template's files copied after a checkpoint, rather than every page through the WAL.
    await cluster.query(`CREATE DATABASE ${into.pgDatabase} TEMPLATE ${template} STRATEGY FILE_COPY`);
    const cloneSeconds = (performance.now() - t0) / 1000;
    log(`ingest at ${fmt(ds.profiles)} profiles: clones of the tier made in ${fmt(cloneSeconds, 1)} s`);
    try {
      const all = await ingestRounds({ cluster, poolArgs, runs, seconds, warmup, connections, into, tag: ` at ${fmt(ds.profiles)} profiles` });
      result.tiers.push({ visitors: t, profiles: ds.profiles, events: ds.events, cloneSeconds, ...ingestSummary(all) });
    } finally {
      removeDb(into.sqliteFile);
      await cluster.dropDatabase(into.pgDatabase);
    }
  }
  result.problems = result.tiers.flatMap((x) => x.problems.map((p) => `at ${fmt(x.profiles)} profiles: ${p}`));
  return result;
}

// Datasets in PostgreSQL

/** Whether this build has `rapport copy` (another part of the product, written apart). */
export function copyAvailable() {
  const r = spawnSync(process.execPath, [RAPPORT_BIN, 'copy', '--help'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 && /copy/i.test(r.stdout);
}

/** Runs `rapport copy`, its progress (stderr) passed on to the log; resolves with its output, rejects on a non-zero exit. */
function copyCommand(from, to, say) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RAPPORT_BIN, 'copy', '--from', from, '--to', to], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => {
      output += c;
      partial += c;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) if (line.trim()) say(`  ${line.trim()}`);
    });
    child.once('exit', (code, signal) => {
      if (output.length > 1e6) output = output.slice(-1e6);
      if (code === 0) resolve(output);
      else reject(Object.assign(new Error(`rapport copy exited with ${code ?? signal}`), { stderr: output }));
    });
  });
}

function sqliteCounts(file) {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all();
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get()]));
  } finally {
    db.close();
  }
}

/**
 * The PostgreSQL copy of a SQLite tier: database ds_<visitors>, made by `rapport copy` unless
 * the one there was made from this very file (same fingerprint and generation time, noted in a
 * file beside the cluster). Returns `{ url, db, cached, seconds, rows, rowsPerSec, counts, bytes }`.
 */
async function ensureCopy(cluster, ds, { log: say = log } = {}) {
  const db = `ds_${ds.visitors}`;
  const marker = path.join(CLUSTER_DIR, `${db}.json`);
  const source = { file: path.basename(ds.file), now: ds.now, bytes: ds.bytes };
  const known = fs.existsSync(marker) ? JSON.parse(fs.readFileSync(marker, 'utf8')) : null;
  const exists = (await cluster.databases()).includes(db);
  if (known && exists && known.source.file === source.file && known.source.now === source.now) return { ...known, url: cluster.urlOf(db), db, cached: true };
  fs.rmSync(marker, { force: true });
  const counts = sqliteCounts(ds.file);
  const rows = Object.values(counts).reduce((a, b) => a + b, 0);
  const url = await cluster.createDatabase(db);
  say(`copy: ${fmt(rows)} rows of ${path.basename(ds.file)} to PostgreSQL (rapport copy)`);
  const t0 = performance.now();
  const out = await copyCommand(ds.file, url, say);
  const seconds = (performance.now() - t0) / 1000;
  const pgCounts = {};
  for (const t of ['profiles', 'identities', 'events', 'merges', 'sites', 'segments', 'offers']) {
    if (counts[t] === undefined) continue;
    pgCounts[t] = Number((await cluster.query(`SELECT COUNT(*) AS n FROM ${t}`, [], db))[0].n);
  }
  const mismatch = Object.entries(pgCounts).filter(([t, n]) => n !== counts[t]).map(([t, n]) => `${t}: ${n} in PostgreSQL, ${counts[t]} in SQLite`);
  // A table that only the ANALYZE of autovacuum would give statistics to: the server runs on a fresh copy, as after a restore.
  await cluster.query('ANALYZE', [], db);
  const info = { source, seconds, rows, rowsPerSec: rows / seconds, counts, pgCounts, mismatch, bytes: await cluster.sizeOf(db), output: out.trim().split('\n').slice(-6) };
  fs.writeFileSync(marker, JSON.stringify(info, null, 2));
  say(`copy: ${fmt(seconds, 1)} s, ${fmt(info.rowsPerSec)} rows/s, ${fmt(info.bytes / 1e6)} MB in PostgreSQL${mismatch.length ? `; MISMATCH ${mismatch.join(', ')}` : ''}`);
  return { ...info, url, db, cached: false };
}

// Decide

async function decideFixed(config, ds, { rate, seconds, seed }) {
  const meter = cpuMeter(config);
  if (config.postgres) await config.postgres.resetStatements();
  meter.start();
  const r = await paced({ url: config.url, path: '/v1/decide', headers: { authorization: basicAuth(ds.writeKey) }, rate, seconds, connections: 50, body: decideFactory({ visitors: ds.visitors, seed }) });
  const cpu = meter.stop();
  return {
    statements: config.postgres ? await config.postgres.topStatements(config.db, 6) : undefined,
    okPerSec: r.okPerSec,
    p50: r.p50,
    p90: r.p90,
    p99: r.p99,
    p999: r.p999,
    maxMs: r.maxMs,
    lagP99: r.lagP99,
    non2xx: r.non2xx,
    errors: r.errors,
    cpu,
    // CPU milliseconds per decision, node processes + postgres.
    serverCpuMsPerDecision: (1000 * cpu.server) / r.okPerSec,
    problem: checkClean(`decide ${config.name} ${fmt(ds.profiles)}`, r),
  };
}

/** One more PostgreSQL node under --cpu-prof, closed loop on decide: where a decision's time goes, in the node and in the database. */
async function profilePostgresDecide(cluster, copy, ds, { poolArgs, seconds }) {
  const dir = path.join(DATA_DIR, 'profiles', 'postgres-decide');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const node = await startRapport(copy.url, { extraArgs: poolArgs, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  let run;
  try {
    await prepareDecide({ url: node.url }, ds, { warmupSeconds: 1 });
    const meter = cpuMeter({ nodes: [node], postgres: cluster });
    await cluster.resetStatements();
    meter.start();
    const r = await load({ url: node.url, path: '/v1/decide', headers: { authorization: basicAuth(ds.writeKey) }, seconds, body: decideFactory({ visitors: ds.visitors, seed: 77 }) });
    const cpu = meter.stop();
    run = { profiles: ds.profiles, okPerSec: r.okPerSec, p50: r.p50, p99: r.p99, cpu, statements: await cluster.topStatements(copy.db, 6), problem: checkClean('decide profile run', r) };
  } finally {
    await node.stop();
  }
  const file = newestProfile(dir);
  return { run, summary: file ? summarizeProfile(file, { top: 14, inclusive: ['decide', 'findProfile', 'findProfileId', 'getProfile', 'profileFromRow', 'parseUserAgent', 'referralOf', 'readSiteRequest', 'matches'] }) : null };
}

async function runDecidePart({ cluster, poolArgs, tiers, twoNodeTiers, runs, seconds, rate, copyLimitMinutes, profileSeconds = 0, reportRepeats = 3 }) {
  const datasets = await ensureDatasets(tiers, { log });
  const result = { tiers: [], copies: {}, skipped: [], problems: [] };
  const hasCopy = copyAvailable();
  if (!hasCopy) result.skipped.push('`rapport copy` is not in this build: no PostgreSQL decide runs');
  let rate100 = null; // rows/s of the last copy made here, to estimate the next
  for (const t of tiers) {
    if (!hasCopy) break;
    const ds = datasets[t];
    const rows = Object.values(sqliteCounts(ds.file)).reduce((a, b) => a + b, 0);
    const db = `ds_${t}`;
    const marker = path.join(CLUSTER_DIR, `${db}.json`);
    const known = fs.existsSync(marker) ? JSON.parse(fs.readFileSync(marker, 'utf8')) : null;
    const cached = known && known.source.file === path.basename(ds.file) && known.source.now === ds.now;
    if (!cached && rate100) {
      const estimate = rows / rate100 / 60;
      if (estimate > copyLimitMinutes) {
        result.skipped.push(`${fmt(ds.profiles)} profiles: the copy of ${fmt(rows)} rows would take about ${fmt(estimate)} minutes at the ${fmt(rate100)} rows/s measured on the smaller tier (limit ${copyLimitMinutes} minutes): not copied`);
        log(`copy: ${result.skipped.at(-1)}`);
        continue;
      }
    }
    try {
      const copy = await ensureCopy(cluster, ds);
      result.copies[t] = copy;
      if (!copy.cached) rate100 = copy.rowsPerSec;
      else rate100 ??= copy.rowsPerSec;
      if (copy.mismatch.length) result.problems.push(`copy of ${fmt(ds.profiles)} profiles: ${copy.mismatch.join('; ')}`);
    } catch (error) {
      result.skipped.push(`${fmt(ds.profiles)} profiles: rapport copy failed: ${String(error.stderr ?? error.message).trim().split('\n').slice(-4).join(' | ')}`);
      log(`copy: ${result.skipped.at(-1)}`);
    }
  }

  // Every server of every configuration runs for the whole part (idle ones cost nothing but
  // memory: a server counts a site's rankings again only when decisions come, ten minutes after
  // the last count).
  let configs = [];
  let alone = null;
  const started = [];
  const startAll = async () => {
    configs = [];
    for (const t of tiers) {
      const ds = datasets[t];
      const sqliteNode = await startRapport(ds.file);
      started.push(sqliteNode);
      configs.push({ name: 'sqlite', label: 'SQLite, 1 node', tier: t, url: sqliteNode.url, nodes: [sqliteNode] });
      const copy = result.copies[t];
      if (!copy) continue;
      const pgNode = await startRapport(copy.url, { extraArgs: poolArgs });
      started.push(pgNode);
      configs.push({ name: 'postgres', label: 'PostgreSQL, 1 node', tier: t, url: pgNode.url, nodes: [pgNode], postgres: cluster, db: copy.db });
      if (twoNodeTiers.includes(t)) {
        const second = await startRapport(copy.url, { extraArgs: [...poolArgs, '--trust-proxy=127.0.0.1'] });
        started.push(second);
        const nginx = await nginxFor([pgNode, second]);
        started.push(nginx);
        configs.push({ name: 'postgres-2', label: 'PostgreSQL, 2 nodes behind nginx', tier: t, url: nginx.url, nodes: [pgNode, second], postgres: cluster, nginx, db: copy.db });
      }
    }
  };
  const prepareAll = async () => {
    for (const c of configs) {
      const ds = datasets[c.tier];
      log(`decide: preparing ${c.label}, ${fmt(ds.profiles)} profiles (catalog, first decision and rankings, first recommendation training, warm-up)`);
      const prepared = await prepareDecide({ url: c.url }, ds, { warmupSeconds: seconds >= 5 ? 3 : 1 });
      c.prepared = { firstDecisionMs: prepared.firstDecisionMs, secondDecisionMs: prepared.secondDecisionMs, firstTrainingMs: prepared.firstTrainingMs, catalog: prepared.catalog };
      c.runs = [];
    }
  };
  const stopAll = async () => {
    for (const x of started.splice(0).reverse()) await x.stop();
  };
  try {
    await startAll();
    const t0 = Date.now();
    await prepareAll();
    // First trainings (a new dataset) can take minutes: the rankings counted at the first
    // decisions would then fall due again during the runs. Started again, every server counts
    // them anew, its model trained, just before the runs.
    if (Date.now() - t0 > 3 * 60_000) {
      const trainings = Object.fromEntries(configs.map((c) => [`${c.name} ${c.tier}`, c.prepared.firstTrainingMs]));
      log('decide: the first trainings took minutes; starting every server again, so that the runs begin within minutes of their rankings');
      await stopAll();
      await startAll();
      await prepareAll();
      for (const c of configs) c.prepared.firstTrainingMs = trainings[`${c.name} ${c.tier}`];
    }
    for (let i = 1; i <= runs; i++) {
      for (const c of configs) {
        const ds = datasets[c.tier];
        c.nginx?.truncateLog();
        const r = await decideFixed(c, ds, { rate, seconds, seed: 500 + 10 * i });
        if (c.nginx) r.upstreams = c.nginx.accessLog().byUpstream;
        c.runs.push(r);
        log(`decide ${i}/${runs} ${c.label.padEnd(33)} ${fmt(ds.profiles).padStart(9)} profiles: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms; cores: node ${r.cpu.node.toFixed(2)}, postgres ${r.cpu.postgres.toFixed(2)}${r.problem ? `; ${r.problem}` : ''}`);
      }
    }
    // After the decide runs, which they would otherwise find with other pages in memory.
    for (const c of configs.filter((x) => x.tier === Math.max(...tiers) && x.nodes.length === 1)) {
      log(`reports: ${c.label}, ${fmt(datasets[c.tier].profiles)} profiles (${reportRepeats} times each, one at a time)`);
      c.reports = await timeReports(c.url, datasets[c.tier], { repeats: reportRepeats, log });
    }
    // The target's own runs: the PostgreSQL node of the largest tier with nothing else of the
    // benchmark on the machine (the other servers stopped, postgres' dirty pages written out
    // first), as a node and its database would serve decisions. Idle servers cost little, but on
    // 2 cores a few milliseconds of another process's work are a decision's p99.
    const target = configs.find((x) => x.name === 'postgres' && x.tier === Math.max(...tiers));
    if (target) {
      for (const x of started.filter((y) => !target.nodes.includes(y))) {
        await x.stop();
        started.splice(started.indexOf(x), 1);
      }
      await cluster.query('CHECKPOINT', [], target.db);
      const ds = datasets[target.tier];
      await warmUp({ url: target.url, path: '/v1/decide', headers: { authorization: basicAuth(ds.writeKey) }, body: decideFactory({ visitors: ds.visitors, seed: 97 }) }, seconds >= 5 ? 5 : 1);
      alone = { ...target, name: 'postgres-alone', label: 'PostgreSQL, 1 node, alone', runs: [] };
      for (let i = 1; i <= runs; i++) {
        const r = await decideFixed(alone, ds, { rate, seconds, seed: 700 + 10 * i });
        alone.runs.push(r);
        log(`decide ${i}/${runs} ${alone.label.padEnd(33)} ${fmt(ds.profiles).padStart(9)} profiles: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms; cores: node ${r.cpu.node.toFixed(2)}, postgres ${r.cpu.postgres.toFixed(2)}${r.problem ? `; ${r.problem}` : ''}`);
      }
      delete alone.reports;
    }
  } finally {
    await stopAll();
  }
  if (alone) configs.push(alone);
  for (const c of configs) {
    const ds = datasets[c.tier];
    result.tiers.push({
      name: c.name,
      label: c.label,
      visitors: c.tier,
      profiles: ds.profiles,
      events: ds.events,
      nodes: c.nodes.length,
      ...c.prepared,
      fixed: {
        ...summarize(c.runs, ['okPerSec', 'p50', 'p90', 'p99', 'p999', 'maxMs', 'lagP99', 'non2xx', 'errors', 'serverCpuMsPerDecision']),
        cpu: summarize(c.runs.map((r) => r.cpu), ['node', 'postgres', 'nginx', 'loadGenerator', 'machineBusy', 'machineCores', 'others', 'server', 'postgresShare']),
      },
      runs: c.runs,
      reports: c.reports,
    });
    result.problems.push(...c.runs.map((r) => r.problem).filter(Boolean));
  }
  const largest = Math.max(...tiers);
  const pgLargest = result.tiers.find((x) => x.name === 'postgres-alone') ?? result.tiers.find((x) => x.name === 'postgres' && x.visitors === largest);
  const profiled = pgLargest ?? [...result.tiers].reverse().find((x) => x.name === 'postgres');
  if (profileSeconds > 0 && profiled) {
    log(`decide: profiling a PostgreSQL node at ${fmt(profiled.profiles)} profiles (closed loop, not counted)`);
    result.profile = await profilePostgresDecide(cluster, result.copies[profiled.visitors], datasets[profiled.visitors], { poolArgs, seconds: profileSeconds });
  }
  result.target = {
    p99Ms: DECIDE_TARGET_P99_MS,
    profiles: datasets[largest].profiles,
    measured: pgLargest?.fixed.p99.median ?? null,
    met: pgLargest ? pgLargest.fixed.p99.median < DECIDE_TARGET_P99_MS : false,
    skipped: !pgLargest,
  };
  // Funnels at the largest tier, on each store: the slowest of them against the target.
  result.reportsTarget = funnelTarget(result.tiers.filter((x) => x.reports), datasets[largest].profiles);
  result.datasets = Object.fromEntries(tiers.map((t) => [t, { profiles: datasets[t].profiles, events: datasets[t].events, sqliteBytes: datasets[t].bytes }]));
  return result;
}

export async function runPostgres({
  runs = 3,
  seconds = 10,
  warmup = 2,
  connections = 50,
  profileSeconds = 6,
  decideProfileSeconds = 5,
  decideRuns = 3,
  decideSeconds = 10,
  rate = 1000,
  tiers = [100_000, 1_000_000],
  twoNodeTiers = [100_000, 1_000_000],
  poolSize,
  copyLimitMinutes = 25,
  ingest = true,
  decide = true,
  scaleIngest = true,
  quick = false,
} = {}) {
  ensureBuilt({ log });
  const started = Date.now();
  const cluster = await startPostgres({ dir: CLUSTER_DIR, log });
  const poolArgs = poolSize ? ['--pool-size', String(poolSize)] : [];
  const result = {
    settings: { quick, runs, seconds, warmup, connections, eventsPerBatch: EVENTS_PER_BATCH, visitorPool: VISITOR_POOL, decideRuns, decideSeconds, rate, tiers, twoNodeTiers, poolSize: poolSize ?? 'the default, 10', copyLimitMinutes },
    postgres: { settings: cluster.settings, dataDir: path.relative(ROOT, CLUSTER_DIR) },
  };
  try {
    if (ingest) {
      result.ingest = await runIngestPart({ cluster, poolArgs, runs, seconds, warmup, connections, profileSeconds });
    }
    if (decide) {
      result.decide = await runDecidePart({ cluster, poolArgs, tiers, twoNodeTiers, runs: decideRuns, seconds: decideSeconds, rate, copyLimitMinutes, profileSeconds: decideProfileSeconds });
    }
    // Last: the clones' copying would otherwise leave the decide runs a page cache of other pages.
    if (ingest && scaleIngest) {
      result.ingestAtScale = await runIngestAtScale({ cluster, poolArgs, tiers, runs, seconds, warmup, connections });
    }
  } finally {
    await cluster.stop();
  }
  result.nginx = nginxInfo;
  result.problems = [...(result.ingest?.problems ?? []), ...(result.decide?.problems ?? []), ...(result.ingestAtScale?.problems ?? [])];
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const list = (v) => String(v).split(',').map(Number);
  const result = await runPostgres({
    quick,
    runs: Number(args.runs ?? (quick ? 1 : 3)),
    seconds: Number(args.seconds ?? (quick ? 3 : 10)),
    warmup: quick ? 1 : 2,
    connections: Number(args.connections ?? 50),
    profileSeconds: quick ? 0 : 6,
    decideProfileSeconds: quick ? 0 : 5,
    decideRuns: Number(args['decide-runs'] ?? (quick ? 1 : 3)),
    decideSeconds: Number(args['decide-seconds'] ?? (quick ? 3 : 10)),
    rate: Number(args.rate ?? 1000),
    tiers: list(args.tiers ?? (quick ? '2000,10000' : '100000,1000000')),
    twoNodeTiers: list(args['two-node-tiers'] ?? (quick ? '2000' : '100000,1000000')),
    poolSize: args['pool-size'] ? Number(args['pool-size']) : undefined,
    copyLimitMinutes: Number(args['copy-limit-minutes'] ?? 25),
    ingest: !args['no-ingest'],
    decide: !args['no-decide'],
    scaleIngest: !args['no-scale-ingest'],
  });
  const i = result.ingest;
  const lines = [];
  if (i) {
    for (const k of INGEST_KINDS) lines.push(`${KIND_LABEL[k].padEnd(33)} ${mmm(i[k].eventsPerSec)} events/s, p99 ${mmm(i[k].p99)} ms, ${mmm(i[k].eventsPerServerCpuSecond)} events per CPU-second (node + postgres)`);
    lines.push(`PostgreSQL 1 node / SQLite: ${mmm(i.ratioPostgresToSqlite, 2)} (target ≥ ${PG_INGEST_TARGET_RATIO}: ${i.target.met ? 'met' : 'missed'})`);
  }
  for (const x of result.ingestAtScale?.tiers ?? []) {
    for (const k of INGEST_KINDS) lines.push(`ingest at ${fmt(x.profiles)} profiles, ${KIND_LABEL[k].padEnd(33)} ${mmm(x[k].eventsPerSec)} events/s, p99 ${mmm(x[k].p99)} ms`);
    lines.push(`ingest at ${fmt(x.profiles)} profiles, PostgreSQL 1 node / SQLite: ${mmm(x.ratioPostgresToSqlite, 2)}`);
  }
  const d = result.decide;
  if (d) {
    for (const t of d.tiers) lines.push(`decide ${t.label.padEnd(33)} ${fmt(t.profiles).padStart(9)} profiles: p50 ${mmm(t.fixed.p50, 2)} ms, p99 ${mmm(t.fixed.p99, 2)} ms, max ${mmm(t.fixed.maxMs, 1)} ms`);
    for (const [t, c] of Object.entries(d.copies)) lines.push(`copy ${fmt(Number(t))} visitors: ${fmt(c.rows)} rows in ${fmt(c.seconds, 1)} s, ${fmt(c.rowsPerSec)} rows/s${c.cached ? ' (made by an earlier run)' : ''}`);
    for (const s of d.skipped) lines.push(`skipped: ${s}`);
    lines.push(`PostgreSQL decide p99 at ${fmt(d.target.profiles)} profiles: ${d.target.skipped ? 'not measured' : `${fmt(d.target.measured, 2)} ms`} (target < ${DECIDE_TARGET_P99_MS} ms: ${d.target.met ? 'met' : 'missed'})`);
  }
  report('postgres', result, lines);
}
