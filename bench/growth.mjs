#!/usr/bin/env node
// Benchmark 3, growth: decide and ingest again at 10,000, 100,000 and 1,000,000 profiles, and
// how the cost grows. The datasets are made once, each tier extending the one before (see
// lib/dataset.mjs: histories fed through the real SqliteStore.ingest in batches). At each tier,
// interleaved run by run: decide at a fixed 1,000 requests/s, decide closed loop (maximum
// throughput), then ingest closed loop (batches of 20; 80% from the tier's visitors, 20% new).
// Writes results/growth.json and the plot results/growth.svg. Also records the server's memory
// at each tier (at rest after start, and the peak under these loads).
//
//   node bench/growth.mjs [--tiers 10000,100000,1000000] [--runs 3] [--seconds 10] [--quick]

import fs from 'node:fs';
import path from 'node:path';
import { decideRun, prepareDecide, profileDecide, summarizeDecide } from './decide.mjs';
import { ensureDatasets, removeDb, workingCopy } from './lib/dataset.mjs';
import { checkClean, load, warmUp } from './lib/load.mjs';
import { basicAuth, batchFactory, EVENTS_PER_BATCH } from './lib/payloads.mjs';
import { ADMIN_TOKEN, cpuSecondsOf, ensureBuilt, memoryOf, sampleRss, startRapport } from './lib/server.mjs';
import { RESULTS_DIR, fmt, isMain, log, parseArgs, report, summarize } from './lib/stats.mjs';
import { chart, panel } from './lib/svg.mjs';

export const GROWTH_TARGET_FACTOR = 1.5;
/** The console's overview (and the attribution report) answer within this at the largest tier, p95. */
export const OVERVIEW_TARGET_P95_MS = 200;
/** Requests of each report per tier, one at a time, as people opening the console. */
const REPORT_REQUESTS = 40;
/** Datasets larger than this are measured in place instead of on a copy (copying 10 GB costs more than it protects). */
const COPY_LIMIT_BYTES = 3e9;

async function ingestRun(server, ds, { seconds, connections = 50, seed }) {
  const cpu0 = cpuSecondsOf(server.pid);
  const r = await load({ url: server.url, path: '/v1/batch', headers: { authorization: basicAuth(ds.writeKey) }, connections, seconds, body: batchFactory({ visitors: ds.visitors, seed }) });
  return {
    eventsPerSec: (r.ok * EVENTS_PER_BATCH) / r.seconds,
    p50: r.p50,
    p99: r.p99,
    serverCpuCores: (cpuSecondsOf(server.pid) - cpu0) / r.seconds,
    problem: checkClean('ingest', r),
  };
}

/**
 * The reports a person opens in the console, one after another: the overview of 30 days (what
 * the console's first page reads) and attribution by keyword, first and last touch. Latency of
 * each request; the overview's own figures say how many events the 30 days held.
 */
async function reportsRun(server, ds, requests = REPORT_REQUESTS) {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const timed = async (pathname) => {
    const t0 = performance.now();
    const res = await fetch(server.url + pathname, { headers });
    const body = await res.json();
    if (!res.ok) throw new Error(`${pathname} answered ${res.status}: ${JSON.stringify(body)}`);
    return { ms: performance.now() - t0, body };
  };
  // The range ends on the dataset's last day: its history is written up to the moment it was made.
  const to = new Date(ds.now).toISOString().slice(0, 10);
  const from = new Date(ds.now - 29 * 86_400_000).toISOString().slice(0, 10);
  const overview = [];
  const attribution = [];
  let last = null;
  for (let i = 0; i < requests; i++) {
    const o = await timed(`/api/reports/overview?site=${ds.siteId}&from=${from}&to=${to}`);
    overview.push(o.ms);
    last = o.body;
    const touch = i % 2 ? 'last' : 'first';
    attribution.push((await timed(`/api/reports/attribution?site=${ds.siteId}&from=${from}&to=${to}&touch=${touch}&by=term`)).ms);
  }
  const quantiles = (list) => {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return { p50: at(0.5), p95: at(0.95), max: sorted.at(-1) };
  };
  return { requests, overview: quantiles(overview), attribution: quantiles(attribution), eventsIn30Days: last.totals.events, people: last.people };
}

