#!/usr/bin/env node
// Benchmark 1, ingest: events per second through POST /v1/batch (batches of 20 messages of
// about 100 bytes of properties each, 50 connections), with p50/p99 latency, side by side with
// its ceilings measured in the same run, interleaved run by run:
//   (a) ceiling-hono.mjs:   a bare Hono route on the same adapter that only parses the body;
//   (b) ceiling-sqlite.mjs: raw better-sqlite3 inserts of the same rows, 20 per transaction,
//       same pragmas, each transaction durable (the WAL fsynced) before the next, as every 200
//       of the server;
//   (c) ceiling-sqlite.mjs --mode group: the same rows, 50 batches in flight, through Rapport's
//       group commit, one fsync per group: the limit for durable inserts of this load.
// Rapport runs with its writer thread (the default) and, for comparison, without it (everything
// on the main thread, `--writer-thread off`). Each Rapport run starts on a fresh database with
// the rate limits off. Also measures the server's memory at rest and under this load, and
// profiles one extra (unmeasured) run, every thread of it.
//
//   node bench/ingest.mjs [--runs 3] [--seconds 10] [--connections 50] [--quick]

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { DATA_DIR, removeDb } from './lib/dataset.mjs';
import { checkClean, load, warmUp } from './lib/load.mjs';
import { paced } from './lib/paced.mjs';
import { basicAuth, batchFactory, EVENTS_PER_BATCH } from './lib/payloads.mjs';
import { ROOT, admin, cpuSecondsOf, ensureBuilt, memoryOf, sampleRss, spawnNode, startRapport } from './lib/server.mjs';
import { isMain, log, parseArgs, report, sleep, summarize, summary, fmt, mmm } from './lib/stats.mjs';
import { SHOP } from './lib/world.mjs';

/** Returning visitors are drawn from this many ids (the rest are new browsers): a mix of new and known profiles. */
export const VISITOR_POOL = 5000;

async function rapportRun({ seconds, warmup, connections, nodeFlags = [], writerThread = true }) {
  const db = path.join(DATA_DIR, 'ingest.db');
  removeDb(db);
  const server = await startRapport(db, { nodeFlags, extraArgs: ['--writer-thread', writerThread ? 'on' : 'off'] });
  try {
    const site = await admin(server.url, 'POST', '/api/sites', { name: 'Ingest bench', origins: [SHOP] });
    await sleep(300);
    const atRest = memoryOf(server.pid).rssMb;
    const target = { url: server.url, path: '/v1/batch', headers: { authorization: basicAuth(site.writeKey) }, connections };
    const warm = await warmUp({ ...target, body: batchFactory({ visitors: VISITOR_POOL, seed: 11 }) }, warmup);
    const rss = sampleRss(server.pid);
    const cpu0 = cpuSecondsOf(server.pid);
    const r = await load({ ...target, body: batchFactory({ visitors: VISITOR_POOL, seed: 12 }), seconds });
    const cpu = (cpuSecondsOf(server.pid) - cpu0) / r.seconds;
    const memory = rss.stop();
    await server.stop();
    // A 200 means committed: every acknowledged message must be in the file.
    const reader = new Database(db, { readonly: true });
    const stored = reader.prepare('SELECT COUNT(*) FROM events').pluck().get();
    reader.close();
    const acknowledged = (warm.ok + r.ok) * EVENTS_PER_BATCH;
    return {
      eventsPerSec: (r.ok * EVENTS_PER_BATCH) / r.seconds,
      batchesPerSec: r.okPerSec,
      p50: r.p50,
      p99: r.p99,
      serverCpuCores: cpu,
      rssAtRestMb: atRest,
      rssUnderLoadMb: memory.maxMb,
      stored,
      acknowledged,
      problem: checkClean('rapport', r) ?? (stored < acknowledged ? `only ${stored} of ${acknowledged} acknowledged events stored` : null),
    };
  } finally {
    await server.stop();
    removeDb(db);
  }
}

/**
 * Rapport under a fixed rate (open loop, `lib/paced.mjs`) rather than as fast as it can go: the
 * latency a batch sees at that load, without the queueing of a saturated closed loop (50
 * connections each waiting for their answer make p50 ≈ 50 / throughput, whatever the server).
 */
async function pacedRun({ eventsPerSec, seconds, warmup, connections }) {
  const db = path.join(DATA_DIR, 'ingest-paced.db');
  removeDb(db);
  const server = await startRapport(db);
  try {
    const site = await admin(server.url, 'POST', '/api/sites', { name: 'Ingest bench', origins: [SHOP] });
    const target = { url: server.url, path: '/v1/batch', headers: { authorization: basicAuth(site.writeKey) }, connections };
    const rate = eventsPerSec / EVENTS_PER_BATCH;
    await paced({ ...target, rate, seconds: warmup, body: batchFactory({ visitors: VISITOR_POOL, seed: 31 }) });
    const r = await paced({ ...target, rate, seconds, body: batchFactory({ visitors: VISITOR_POOL, seed: 32 }) });
    return {
      targetEventsPerSec: eventsPerSec,
      eventsPerSec: r.okPerSec * EVENTS_PER_BATCH,
      p50: r.p50,
      p99: r.p99,
      p999: r.p999,
      problem: r.non2xx || r.errors ? `paced rapport: ${r.non2xx} non-2xx, ${r.errors} errors` : null,
    };
  } finally {
    await server.stop();
    removeDb(db);
  }
}

