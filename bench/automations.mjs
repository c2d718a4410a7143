#!/usr/bin/env node
// Benchmark 8, automations: 100,000 runs waiting at once, then falling due (issue 14: "a due
// step fires within 5 s of its time"). The built server (`rapport serve`, a process of its own),
// a webhook receiver on 127.0.0.1 in this process that answers 204 at once, and automations
// "trigger event -> { wait } -> webhook to the receiver". Trigger events are ingested fast,
// `POST /v1/batch` of 100 messages from 100 visitors over 8 connections, so that every run is
// started (and waiting) before the first falls due. Two cases, each on a fresh database:
//
//   - burst: one automation, { wait: <W>s } with W longer than the ingest, so all the runs wait at
//     once and fall due within the span of the ingest: far more due a second than can be sent.
//   - spread: the same number of runs, their due times spread over a window at a rate below what
//     the burst case sent a second (`--spread-fraction` of it): automations whose waits step
//     through the window, the trigger events dealt round-robin among them. The 5 s promise is
//     about this case: a load the server can keep up with.
//
// For each delivery (the first of each webhook-id): lateness = the time the receiver got it minus
// the step's due time (the run's startedAt from the payload plus its automation's wait, the same
// sum the server computes); also the part until the runner took the step (the payload's
// timestamp) and the HTTP part after. Sends per second, the drain (first due to last delivery),
// the scheduler's own figures from GET /healthz (`automations`: claimed, late, maxLatenessMs),
// duplicates (a webhook-id twice), runs done in the database, and the server's CPU.
// The ceiling for sends per second: the receiver's accept rate from a plain client loop in a
// process of its own (lib/webhook-client.mjs: node:http over a keep-alive agent, as the server
// sends, signed bodies of the same size, 50 in flight like the scheduler's batch), measured in the
// same run; and the same loop with fetch, for comparison.
// Then one extra burst run under --cpu-prof (not counted): where the server's time goes.
//
//   node bench/automations.mjs [--runs 100000] [--wait 90] [--spread-fraction 0.5]
//     [--max-window 900] [--stores sqlite,postgres] [--profile-runs 20000] [--ceiling-seconds 5]
//     [--drain-limit 1200] [--quick]
//
// --wait: the burst case's wait in seconds (default 90; 15 quick): must outlast the ingest, which
//   is checked (`allWaitingAtOnce`).
// --max-window: the longest window of the spread case in seconds; if the spread rate would need
//   a longer one, the rate is raised to fit and the result says so.
// --stores: sqlite (the default), postgres (a database on the bench's PostgreSQL 15 cluster,
//   lib/postgres.mjs, durable, in bench/.data/postgres-15), or both.
// --profile-runs: runs of the profiled burst (0: no profile).
// --drain-limit: the longest wait for the deliveries after the last due time, seconds; a case also
//   ends when no delivery came for 60 s.
// --quick: 2,000 runs, a 15 s wait, 2 s ceiling, no profile: about a minute.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { client } from './lib/http.mjs';
import { basicAuth } from './lib/payloads.mjs';
import { machineCpuSeconds } from './lib/postgres.mjs';
import { ROOT, admin, cpuSecondsOf, ensureBuilt, startRapport } from './lib/server.mjs';
import { fmt, isMain, log, parseArgs, percentile, report, sleep } from './lib/stats.mjs';

export const LATENESS_TARGET_MS = 5_000;
const DATA_DIR = path.resolve(import.meta.dirname, '.data');
const WORK_DIR = path.join(DATA_DIR, 'automations');
const CLUSTER_DIR = path.join(DATA_DIR, 'postgres-15');
const PER_BATCH = 100;
const CONNECTIONS = 8;
/** The scheduler's batch (scheduler.ts): the most steps in flight, so the ceiling's concurrency. */
const SCHEDULER_BATCH = 50;
const STALL_S = 60;
const SECRET = `whsec_${Buffer.from('rapport-bench-automations-secret').toString('base64')}`;