async function measureTier(ds, { runs, seconds, maxSeconds, ingestSeconds, profileSeconds }) {
  const inPlace = ds.bytes > COPY_LIMIT_BYTES;
  const db = inPlace ? ds.file : workingCopy(ds.file, `growth-${ds.visitors}`);
  const server = await startRapport(db);
  const tier = { visitors: ds.visitors, profiles: ds.profiles, events: ds.events, bytes: ds.bytes, generationSeconds: ds.seconds, inPlace };
  try {
    await new Promise((r) => setTimeout(r, 300));
    tier.rssAtRestMb = memoryOf(server.pid).rssMb;
    const prepared = await prepareDecide(server, ds);
    tier.firstDecisionMs = prepared.firstDecisionMs;
    tier.secondDecisionMs = prepared.secondDecisionMs;
    tier.reports = await reportsRun(server, ds);
    log(`  reports: overview of 30 days (${fmt(tier.reports.eventsIn30Days)} events) p50 ${tier.reports.overview.p50.toFixed(1)} ms, p95 ${tier.reports.overview.p95.toFixed(1)} ms; attribution p95 ${tier.reports.attribution.p95.toFixed(1)} ms`);
    await warmUp({ url: server.url, path: '/v1/batch', headers: { authorization: basicAuth(ds.writeKey) }, body: batchFactory({ visitors: ds.visitors, seed: 5 }) }, 1);
    const rss = sampleRss(server.pid);
    const decide = [];
    const ingest = [];
    for (let i = 1; i <= runs; i++) {
      decide.push(await decideRun(server, ds, { seconds, maxSeconds, seed: 100 + i }));
      ingest.push(await ingestRun(server, ds, { seconds: ingestSeconds, seed: 200 + i }));
      log(`  run ${i}/${runs}: decide at 1,000/s p50 ${decide.at(-1).fixed.p50.toFixed(2)} ms p99 ${decide.at(-1).fixed.p99.toFixed(2)} ms, max ${fmt(decide.at(-1).max?.okPerSec)} req/s; ingest ${fmt(ingest.at(-1).eventsPerSec)} events/s`);
    }
    tier.rssPeakMb = rss.stop().maxMb;
    tier.rssAfterMb = memoryOf(server.pid).rssMb;
    tier.decide = summarizeDecide(decide);
    tier.ingest = { ...summarize(ingest, ['eventsPerSec', 'p50', 'p99', 'serverCpuCores']), runs: ingest };
    tier.problems = [...tier.decide.problems, ...ingest.map((r) => r.problem).filter(Boolean)];
  } finally {
    await server.stop();
  }
  if (profileSeconds > 0) {
    log(`  profiling decide at ${fmt(ds.profiles)} profiles (one more closed-loop run, not counted)`);
    tier.profile = await profileDecide(db, ds, { seconds: profileSeconds, name: `decide-${ds.visitors}` });
  }
  if (!inPlace) removeDb(db);
  return tier;
}

export async function runGrowth({ tiers = [10_000, 100_000, 1_000_000], runs = 3, seconds = 10, maxSeconds = 5, ingestSeconds = 5, profileLargest = true } = {}) {
  ensureBuilt({ log });
  const started = Date.now();
  log(`growth: datasets of ${tiers.map((t) => fmt(t)).join(', ')} visitors`);
  const datasets = await ensureDatasets(tiers, { log });
  const generationSeconds = (Date.now() - started) / 1000;
  const results = [];
  for (const t of tiers) {
    log(`growth: tier of ${fmt(datasets[t].profiles)} profiles, ${fmt(datasets[t].events)} events, ${fmt(datasets[t].bytes / 1e6)} MB`);
    results.push(await measureTier(datasets[t], { runs, seconds, maxSeconds, ingestSeconds, profileSeconds: profileLargest && t === tiers.at(-1) ? 6 : 0 }));
  }
  const first = results[0];
  const last = results.at(-1);
  const factor = last.decide.fixed.p99.median / first.decide.fixed.p99.median;
  return {
    settings: { tiers, runs, seconds, maxSeconds, ingestSeconds, rate: 1000 },
    generation: {
      seconds: generationSeconds,
      cached: tiers.filter((t) => datasets[t].cached),
      perTier: Object.fromEntries(tiers.map((t) => [t, { seconds: datasets[t].seconds, profiles: datasets[t].profiles, events: datasets[t].events, bytes: datasets[t].bytes }])),
    },
    tiers: results,
    target: { factor: GROWTH_TARGET_FACTOR, measured: factor, met: factor <= GROWTH_TARGET_FACTOR, from: first.profiles, to: last.profiles },
    reportsTarget: { p95Ms: OVERVIEW_TARGET_P95_MS, profiles: last.profiles, measured: last.reports.overview.p95, met: last.reports.overview.p95 < OVERVIEW_TARGET_P95_MS },
  };
}

