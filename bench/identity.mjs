#!/usr/bin/env node
// Benchmark 4, identity, on a copy of the 100,000-visitor dataset:
//   - identifies with merge per second (8 concurrent logins): each request is a batch with one `identify` whose
//     anonymous id belongs to an anonymous profile with a history (a visitor who never logged in)
//     and whose user id belongs to another, known customer: the server merges the anonymous
//     profile into the customer's (events, identities, counters move; the merge is recorded).
//     Every pair is used once; merges are counted in the database, not assumed from the 200s.
//   - a profile read with its timeline, as the console does it: GET /api/profiles/:id then
//     GET /api/profiles/:id/events, one after the other, one at a time (latency) for random live
//     profiles; also the server CPU time per read.
//
//   node bench/identity.mjs [--runs 3] [--seconds 5] [--visitors 100000] [--quick]

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { newestProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { DATA_DIR, ensureDatasets, removeDb, workingCopy } from './lib/dataset.mjs';
import { client } from './lib/http.mjs';
import { basicAuth } from './lib/payloads.mjs';
import { ADMIN_TOKEN, cpuSecondsOf, ensureBuilt, startRapport } from './lib/server.mjs';
import { fmt, isMain, log, mmm, parseArgs, percentile, report, summarize } from './lib/stats.mjs';
import { SHOP, USER_AGENTS, anonymousIdOf, isKnown, userIdOf } from './lib/world.mjs';

/** `read(connection)` on a read-only connection of its own, closed after. */
function withReader(db, read) {
  const reader = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return read(reader);
  } finally {
    reader.close();
  }
}

const countMerges = (db) =>
  withReader(db, (r) => r.prepare("SELECT COUNT(*) FROM merges WHERE rule = 'identify' AND from_profile IS NOT NULL").pluck().get());

/** Hands out (anonymous visitor, known customer) pairs, each once. */
function pairs(visitors) {
  const anonymous = [];
  const known = [];
  for (let i = 0; i < visitors; i++) (isKnown(i) ? known : anonymous).push(i);
  let next = 0;
  return {
    available: Math.min(anonymous.length, known.length),
    body() {
      const k = next++;
      const a = anonymous[k % anonymous.length];
      const u = known[k % known.length];
      const message = {
        type: 'identify',
        messageId: randomUUID(),
        anonymousId: anonymousIdOf(a),
        userId: userIdOf(u),
        traits: { email: `${userIdOf(u)}@mail.example`, lastLoginDevice: 'second' },
        timestamp: new Date().toISOString(),
        context: { page: { url: `${SHOP}/login`, path: '/login', referrer: `${SHOP}/cart`, title: 'Login' }, userAgent: USER_AGENTS[a % USER_AGENTS.length], library: { name: 'rapport.js', version: '0.1.0' } },
      };
      return JSON.stringify({ batch: [message], sentAt: new Date().toISOString() });
    },
    get used() {
      return next;
    },
  };
}

/**
 * Identifies with merge, closed loop over `connections` keep-alive connections for `seconds`:
 * no new request after that, then every request in flight is waited for (each one at most 60 s).
 * Merges per second = merges found in the database / time until the last answer.
 */