/**
 * The receiver: answers 204 as soon as a request's body is in; keeps, for the first delivery of
 * each webhook-id, when it came and the step's due time; counts repeats and bad signatures.
 * `/ceiling` requests are only counted (the ceiling client's).
 */
async function startReceiver() {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const state = { waits: new Map(), deliveries: new Map(), duplicates: 0, badSignatures: 0, unknown: 0, bytes: 0, ceiling: 0 };
  const server = http.createServer((req, res) => {
    const receivedAt = Date.now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(204).end();
      if (req.url === '/ceiling') {
        state.ceiling++;
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const signature = `v1,${createHmac('sha256', key).update(`${id}.${req.headers['webhook-timestamp']}.${body}`).digest('base64')}`;
      if (signature !== req.headers['webhook-signature']) state.badSignatures++;
      const seen = state.deliveries.get(id);
      if (seen) {
        seen.count++;
        state.duplicates++;
        return;
      }
      const payload = JSON.parse(body);
      const wait = state.waits.get(payload.data.automation.id);
      if (wait === undefined) state.unknown++;
      state.bytes += body.length;
      state.deliveries.set(id, { receivedAt, dueAt: Date.parse(payload.data.run.startedAt) + (wait ?? NaN), handledAt: Date.parse(payload.timestamp), count: 1 });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: `${base}/hook`,
    ceilingUrl: `${base}/ceiling`,
    state,
    reset() {
      Object.assign(state, { waits: new Map(), deliveries: new Map(), duplicates: 0, badSignatures: 0, unknown: 0, bytes: 0 });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** The receiver's accept rate from lib/webhook-client.mjs in a process of its own. */
function ceilingRun(receiver, { seconds, bytes, mode = 'fetch' }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'lib/webhook-client.mjs'), '--url', receiver.ceilingUrl, '--seconds', String(seconds), '--warmup', '1', '--concurrency', String(SCHEDULER_BATCH), '--bytes', String(Math.round(bytes)), '--client', mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`webhook-client exited with ${code}: ${out}`))));
  });
}

/** A fresh database for one case: a SQLite file, or a database of the bench cluster. */
async function freshDb(store, name, cluster) {
  if (store === 'sqlite') {
    fs.mkdirSync(WORK_DIR, { recursive: true });
    const file = path.join(WORK_DIR, `${name}.db`);
    const remove = () => ['', '-wal', '-shm'].forEach((s) => fs.rmSync(file + s, { force: true }));
    remove();
    const query = (sql) => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all();
      } finally {
        db.close();
      }
    };
    return { db: file, query, drop: remove };
  }
  const dbName = `bench_automations_${name.replace(/\W/g, '_')}`;
  const url = await cluster.createDatabase(dbName);
  return { db: url, query: (sql) => cluster.query(sql, [], dbName), drop: () => cluster.dropDatabase(dbName) };
}

async function healthz(url) {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return (await res.json()).automations ?? null;
  } catch {
    return null;
  }
}