async function honoRun({ seconds, warmup, connections }) {
  const server = await spawnNode(['bench/ceiling-hono.mjs'], { ready: /ceiling running at (http:\/\/\S+)/ });
  try {
    const target = { url: server.url, path: '/v1/batch', connections };
    await warmUp({ ...target, body: batchFactory({ visitors: VISITOR_POOL, seed: 21 }) }, warmup);
    const cpu0 = cpuSecondsOf(server.pid);
    const r = await load({ ...target, body: batchFactory({ visitors: VISITOR_POOL, seed: 22 }), seconds });
    return {
      eventsPerSec: (r.ok * EVENTS_PER_BATCH) / r.seconds,
      batchesPerSec: r.okPerSec,
      p50: r.p50,
      p99: r.p99,
      serverCpuCores: (cpuSecondsOf(server.pid) - cpu0) / r.seconds,
      problem: checkClean('hono ceiling', r),
    };
  } finally {
    await server.stop();
  }
}

function sqliteRun({ seconds, mode = 'batch', clients = 50 }) {
  const args = ['bench/ceiling-sqlite.mjs', '--seconds', String(seconds), '--mode', mode, '--clients', String(clients), '--json'];
  const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  return {
    eventsPerSec: r.eventsPerSec,
    batchesPerSec: r.batches / r.seconds,
    batchesPerGroup: r.batchesPerGroup,
    p50: r.p50,
    p99: r.p99,
    synchronous: r.synchronous,
    problem: null,
  };
}

