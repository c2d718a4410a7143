#!/usr/bin/env node
// Benchmark 2, decide: POST /v1/decide for a page with 3 slots, on the dataset of 100,000
// visitors (profiles with their histories) with 50 segments and 20 offers, measured two ways,
// interleaved run by run:
//   - at a fixed 1,000 requests/s (open loop, lib/paced.mjs): p50/p90/p99/p99.9 latency;
//   - closed loop, 50 connections as fast as they go (autocannon): maximum throughput.
// Visitors: 85% returning (profiles of the dataset; known customers logged in half the time),
// 15% new; 40% of page views arrive from a search, campaign or social link (so rules on the
// current referral and keyword have something to match), the rest browse within the shop.
//
//   node bench/decide.mjs [--runs 5] [--seconds 10] [--max-seconds 5] [--visitors 100000] [--quick]

import fs from 'node:fs';
import path from 'node:path';
import { ensureCatalog } from './lib/catalog.mjs';
import { newestProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { DATA_DIR, ensureDatasets } from './lib/dataset.mjs';
import { client } from './lib/http.mjs';
import { checkClean, load, warmUp } from './lib/load.mjs';
import { paced } from './lib/paced.mjs';
import { basicAuth, decideFactory } from './lib/payloads.mjs';
import { admin, contextSwitchesOf, cpuSecondsOf, ensureBuilt, memoryOf, sampleRss, startRapport } from './lib/server.mjs';
import { fmt, isMain, log, mmm, parseArgs, report, summarize } from './lib/stats.mjs';

export const DECIDE_TARGET_P99_MS = 10;

/**
 * Readies a running server for decisions on dataset `ds`: the catalog exists, and the first
 * decision (which compiles the rules and starts the count of the site's ABC/RFM rankings, as the
 * first one after every start or every ten minutes does) is timed apart; the rankings and the
 * first recommendation training are waited for; then 3 s of warm-up.
 */
export async function prepareDecide(server, ds, { warmupSeconds = 3 } = {}) {
  const catalog = await ensureCatalog(server.url, ds.siteId);
  const http = client(server.url, { connections: 1 });
  const body = decideFactory({ visitors: ds.visitors, seed: 99 })();
  const first = await http.request('POST', '/v1/decide', { headers: { authorization: basicAuth(ds.writeKey) }, body });
  const second = await http.request('POST', '/v1/decide', { headers: { authorization: basicAuth(ds.writeKey) }, body });
  http.close();
  if (first.status !== 200) throw new Error(`decide answered ${first.status}: ${first.text}`);
  // A decision does not wait for the site's rankings; a list of profiles does: the runs then do
  // not measure the count of every customer that a server's first decision set off.
  await admin(server.url, 'GET', `/api/profiles?site=${encodeURIComponent(ds.siteId)}&limit=1`);
  const firstTrainingMs = await firstTraining(server.url, ds.siteId);
  await warmUp({ url: server.url, path: '/v1/decide', headers: { authorization: basicAuth(ds.writeKey) }, body: decideFactory({ visitors: ds.visitors, seed: 98 }) }, warmupSeconds);
  return { catalog, firstDecisionMs: first.ms, secondDecisionMs: second.ms, firstTrainingMs };
}

/**
 * Waits until no recommendation training will run during the measured runs, as a shop sees its
 * decisions most of the hour: a server trains a site whose model is missing or older than the
 * site's `trainEveryMinutes` 5 s after it starts (then when due). A model that would fall due
 * within the next half hour is trained now, on request. Returns how long it took (ms).
 */
export async function firstTraining(url, siteId, timeoutMs = 20 * 60_000) {
  const started = performance.now();
  const status = () => admin(url, 'GET', `/api/recommendations/status?site=${encodeURIComponent(siteId)}`);
  const freshFor = (s) => (s.trainedAt ? Date.parse(s.trainedAt) + s.settings.trainEveryMinutes * 60_000 - Date.now() : -1);
  for (;;) {
    const s = await status();
    if (s.settings.trainEveryMinutes === 0) return performance.now() - started;
    if (freshFor(s) > 0) {
      // A 503 says "retry later", as to any client.
      for (let attempt = 1; freshFor(s) < 30 * 60_000; attempt++) {
        try {
          await admin(url, 'POST', `/api/recommendations/train?site=${encodeURIComponent(siteId)}`);
          break;
        } catch (error) {
          if (attempt >= 3 || !/: 503 /.test(error.message)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 5_000));
        }
      }
      return performance.now() - started;
    }
    if (performance.now() - started > timeoutMs) throw new Error(`the site's recommendation training did not end within ${timeoutMs / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** One fixed-rate run and one closed-loop run; returns both. */
export async function decideRun(server, ds, { seconds = 10, maxSeconds = 5, rate = 1000, connections = 50, seed = 1 } = {}) {
  const target = { url: server.url, path: '/v1/decide', headers: { authorization: basicAuth(ds.writeKey) }, connections };
  const cpu0 = cpuSecondsOf(server.pid);
  const switches0 = contextSwitchesOf(server.pid);
  const fixed = await paced({ ...target, rate, seconds, body: decideFactory({ visitors: ds.visitors, seed: seed * 10 + 1 }) });
  fixed.serverCpuCores = (cpuSecondsOf(server.pid) - cpu0) / fixed.seconds;
  fixed.preemptionsPerSec = (contextSwitchesOf(server.pid).involuntary - switches0.involuntary) / fixed.seconds;
  fixed.problem = checkClean('decide at fixed rate', fixed);
  const cpu1 = cpuSecondsOf(server.pid);
  const max = maxSeconds > 0 ? await load({ ...target, seconds: maxSeconds, body: decideFactory({ visitors: ds.visitors, seed: seed * 10 + 2 }) }) : null;
  if (max) {
    max.serverCpuCores = (cpuSecondsOf(server.pid) - cpu1) / max.seconds;
    max.problem = checkClean('decide closed loop', max);
  }
  return { fixed, max };
}

export function summarizeDecide(runs) {
  const fixed = runs.map((r) => r.fixed);
  const max = runs.map((r) => r.max).filter(Boolean);
  return {
    fixed: summarize(fixed, ['okPerSec', 'p50', 'p90', 'p99', 'p999', 'maxMs', 'lagP99', 'serverCpuCores', 'preemptionsPerSec']),
    max: max.length ? summarize(max, ['okPerSec', 'p50', 'p99', 'serverCpuCores']) : null,
    problems: runs.flatMap((r) => [r.fixed.problem, r.max?.problem]).filter(Boolean),
    runs,
  };
}

/** A closed-loop decide run under --cpu-prof (not counted), summarized. */
export async function profileDecide(db, ds, { seconds = 6, name = 'decide' } = {}) {
  const dir = path.join(DATA_DIR, 'profiles', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const server = await startRapport(db, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    await prepareDecide(server, ds, { warmupSeconds: 1 });
    await load({ url: server.url, path: '/v1/decide', headers: { authorization: basicAuth(ds.writeKey) }, seconds, body: decideFactory({ visitors: ds.visitors, seed: 77 }) });
  } finally {
    await server.stop();
  }
  const file = newestProfile(dir);
  return file
    ? summarizeProfile(file, { top: 14, inclusive: ['decide', 'findProfile', 'profileFromRow', 'parseUserAgent', 'referralOf', 'readSiteRequest', 'parseDecideBody', 'matches'] })
    : null;
}

export async function runDecide({ visitors = 100_000, runs = 3, seconds = 10, maxSeconds = 5, rate = 1000, profileSeconds = 6 } = {}) {
  ensureBuilt({ log });
  const ds = (await ensureDatasets([visitors], { log }))[visitors];
  // Decisions do not write: the dataset is used in place (the catalog is added once and kept).
  const server = await startRapport(ds.file);
  let result;
  try {
    const rssAtRestMb = memoryOf(server.pid).rssMb;
    const prepared = await prepareDecide(server, ds);
    const rss = sampleRss(server.pid);
    const all = [];
    for (let i = 1; i <= runs; i++) {
      log(`decide run ${i}/${runs} (${fmt(ds.profiles)} profiles): ${rate}/s for ${seconds} s, then closed loop for ${maxSeconds} s`);
      const r = await decideRun(server, ds, { seconds, maxSeconds, rate, seed: i });
      log(`  at ${rate}/s: p50 ${r.fixed.p50.toFixed(2)} ms, p99 ${r.fixed.p99.toFixed(2)} ms; max ${fmt(r.max?.okPerSec)} req/s`);
      all.push(r);
    }
    result = {
      settings: { visitors, profiles: ds.profiles, events: ds.events, runs, seconds, maxSeconds, rate, slots: 3, ...prepared.catalog },
      dataset: { profiles: ds.profiles, events: ds.events, bytes: ds.bytes },
      firstDecisionMs: prepared.firstDecisionMs,
      rssAtRestMb,
      rssUnderLoadMb: rss.stop().maxMb,
      ...summarizeDecide(all),
    };
  } finally {
    await server.stop();
  }
  result.target = { p99Ms: DECIDE_TARGET_P99_MS, met: result.fixed.p99.median < DECIDE_TARGET_P99_MS };
  if (profileSeconds > 0) {
    log('decide: profiling one more closed-loop run (not counted)');
    result.profile = await profileDecide(ds.file, ds, { seconds: profileSeconds });
  }
  return result;
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const result = await runDecide({
    visitors: Number(args.visitors ?? (quick ? 10_000 : 100_000)),
    runs: Number(args.runs ?? (quick ? 1 : 5)),
    seconds: Number(args.seconds ?? (quick ? 3 : 10)),
    maxSeconds: Number(args['max-seconds'] ?? (quick ? 2 : 5)),
    profileSeconds: quick ? 0 : 6,
  });
  report('decide', result, [
    `\nat 1,000/s: p50 ${mmm(result.fixed.p50, 2)} ms, p99 ${mmm(result.fixed.p99, 2)} ms (target < ${DECIDE_TARGET_P99_MS} ms: ${result.target.met ? 'met' : 'missed'})`,
    `max throughput: ${mmm(result.max?.okPerSec)} req/s, p99 ${mmm(result.max?.p99)} ms`,
  ]);
}