/** Ingests `runs` trigger events (one per visitor, fresh ids), `eventOf(i)` naming each; batches of 100 over 8 connections. */
async function ingestTriggers(url, writeKey, { runs, tag, eventOf }) {
  const http = client(url, { connections: CONNECTIONS });
  const headers = { authorization: basicAuth(writeKey) };
  let next = 0;
  const failures = [];
  const started = Date.now();
  const worker = async () => {
    while (next < runs && failures.length < 10) {
      const first = next;
      next = Math.min(runs, next + PER_BATCH);
      const batch = [];
      for (let i = first; i < next; i++) {
        batch.push({ type: 'track', event: eventOf(i), anonymousId: `${tag}-v${i}`, messageId: `${tag}-m${i}`, properties: { sku: `sku-${i % 500}`, price: 10 + (i % 90), currency: 'EUR' } });
      }
      const r = await http.request('POST', '/v1/batch', { headers, body: JSON.stringify({ batch, sentAt: new Date().toISOString() }) });
      if (r.status !== 200) failures.push(`${r.status} ${r.text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  http.close();
  const ended = Date.now();
  return { started, ended, seconds: (ended - started) / 1000, eventsPerSec: runs / ((ended - started) / 1000), failures };
}

const min = (values) => values.reduce((a, b) => (b < a ? b : a), Infinity);
const max = (values) => values.reduce((a, b) => (b > a ? b : a), -Infinity);
const pcts = (values) => ({ p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: values.length ? max(values) : NaN });

/** The largest count in any one-second bin of some times (ms). */
function peakPerSecond(times) {
  const bins = new Map();
  for (const t of times) bins.set(Math.floor(t / 1000), (bins.get(Math.floor(t / 1000)) ?? 0) + 1);
  return max([0, ...bins.values()]);
}

/** Steps due, delivered and the worst lateness of those delivered, per second from `t0`. */
function bySecond(deliveries, t0) {
  const bins = [];
  const bin = (t) => (bins[Math.max(0, Math.floor((t - t0) / 1000))] ??= { due: 0, delivered: 0, maxLatenessMs: 0 });
  for (const x of deliveries) {
    bin(x.dueAt).due++;
    const b = bin(x.receivedAt);
    b.delivered++;
    b.maxLatenessMs = Math.max(b.maxLatenessMs, x.receivedAt - x.dueAt);
  }
  return Array.from(bins, (b, t) => ({ t, ...(b ?? { due: 0, delivered: 0, maxLatenessMs: 0 }) }));
}

/** The second whose deliveries were the latest, and what other processes took of the machine around it. */
function worstSecond(deliveries, t0, samples) {
  const seconds = bySecond(deliveries, t0);
  const worst = seconds.reduce((a, b) => (b.maxLatenessMs > a.maxLatenessMs ? b : a), seconds[0] ?? { t: 0, maxLatenessMs: 0 });
  // The samples of the 10 s before it: when the time was lost.
  const around = samples.filter((s) => s.t - t0 <= (worst.t + 1) * 1000 && s.t - t0 > (worst.t - 10) * 1000);
  const mean = (k) => around.reduce((a, s) => a + s[k], 0) / Math.max(1, around.length);
  return { ...worst, otherCoresBefore: mean('others'), serverCoresBefore: mean('server'), postgresCoresBefore: mean('pg') };
}

/**
 * One case on a fresh database and server: the automations (`waits`, seconds each), `runs` trigger
 * events dealt round-robin among them, then the drain, measured at the receiver.
 */
async function runCase({ store, name, runs, waits, receiver, cluster, nodeFlags = [], drainLimitS }) {
  const fresh = await freshDb(store, name, cluster);
  receiver.reset();
  const server = await startRapport(fresh.db, { nodeFlags });
  const problems = [];
  try {
    const site = await admin(server.url, 'POST', '/api/sites', { name: `Automations bench ${name}`, origins: [], requireUserHash: false });
    const events = [];
    for (const [k, wait] of waits.entries()) {
      const event = `Bench Trigger ${k}`;
      const a = await admin(server.url, 'POST', '/api/automations', {
        site: site.id,
        name: `Bench ${name} ${k}`,
        status: 'active',
        trigger: { event },
        steps: [{ wait: `${wait}s` }, { webhook: { url: receiver.url, secret: SECRET } }],
      });
      receiver.state.waits.set(a.id, wait * 1000);
      events.push(event);
    }
    const ingest = await ingestTriggers(server.url, site.writeKey, { runs, tag: name, eventOf: (i) => events[i % events.length] });
    if (ingest.failures.length) problems.push(`ingest: ${ingest.failures.length} batches failed (${ingest.failures[0]})`);
    const [w] = await fresh.query(
      `SELECT COUNT(*) AS n, MIN(due_at) AS first, MAX(due_at) AS last FROM automation_runs WHERE status = 'active' AND position = '0' AND due_at > ${Date.now()}`,
    );
    const waiting = { runs: Number(w.n), firstDue: Number(w.first ?? NaN), lastDue: Number(w.last ?? NaN), at: Date.now() };
    log(`automations ${store} ${name}: ${fmt(runs)} triggers ingested in ${fmt(ingest.seconds, 1)} s (${fmt(ingest.eventsPerSec)}/s); ${fmt(waiting.runs)} runs waiting, due from +${fmt((waiting.firstDue - Date.now()) / 1000, 1)} s over ${fmt((waiting.lastDue - waiting.firstDue) / 1000, 1)} s`);
    if (waiting.runs !== runs) problems.push(`${fmt(waiting.runs)} of ${fmt(runs)} runs were waiting after the ingest (the wait is shorter than the ingest, or starts were lost)`);

    // The drain, measured from the first due time: until every run delivered, nothing came for
    // STALL_S, or the limit.
    if (Number.isFinite(waiting.firstDue)) await sleep(Math.max(0, waiting.firstDue - Date.now()));
    const cpu0 = cpuSecondsOf(server.pid);
    const pg0 = cluster && store === 'postgres' ? cluster.cpuSeconds() : 0;
    const machine0 = machineCpuSeconds();
    const self0 = process.cpuUsage();
    const load0 = os.loadavg();
    const cpuAt = Date.now();
    const deadline = (Number.isFinite(waiting.lastDue) ? waiting.lastDue : Date.now()) + drainLimitS * 1000;
    const samples = [];
    let lastCount = 0;
    let lastProgress = Date.now();
    // Each second: what the server, postgres, this process and the rest of the machine used.
    let before = { t: Date.now(), machine: machine0.busy, server: cpu0, pg: pg0, self: self0 };
    for (;;) {
      await sleep(1_000);
      const now = Date.now();
      const stats = await healthz(server.url);
      const delivered = receiver.state.deliveries.size;
      const at = { t: now, machine: machineCpuSeconds().busy, server: cpuSecondsOf(server.pid), pg: cluster && store === 'postgres' ? cluster.cpuSeconds() : 0, self: process.cpuUsage() };
      const span = (at.t - before.t) / 1000;
      const selfCores = (at.self.user + at.self.system - before.self.user - before.self.system) / 1e6 / span;
      const cores = { busy: (at.machine - before.machine) / span, server: (at.server - before.server) / span, pg: (at.pg - before.pg) / span };
      samples.push({ t: now, delivered, claimed: stats?.claimed ?? null, ...cores, others: Math.max(0, cores.busy - cores.server - cores.pg - selfCores) });
      before = at;
      if (delivered > lastCount) (lastCount = delivered), (lastProgress = now);
      if (delivered >= runs) break;
      if (now > deadline) {
        problems.push(`drain limit: ${fmt(runs - delivered)} runs undelivered ${drainLimitS} s after the last due time`);
        break;
      }
      if (now > (Number.isFinite(waiting.firstDue) ? waiting.firstDue : now) + STALL_S * 1000 && now - lastProgress > STALL_S * 1000) {
        problems.push(`stalled: no delivery for ${STALL_S} s, ${fmt(runs - delivered)} runs undelivered`);
        break;
      }
    }
    const drainEnd = Date.now();
    const cpu = cpuSecondsOf(server.pid) - cpu0;
    const pgCpu = cluster && store === 'postgres' ? cluster.cpuSeconds() - pg0 : 0;
    const machine1 = machineCpuSeconds();
    const self = process.cpuUsage(self0);
    const drainS = (drainEnd - cpuAt) / 1000;
    const machineBusy = (machine1.busy - machine0.busy) / drainS;
    const bench = (self.user + self.system) / 1e6 / drainS;
    // A step sent twice arrives later than its first delivery: give a repeat time to come.
    await sleep(2_000);
    const scheduler = await healthz(server.url);
    const statuses = Object.fromEntries(
      (await fresh.query("SELECT status, COUNT(*) AS n FROM automation_runs WHERE position <> 'watch' GROUP BY status")).map((r) => [r.status, Number(r.n)]),
    );
    if ((statuses.done ?? 0) !== runs) problems.push(`${fmt(statuses.done ?? 0)} of ${fmt(runs)} runs done (${JSON.stringify(statuses)})`);
    const st = receiver.state;
    if (st.duplicates) problems.push(`${fmt(st.duplicates)} deliveries repeated a webhook-id`);
    if (st.badSignatures) problems.push(`${fmt(st.badSignatures)} deliveries with a bad signature`);
    if (st.unknown) problems.push(`${fmt(st.unknown)} deliveries of an unknown automation`);

    const d = [...st.deliveries.values()];
    const lateness = d.map((x) => x.receivedAt - x.dueAt);
    const toRunner = d.map((x) => x.handledAt - x.dueAt);
    const afterRunner = d.map((x) => x.receivedAt - x.handledAt);
    const received = d.map((x) => x.receivedAt);
    const dues = d.map((x) => x.dueAt);
    const firstDue = min(dues);
    const lastDue = max(dues);
    const firstReceived = min(received);
    const lastReceived = max(received);
    const sendSeconds = (lastReceived - firstReceived) / 1000;
    const dueSeconds = (lastDue - firstDue) / 1000;
    const result = {
      store,
      name,
      runs,
      automations: waits.length,
      waits: { first: waits[0], last: waits.at(-1), step: waits.length > 1 ? waits[1] - waits[0] : 0 },
      ingest: { seconds: ingest.seconds, eventsPerSec: ingest.eventsPerSec },
      waitingAtOnce: waiting.runs,
      allWaitingAtOnce: waiting.runs === runs,
      due: { seconds: dueSeconds, meanPerSec: runs / Math.max(dueSeconds, 1), peakPerSec: peakPerSecond(dues) },
      delivered: d.length,
      duplicates: st.duplicates,
      latenessMs: pcts(lateness),
      untilRunnerMs: pcts(toRunner),
      afterRunnerMs: pcts(afterRunner),
      lateOver5s: lateness.filter((x) => x > LATENESS_TARGET_MS).length,
      sendsPerSec: d.length / Math.max(sendSeconds, 0.001),
      peakSendsPerSec: peakPerSecond(received),
      firstDeliveryAfterDueS: (firstReceived - firstDue) / 1000,
      drainSeconds: (lastReceived - firstDue) / 1000,
      afterLastDueS: (lastReceived - lastDue) / 1000,
      meanBodyBytes: st.bytes / Math.max(1, d.length),
      scheduler,
      claimsPerRun: scheduler ? scheduler.claimed / runs : NaN,
      statuses,
      serverCpuCores: cpu / drainS,
      postgresCpuCores: store === 'postgres' ? pgCpu / drainS : null,
      // The whole machine while draining, and what processes other than the server, postgres and
      // this one (the receiver) took of it: this is a shared machine.
      machine: { cores: (machine1.total - machine0.total) / drainS, busyCores: machineBusy, benchCores: bench, otherCores: Math.max(0, machineBusy - cpu / drainS - pgCpu / drainS - bench), loadAverage: [load0, os.loadavg()] },
      // Sampled each second of the drain: deliveries and claims so far, CPU cores in that second.
      timeline: samples.map((s) => ({ t: +((s.t - firstDue) / 1000).toFixed(1), delivered: s.delivered, claimed: s.claimed, server: +s.server.toFixed(2), postgres: +s.pg.toFixed(2), others: +s.others.toFixed(2) })),
      // By second from the first due time: steps due, deliveries received and their worst lateness.
      seconds: bySecond(d, firstDue),
      worstSecond: worstSecond(d, firstDue, samples),
      problems,
    };
    log(
      `automations ${store} ${name}: lateness p50 ${fmt(result.latenessMs.p50 / 1000, 2)} s, p99 ${fmt(result.latenessMs.p99 / 1000, 2)} s, max ${fmt(result.latenessMs.max / 1000, 2)} s; ${fmt(result.sendsPerSec)} sends/s; drain ${fmt(result.drainSeconds, 1)} s; scheduler ${JSON.stringify(scheduler)}${problems.length ? `; problems: ${problems.join('; ')}` : ''}`,
    );
    return result;
  } finally {
    await server.stop();
    await fresh.drop();
  }
}

/** The extra burst run under --cpu-prof: its main thread's profile (the scheduler, runner and sends run there). */
async function profileBurst({ runs, wait, receiver, drainLimitS }) {
  const dir = path.join(DATA_DIR, 'profiles', 'automations');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const run = await runCase({ store: 'sqlite', name: 'profile', runs, waits: [wait], receiver, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`], drainLimitS });
  // One file per thread, named CPU.<date>.<time>.<pid>.<thread>.<seq>: thread 0 is the main one.
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const main = files.find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (!main) return null;
  const summary = summarizeProfile(path.join(dir, main), {
    top: 14,
    inclusive: ['round', 'claimDueRuns', 'handle', 'step', 'sendWebhook', 'post', 'updateRun', 'recordSend', 'getAutomation', 'getProfile'],
  });
  return { ...summary, run: { runs, sendsPerSec: run.sendsPerSec, latenessMs: run.latenessMs, drainSeconds: run.drainSeconds, ingestSeconds: run.ingest.seconds, serverCpuCores: run.serverCpuCores } };
}