/** One more Rapport run under `--cpu-prof`, not counted: where does the time go? */
async function profileRun({ seconds, connections }) {
  const dir = path.join(DATA_DIR, 'profiles', 'ingest');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  await rapportRun({ seconds, warmup: 1, connections, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  // One profile per thread: the main one (HTTP), the writer, the checkpointer.
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  if (!files.length) return null;
  const inclusive = ['ingest', 'flush', 'collect', 'validateMessage', 'enrich', 'readJsonBody', 'readSiteRequest', 'toIngestEvent'];
  const threads = files.map((file) => summarizeProfile(file, { top: 14, inclusive }));
  // The main thread is the one that served HTTP; the writer, the busiest of the others.
  const http = (p) => p.areas.find((a) => /Node HTTP/.test(a.area))?.share ?? 0;
  const main = threads.reduce((a, b) => (http(b) > http(a) ? b : a));
  const others = threads.filter((t) => t !== main);
  const writer = others.length ? others.reduce((a, b) => (b.busySeconds > a.busySeconds ? b : a)) : null;
  return { ...main, writer, threads: threads.map((t) => ({ thread: t === main ? 'main' : t === writer ? 'writer' : 'other', busySeconds: t.busySeconds, idleSeconds: t.idleSeconds })) };
}

/** The Hono ceiling must run on the very packages the server runs on. */
function checkSameAdapter() {
  const fromBench = createRequire(import.meta.url);
  const fromServer = createRequire(path.join(ROOT, 'packages/server/package.json'));
  for (const pkg of ['hono', '@hono/node-server']) {
    if (fromBench.resolve(pkg) !== fromServer.resolve(pkg)) {
      throw new Error(`bench/ resolves ${pkg} to ${fromBench.resolve(pkg)} but the server to ${fromServer.resolve(pkg)}: the ceiling would not use the same adapter`);
    }
  }
}

export async function runIngest({ runs = 3, seconds = 10, warmup = 2, connections = 50, profileSeconds = 6 } = {}) {
  ensureBuilt({ log });
  checkSameAdapter();
  const rapport = [];
  const oneThread = [];
  const hono = [];
  const sqlite = [];
  const group = [];
  const atLoad = [];
  for (let i = 1; i <= runs; i++) {
    log(`ingest run ${i}/${runs}: Rapport`);
    rapport.push(await rapportRun({ seconds, warmup, connections }));
    log(`  ${fmt(rapport.at(-1).eventsPerSec)} events/s, p50 ${rapport.at(-1).p50} ms, p99 ${rapport.at(-1).p99} ms; without the writer thread`);
    oneThread.push(await rapportRun({ seconds, warmup, connections, writerThread: false }));
    log(`  ${fmt(oneThread.at(-1).eventsPerSec)} events/s, p99 ${oneThread.at(-1).p99} ms; bare Hono ceiling`);
    hono.push(await honoRun({ seconds, warmup, connections }));
    log(`  ${fmt(hono.at(-1).eventsPerSec)} events/s; raw SQLite ceiling, a transaction per batch`);
    sqlite.push(sqliteRun({ seconds }));
    log(`  ${fmt(sqlite.at(-1).eventsPerSec)} events/s; raw SQLite ceiling, group commit`);
    group.push(sqliteRun({ seconds, mode: 'group', clients: connections }));
    log(`  ${fmt(group.at(-1).eventsPerSec)} events/s, ${group.at(-1).batchesPerGroup.toFixed(1)} batches per commit; Rapport paced at 60% of it`);
    atLoad.push(await pacedRun({ eventsPerSec: 0.6 * group.at(-1).eventsPerSec, seconds, warmup, connections }));
    log(`  ${fmt(atLoad.at(-1).eventsPerSec)} events/s, p50 ${atLoad.at(-1).p50.toFixed(1)} ms, p99 ${atLoad.at(-1).p99.toFixed(1)} ms`);
  }
  let profile = null;
  if (profileSeconds > 0) {
    log('ingest: profiling one more Rapport run (not counted)');
    profile = await profileRun({ seconds: profileSeconds, connections });
  }

  const keys = ['eventsPerSec', 'batchesPerSec', 'p50', 'p99', 'serverCpuCores'];
  const result = {
    settings: { runs, seconds, warmup, connections, eventsPerBatch: EVENTS_PER_BATCH, visitorPool: VISITOR_POOL },
    rapport: { ...summarize(rapport, [...keys, 'rssAtRestMb', 'rssUnderLoadMb']), runs: rapport },
    oneThread: { ...summarize(oneThread, keys), runs: oneThread },
    hono: { ...summarize(hono, keys), runs: hono },
    sqlite: { ...summarize(sqlite, ['eventsPerSec', 'batchesPerSec', 'p50', 'p99']), runs: sqlite },
    group: { ...summarize(group, ['eventsPerSec', 'batchesPerSec', 'batchesPerGroup', 'p50', 'p99']), runs: group },
    atLoad: { ...summarize(atLoad, ['targetEventsPerSec', 'eventsPerSec', 'p50', 'p99', 'p999']), runs: atLoad },
    // Ratios run by run (each run's Rapport figure over the same run's ceiling).
    ratioToHono: summary(rapport.map((r, i) => r.eventsPerSec / hono[i].eventsPerSec)),
    ratioToSqlite: summary(rapport.map((r, i) => r.eventsPerSec / sqlite[i].eventsPerSec)),
    ratioToGroup: summary(rapport.map((r, i) => r.eventsPerSec / group[i].eventsPerSec)),
    ratioToOneThread: summary(rapport.map((r, i) => r.eventsPerSec / oneThread[i].eventsPerSec)),
    problems: [...rapport, ...oneThread, ...hono, ...sqlite, ...group, ...atLoad].map((r) => r.problem).filter(Boolean),
    profile,
  };
  result.targets = {
    hono: { ratio: 0.3, met: result.ratioToHono.median >= 0.3 },
    group: { ratio: 0.6, met: result.ratioToGroup.median >= 0.6 },
    // At the load of the group-commit target: 60% of that ceiling, paced, and kept up with.
    p99: {
      ms: 100,
      met: result.atLoad.p99.median < 100 && atLoad.every((r) => r.eventsPerSec >= 0.95 * r.targetEventsPerSec),
    },
  };
  return result;
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const result = await runIngest({
    runs: Number(args.runs ?? (quick ? 1 : 3)),
    seconds: Number(args.seconds ?? (quick ? 3 : 10)),
    warmup: quick ? 1 : 2,
    connections: Number(args.connections ?? 50),
    profileSeconds: quick ? 0 : 6,
  });
  const met = (t) => (t.met ? 'met' : 'missed');
  report('ingest', result, [
    `\nRapport              ${mmm(result.rapport.eventsPerSec)} events/s, p50 ${mmm(result.rapport.p50)} ms, p99 ${mmm(result.rapport.p99)} ms`,
    `without writer thread ${mmm(result.oneThread.eventsPerSec)} events/s, p99 ${mmm(result.oneThread.p99)} ms`,
    `bare Hono            ${mmm(result.hono.eventsPerSec)} events/s`,
    `raw SQLite per batch ${mmm(result.sqlite.eventsPerSec)} events/s`,
    `raw SQLite grouped   ${mmm(result.group.eventsPerSec)} events/s`,
    `Rapport paced at 60% of it: ${mmm(result.atLoad.eventsPerSec)} events/s, p50 ${mmm(result.atLoad.p50, 1)} ms, p99 ${mmm(result.atLoad.p99, 1)} ms`,
    `ratio to bare Hono: ${mmm(result.ratioToHono, 2)} (target ≥ 0.30: ${met(result.targets.hono)}); to the group-commit ceiling: ${mmm(result.ratioToGroup, 2)} (target ≥ 0.60: ${met(result.targets.group)}); p99 < 100 ms: ${met(result.targets.p99)}`,
  ]);
}