async function mergeRun(server, db, ds, source, { seconds, connections, maxRequests = Infinity }) {
  const before = countMerges(db);
  const cpu0 = cpuSecondsOf(server.pid);
  const http = client(server.url, { connections });
  const headers = { authorization: basicAuth(ds.writeKey) };
  const latencies = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const last = Math.min(source.available, source.used + maxRequests);
  const worker = async () => {
    while (performance.now() < deadline && source.used < last) {
      const r = await http.request('POST', '/v1/batch', { headers, body: source.body() });
      if (r.status === 200) latencies.push(r.ms);
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  http.close();
  const merges = countMerges(db) - before;
  const cpu = cpuSecondsOf(server.pid) - cpu0;
  return {
    mergesPerSec: merges / elapsed,
    seconds: elapsed,
    requests: latencies.length,
    merges,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMsPerMerge: (cpu * 1000) / Math.max(1, merges),
    problem: failures
      ? `${failures} identify calls failed`
      : latencies.length === 0
        ? 'no fresh pairs were left to merge: nothing was measured'
        : merges < latencies.length * 0.99
          ? `only ${merges} merges for ${latencies.length} identify calls`
          : null,
  };
}

async function readRun(server, ids, { seconds }) {
  const http = client(server.url, { connections: 1 });
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const total = [];
  const profile = [];
  const timeline = [];
  let failures = 0;
  let events = 0;
  const cpu0 = cpuSecondsOf(server.pid);
  const until = performance.now() + seconds * 1000;
  for (let k = 0; performance.now() < until && k < 1_000_000; k++) {
    const id = ids[k % ids.length];
    const a = await http.request('GET', `/api/profiles/${id}`, { headers });
    const b = await http.request('GET', `/api/profiles/${id}/events?limit=50`, { headers });
    if (a.status !== 200 || b.status !== 200) {
      failures++;
      continue;
    }
    events += JSON.parse(b.text).events.length;
    profile.push(a.ms);
    timeline.push(b.ms);
    total.push(a.ms + b.ms);
  }
  const cpu = cpuSecondsOf(server.pid) - cpu0;
  http.close();
  return {
    readsPerSec: total.length / seconds,
    p50: percentile(total, 50),
    p99: percentile(total, 99),
    profileP50: percentile(profile, 50),
    timelineP50: percentile(timeline, 50),
    eventsPerTimeline: events / Math.max(1, total.length),
    cpuMsPerRead: (cpu * 1000) / Math.max(1, total.length),
    problem: failures ? `${failures} failed reads` : null,
  };
}

/** Merges and reads once more under --cpu-prof (not counted), on the same copy. */
async function profileIdentity(db, ds, source, ids, { seconds, connections }) {
  const dir = path.join(DATA_DIR, 'profiles', 'identity');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const server = await startRapport(db, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    await mergeRun(server, db, ds, source, { seconds, connections });
    await readRun(server, ids, { seconds: Math.max(1, seconds / 2) });
  } finally {
    await server.stop();
  }
  const file = newestProfile(dir);
  return file ? summarizeProfile(file, { top: 12, inclusive: ['ingestNow', 'flush', 'profileIdentities', 'profileMerges', 'segmentsOfProfile', 'profileEvents'] }) : null;
}

export async function runIdentity({ visitors = 100_000, runs = 3, seconds = 5, connections = 8, profileSeconds = 4 } = {}) {
  ensureBuilt({ log });
  const ds = (await ensureDatasets([visitors], { log }))[visitors];
  const db = workingCopy(ds.file, 'identity');
  // Known customers' profiles (what a console user looks up; merges only ever add to them, so
  // they stay live), in a random but fixed order.
  const ids = withReader(db, (r) =>
    r.prepare('SELECT id FROM profiles WHERE merged_into IS NULL AND user_id IS NOT NULL ORDER BY substr(id, 3) LIMIT 5000').pluck().all(),
  );
  const server = await startRapport(db);
  const source = pairs(ds.visitors);
  const merges = [];
  const reads = [];
  try {
    // Warm-up: the first profile read computes the site's ABC/RFM rankings; a few merges.
    await readRun(server, ids.slice(-50), { seconds: 1 });
    // At most a twentieth of the pairs, so that a small dataset keeps enough for the measured runs.
    await mergeRun(server, db, ds, source, { seconds: 1, connections, maxRequests: Math.max(connections, Math.floor(source.available / 20)) });
    for (let i = 1; i <= runs; i++) {
      merges.push(await mergeRun(server, db, ds, source, { seconds, connections }));
      reads.push(await readRun(server, ids, { seconds }));
      log(`identity run ${i}/${runs}: ${fmt(merges.at(-1).mergesPerSec)} merges/s; profile + timeline read p50 ${reads.at(-1).p50.toFixed(2)} ms`);
    }
  } finally {
    await server.stop();
  }
  let profile = null;
  try {
    if (profileSeconds > 0) {
      log('identity: profiling merges and reads once more (not counted)');
      profile = await profileIdentity(db, ds, source, ids, { seconds: profileSeconds, connections });
    }
  } finally {
    removeDb(db);
  }
  return {
    profile,
    settings: { visitors, profiles: ds.profiles, events: ds.events, runs, seconds, connections, pairsAvailable: source.available, pairsUsed: source.used },
    merges: { ...summarize(merges, ['mergesPerSec', 'seconds', 'p50', 'p99', 'cpuMsPerMerge']), runs: merges },
    reads: { ...summarize(reads, ['readsPerSec', 'p50', 'p99', 'profileP50', 'timelineP50', 'eventsPerTimeline', 'cpuMsPerRead']), runs: reads },
    problems: [...merges, ...reads].map((r) => r.problem).filter(Boolean).concat(source.used > source.available ? [`ran out of fresh pairs (${source.used} > ${source.available})`] : []),
  };
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const result = await runIdentity({
    visitors: Number(args.visitors ?? (quick ? 10_000 : 100_000)),
    runs: Number(args.runs ?? (quick ? 1 : 3)),
    seconds: Number(args.seconds ?? (quick ? 2 : 5)),
    profileSeconds: quick ? 0 : 4,
  });
  report('identity', result, [
    `\nidentify with merge: ${mmm(result.merges.mergesPerSec, 1)} merges/s, p99 ${mmm(result.merges.p99)} ms`,
    `profile + timeline read: p50 ${mmm(result.reads.p50, 2)} ms, p99 ${mmm(result.reads.p99, 2)} ms, ${mmm(result.reads.cpuMsPerRead, 2)} ms of server CPU per read`,
  ]);
}