export async function runAutomations({
  runs = 100_000,
  wait = 90,
  spreadFraction = 0.5,
  maxWindow = 900,
  stores = ['sqlite'],
  profileRuns = 20_000,
  ceilingSeconds = 5,
  drainLimitS = 1_200,
  quick = false,
} = {}) {
  ensureBuilt({ log });
  const started = Date.now();
  const receiver = await startReceiver();
  const result = { settings: { runs, wait, spreadFraction, maxWindow, stores, profileRuns, ceilingSeconds, drainLimitS, perBatch: PER_BATCH, connections: CONNECTIONS, schedulerBatch: SCHEDULER_BATCH, quick }, stores: {} };
  let cluster = null;
  try {
    for (const store of stores) {
      if (store === 'postgres' && !cluster) {
        const { startPostgres } = await import('./lib/postgres.mjs');
        cluster = await startPostgres({ dir: CLUSTER_DIR, log });
        result.postgres = { settings: cluster.settings, dataDir: path.relative(ROOT, CLUSTER_DIR) };
      }
      const burst = await runCase({ store, name: `${store}-burst`, runs, waits: [wait], receiver, cluster, drainLimitS });
      if (!result.ceiling) {
        log(`automations: the ceiling, a plain client loop into the receiver for ${ceilingSeconds} s (node:http, then fetch)`);
        result.ceiling = await ceilingRun(receiver, { seconds: ceilingSeconds, bytes: burst.meanBodyBytes, mode: 'http' });
        result.ceilingFetch = await ceilingRun(receiver, { seconds: ceilingSeconds, bytes: burst.meanBodyBytes, mode: 'fetch' });
        log(`automations: ceiling ${fmt(result.ceiling.perSec)} deliveries/s with node:http, ${fmt(result.ceilingFetch.perSec)} with fetch`);
      }
      // Spread: a due rate of spreadFraction of what the burst sent a second, over a window.
      const rate = spreadFraction * burst.sendsPerSec;
      const window = Math.min(maxWindow, Math.max(5, Math.ceil(runs / rate)));
      const step = Math.min(10, Math.max(1, Math.round(burst.ingest.seconds / 3)));
      const count = Math.max(1, Math.round(window / step));
      const base = Math.ceil(burst.ingest.seconds * 1.5) + (quick ? 5 : 10);
      const waits = Array.from({ length: count }, (_, k) => base + k * step);
      const spread = await runCase({ store, name: `${store}-spread`, runs, waits, receiver, cluster, drainLimitS });
      spread.plannedRatePerSec = runs / (count * step);
      spread.plannedFractionOfBurst = spread.plannedRatePerSec / burst.sendsPerSec;
      spread.windowCapped = runs / rate > maxWindow;
      result.stores[store] = { burst, spread, ratioToCeiling: burst.sendsPerSec / result.ceiling.perSec };
    }
    if (profileRuns > 0) {
      log(`automations: profiling a burst of ${fmt(profileRuns)} runs once more (not counted)`);
      result.profile = await profileBurst({ runs: profileRuns, wait: Math.max(10, Math.ceil((result.stores.sqlite?.burst.ingest.seconds ?? 10) * (profileRuns / runs) * 2) + 10), receiver, drainLimitS });
    }
  } finally {
    await receiver.close();
    await cluster?.stop();
  }
  const main = result.stores.sqlite ?? Object.values(result.stores)[0];
  result.target = {
    ms: LATENESS_TARGET_MS,
    store: main.spread.store,
    measured: main.spread.latenessMs.p99,
    met: main.spread.latenessMs.p99 < LATENESS_TARGET_MS && main.spread.delivered === runs,
    burstMeasured: main.burst.latenessMs.p99,
    burstMet: main.burst.latenessMs.p99 < LATENESS_TARGET_MS && main.burst.delivered === runs,
  };
  result.problems = Object.values(result.stores).flatMap((s) => [...s.burst.problems.map((p) => `${s.burst.name}: ${p}`), ...s.spread.problems.map((p) => `${s.spread.name}: ${p}`)]);
  for (const c of [result.ceiling, result.ceilingFetch]) if (c && (c.errors || c.non2xx)) result.problems.push(`ceiling (${c.client}): ${c.errors} errors, ${c.non2xx} non-2xx`);
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const quick = !!args.quick;
  const result = await runAutomations({
    quick,
    runs: Number(args.runs ?? (quick ? 2_000 : 100_000)),
    wait: Number(args.wait ?? (quick ? 15 : 90)),
    spreadFraction: Number(args['spread-fraction'] ?? 0.5),
    maxWindow: Number(args['max-window'] ?? (quick ? 60 : 900)),
    stores: String(args.stores ?? 'sqlite').split(','),
    profileRuns: Number(args['profile-runs'] ?? (quick ? 0 : 20_000)),
    ceilingSeconds: Number(args['ceiling-seconds'] ?? (quick ? 2 : 5)),
    drainLimitS: Number(args['drain-limit'] ?? (quick ? 120 : 1_200)),
  });
  const lines = [];
  for (const [store, s] of Object.entries(result.stores)) {
    for (const c of [s.burst, s.spread]) {
      lines.push(
        `${store} ${c.name.split('-')[1].padEnd(6)} ${fmt(c.runs)} runs due over ${fmt(c.due.seconds, 1)} s (peak ${fmt(c.due.peakPerSec)}/s): lateness p50 ${fmt(c.latenessMs.p50 / 1000, 2)} s, p95 ${fmt(c.latenessMs.p95 / 1000, 2)} s, p99 ${fmt(c.latenessMs.p99 / 1000, 2)} s, max ${fmt(c.latenessMs.max / 1000, 2)} s; ${fmt(c.sendsPerSec)} sends/s; drain ${fmt(c.drainSeconds, 1)} s; late (scheduler) ${fmt(c.scheduler?.late)}, maxLatenessMs ${fmt(c.scheduler?.maxLatenessMs)}`,
      );
    }
    lines.push(`${store}: burst sends/s = ${fmt(100 * s.ratioToCeiling, 1)}% of the ceiling (${fmt(result.ceiling.perSec)}/s)`);
  }
  lines.push(`target p99 < ${LATENESS_TARGET_MS / 1000} s (spread, ${result.target.store}): ${fmt(result.target.measured / 1000, 2)} s, ${result.target.met ? 'met' : 'missed'}`);
  report('automations', result, lines);
}
