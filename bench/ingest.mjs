#!/usr/bin/env node
// Benchmark 1, ingest: events per second through POST /v1/batch (batches of 20 messages of
// about 100 bytes of properties each, 50 connections), with p50/p99 latency, side by side with
// its two ceilings measured in the same run, interleaved run by run:
//   (a) ceiling-hono.mjs:   a bare Hono route on the same adapter that only parses the body;
//   (b) ceiling-sqlite.mjs: raw better-sqlite3 inserts of the same rows, 20 per transaction,
//       same pragmas, each transaction durable (the WAL fsynced) before the next, as every 200
//       of the server.
// Each Rapport run starts on a fresh database with the rate limits off. Also measures the
// server's memory at rest and under this load, and profiles one extra (unmeasured) run.
//
//   node bench/ingest.mjs [--runs 3] [--seconds 10] [--connections 50] [--quick]

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { summarizeProfile, newestProfile } from './lib/cpuprofile.mjs';
import { DATA_DIR, removeDb } from './lib/dataset.mjs';
import { checkClean, load, warmUp } from './lib/load.mjs';
import { basicAuth, batchFactory, EVENTS_PER_BATCH } from './lib/payloads.mjs';
import { ROOT, admin, cpuSecondsOf, ensureBuilt, memoryOf, sampleRss, spawnNode, startRapport } from './lib/server.mjs';
import { isMain, log, parseArgs, report, sleep, summarize, summary, fmt, mmm } from './lib/stats.mjs';
import { SHOP } from './lib/world.mjs';

/** Returning visitors are drawn from this many ids (the rest are new browsers): a mix of new and known profiles. */
export const VISITOR_POOL = 5000;

async function rapportRun({ seconds, warmup, connections, nodeFlags = [] }) {
  const db = path.join(DATA_DIR, 'ingest.db');
  removeDb(db);
  const server = await startRapport(db, { nodeFlags });
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

function sqliteRun({ seconds }) {
  const out = execFileSync(process.execPath, ['bench/ceiling-sqlite.mjs', '--seconds', String(seconds), '--json'], { cwd: ROOT, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  return { eventsPerSec: r.eventsPerSec, batchesPerSec: r.batches / r.seconds, p50: r.p50, p99: r.p99, synchronous: r.synchronous, problem: null };
}

/** One more Rapport run under `--cpu-prof`, not counted: where does the time go? */
async function profileRun({ seconds, connections }) {
  const dir = path.join(DATA_DIR, 'profiles', 'ingest');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  await rapportRun({ seconds, warmup: 1, connections, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const file = newestProfile(dir);
  if (!file) return null;
  return summarizeProfile(file, { top: 14, inclusive: ['ingestNow', 'flush', 'collect', 'validateMessage', 'enrich', 'readJsonBody', 'readSiteRequest', 'toIngestEvent'] });
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
  const hono = [];
  const sqlite = [];
  for (let i = 1; i <= runs; i++) {
    log(`ingest run ${i}/${runs}: Rapport`);
    rapport.push(await rapportRun({ seconds, warmup, connections }));
    log(`  ${fmt(rapport.at(-1).eventsPerSec)} events/s, p50 ${rapport.at(-1).p50} ms, p99 ${rapport.at(-1).p99} ms; bare Hono ceiling`);
    hono.push(await honoRun({ seconds, warmup, connections }));
    log(`  ${fmt(hono.at(-1).eventsPerSec)} events/s; raw SQLite ceiling`);
    sqlite.push(sqliteRun({ seconds }));
    log(`  ${fmt(sqlite.at(-1).eventsPerSec)} events/s`);
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
    hono: { ...summarize(hono, keys), runs: hono },
    sqlite: { ...summarize(sqlite, ['eventsPerSec', 'batchesPerSec', 'p50', 'p99']), runs: sqlite },
    // Ratios run by run (each run's Rapport figure over the same run's ceiling).
    ratioToHono: summary(rapport.map((r, i) => r.eventsPerSec / hono[i].eventsPerSec)),
    ratioToSqlite: summary(rapport.map((r, i) => r.eventsPerSec / sqlite[i].eventsPerSec)),
    problems: [...rapport, ...hono, ...sqlite].map((r) => r.problem).filter(Boolean),
    profile,
  };
  const lower = result.hono.eventsPerSec.median <= result.sqlite.eventsPerSec.median ? 'hono' : 'sqlite';
  result.lowerCeiling = lower;
  result.ratioToLower = lower === 'hono' ? result.ratioToHono : result.ratioToSqlite;
  result.target = { ratio: 0.6, met: result.ratioToLower.median >= 0.6 };
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
  report('ingest', result, [
    `\nRapport     ${mmm(result.rapport.eventsPerSec)} events/s, p50 ${mmm(result.rapport.p50)} ms, p99 ${mmm(result.rapport.p99)} ms`,
    `bare Hono   ${mmm(result.hono.eventsPerSec)} events/s`,
    `raw SQLite  ${mmm(result.sqlite.eventsPerSec)} events/s`,
    `ratio to the lower ceiling (${result.lowerCeiling}): ${mmm(result.ratioToLower, 2)} (target ≥ 0.60: ${result.target.met ? 'met' : 'missed'})`,
  ]);
}