/** Writes results/growth.svg next to growth.json. */
export function writeGrowthSvg(result) {
  const file = path.join(RESULTS_DIR, 'growth.svg');
  fs.writeFileSync(file, growthSvg(result));
  return file;
}

/** The growth plot: decide latency at 1,000/s, and throughput, against profiles. */
export function growthSvg(result) {
  const tiers = result.tiers;
  const xTicks = tiers.map((t) => ({ value: t.profiles, label: t.profiles >= 1e6 ? `${t.profiles / 1e6}M` : `${Math.round(t.profiles / 1e3)}k` }));
  const pt = (t, s) => ({ x: t.profiles, y: s?.median, min: s?.min, max: s?.max });
  const first = tiers[0].decide.fixed.p99.median;
  return chart({
    width: 960,
    height: 380,
    caption: 'median of the runs; whiskers: min–max',
    panels: [
      panel({
        x0: 70, y0: 40, width: 360, height: 260, title: 'Decide latency at 1,000 requests/s', yLabel: 'ms', xTicks,
        series: [
          { name: 'p99', points: tiers.map((t) => pt(t, t.decide.fixed.p99)) },
          { name: 'p50', points: tiers.map((t) => pt(t, t.decide.fixed.p50)) },
        ],
        limits: [
          { value: 10, label: 'decide target: p99 10 ms' },
          { value: first * GROWTH_TARGET_FACTOR, label: `growth target: 1.5 × p99 at ${xTicks[0].label}`, color: '#9a6700' },
        ],
      }),
      panel({
        x0: 560, y0: 40, width: 360, height: 260, title: 'Throughput (closed loop, 50 connections)', yLabel: 'per second', xTicks,
        series: [
          { name: 'ingest, events/s', points: tiers.map((t) => pt(t, t.ingest.eventsPerSec)) },
          { name: 'decide, requests/s', points: tiers.map((t) => pt(t, t.decide.max?.okPerSec)) },
        ],
      }),
    ],
  });
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const result = await runGrowth({
    tiers: String(args.tiers ?? (quick ? '2000,10000' : '10000,100000,1000000')).split(',').map(Number),
    runs: Number(args.runs ?? (quick ? 1 : 3)),
    seconds: Number(args.seconds ?? (quick ? 2 : 10)),
    maxSeconds: quick ? 1 : 5,
    ingestSeconds: quick ? 1 : 5,
    profileLargest: !quick,
  });
  writeGrowthSvg(result);
  report('growth', result, [
    ...result.tiers.map((t) => `${fmt(t.profiles).padStart(10)} profiles: decide p99 ${t.decide.fixed.p99.median.toFixed(2)} ms at 1,000/s, max ${fmt(t.decide.max?.okPerSec.median)} req/s; ingest ${fmt(t.ingest.eventsPerSec.median)} events/s; RSS ${fmt(t.rssAtRestMb)}–${fmt(t.rssPeakMb)} MB`),
    `p99 at the largest tier / at the smallest: ${result.target.measured.toFixed(2)} (target ≤ ${GROWTH_TARGET_FACTOR}: ${result.target.met ? 'met' : 'missed'})`,
  ]);
}
