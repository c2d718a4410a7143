#!/usr/bin/env node
// The worst-case inputs of the security issue (findings 4 to 6), each beside an ordinary input of
// the same kind measured in the same run (the machine is shared: the ratios are the point), on a
// built server started as a process of its own, as users run it:
//
//   referrer  (4) a page view whose context.page.referrer host has 1,000 labels. In process, on
//             the built @rapport/referrer: ms per parseReferrer call for 600 and 1,000 labels
//             and for the longest referrer the wire keeps (4,096 characters), against a Google
//             referrer, each call with a fresh host, in a worker thread that is ended if a case
//             outlasts its limit. End to end: the time to answer such page views (/v1/batch) and
//             decisions (/v1/decide), one after the other, and the latency of /healthz probes
//             sent meanwhile, against the same with ordinary referrers.
//   context   (5) a 68 KB /v1/batch of 500 tiny messages whose shared batch-level context has
//             2,000 keys: the bytes stored (the events' `data` column, summed in the database
//             file) and the bytes the request wrote to the WAL, per byte of the request, and the
//             answer; against an ordinary batch of the same size.
//   profile   (6) 30,000 distinct 150-character event names on one anonymous id, 100 per batch:
//             the profile's size (GET /api/profiles/:id, and its row in the database), a
//             decision for that visitor, and the decide latency of other visitors (fixed rate,
//             open loop) while 4 clients keep writing new names to the big profile; against an
//             ordinary profile (as many events, repeating names) under the same load.
//
// Any answer is recorded, 4xx included (a fixed server may refuse or cap these inputs): statuses,
// what was accepted, what was stored.
//
//   node bench/worst-case.mjs [--quick] [--server-root DIR] [--no-build] [--cases referrer,context,profile]
//                             [--out NAME]
//
// --server-root measures another checkout's built server (e.g. a worktree of an older commit:
// its packages/server/bin/rapport.js and packages/referrer/dist), whose commit is recorded; it is
// built first with its own `tsc -b packages/server` unless --no-build. --out names the result
// (bench/results/NAME.json, default worst-case; the recorded figures of the old code are
// worst-case-before.json).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ensureCatalog } from './lib/catalog.mjs';
import { paced } from './lib/paced.mjs';
import { basicAuth, batchFactory, decideFactory } from './lib/payloads.mjs';
import { ADMIN_TOKEN, ROOT, admin, cpuSecondsOf, spawnNode } from './lib/server.mjs';
import { RESULTS_DIR, fmt, isMain, log, parseArgs, percentile, report, setResultsDir, summary } from './lib/stats.mjs';
import { SHOP } from './lib/world.mjs';
import {
  PAGE_URL, decideBody, labelsOf, ordinaryBatch, ordinaryName, pageMessage, referrerOf, sharedContextBatch, trackBatch, uniqueName,
} from './lib/worst-case-inputs.mjs';

const DB_DIR = path.resolve(import.meta.dirname, '.data', 'worst-case');
const CASES = ['referrer', 'context', 'profile'];
const REFERRER_KINDS = ['ordinary', 'labels600', 'labels1000', 'longest4096'];

/** The full run's settings (run.mjs passes the same); `--quick` uses QUICK over them, as `run.mjs --quick` does. */
export const FULL = {
  // referrer, in process: calls per kind, or fewer when they outlast the budget; a case whose
  // first call is still running at the limit is ended and recorded as "more than the limit".
  referrerCalls: 200, referrerBudgetSeconds: 10, referrerLimitSeconds: 150,
  // referrer, end to end: requests of each kind, one after the other (at least this many, and for
  // at least phaseSeconds), and a /healthz probe sent every healthzEveryMs meanwhile.
  e2eLabels: 1000, worstRequests: 3, ordinaryRequests: 20, phaseSeconds: 2, healthzEveryMs: 50, requestTimeoutSeconds: 180,
  // context: batches of each kind.
  contextRuns: 3,
  // profile: names on the big profile (as many events on the ordinary one), per batch; visitors
  // whose decisions are timed under load; decisions for the big and the ordinary visitor at rest;
  // load runs (ordinary writers, then unique-name writers, in each), their length, writers, names
  // per writer batch, and the rate of the other visitors' decisions.
  names: 30_000, namesPerBatch: 100, others: 200, selfDecides: 20,
  loadRuns: 2, loadSeconds: 8, writers: 4, writerBatch: 20, decideRate: 100,
};
export const QUICK = {
  referrerCalls: 30, referrerBudgetSeconds: 2, referrerLimitSeconds: 15,
  worstRequests: 1, ordinaryRequests: 5, phaseSeconds: 1, contextRuns: 1,
  names: 5_000, others: 50, selfDecides: 5, loadRuns: 1, loadSeconds: 3,
};

// ---------------------------------------------------------------------------------------------
// Small helpers

/** One HTTP request; resolves `{ status, ms, text }`, status 0 on a failure or timeout (never rejects). */
function request(agent, baseUrl, method, pathname, { headers = {}, body, timeoutMs = 60_000 } = {}) {
  const base = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: base.hostname, port: base.port, path: pathname, method, agent, timeout: timeoutMs,
        headers: body === undefined ? headers : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, text: String(error) }));
    req.end(body);
  });
}

const json = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** Latency figures of a list of ms. */
const latency = (values) => ({
  count: values.length,
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  maxMs: values.length ? Math.max(...values) : NaN,
});

const countInto = (counts, key) => {
  counts[key] = (counts[key] ?? 0) + 1;
  return counts;
};

/** The answer of a collect call, in short: accepted and rejected messages (with their codes). */
function collectAnswer(r, sent) {
  const body = json(r.text) ?? {};
  const rejected = Array.isArray(body.rejected) ? body.rejected : Array.isArray(body.details) ? body.details : [];
  const codes = rejected.reduce((acc, issue) => countInto(acc, issue.code ?? 'unknown'), {});
  const accepted = r.status === 200 ? (body.accepted ?? sent) : 0;
  return { status: r.status, accepted, rejected: rejected.length, rejectedCodes: codes, error: r.status === 200 ? undefined : String(body.error ?? r.text).slice(0, 300) };
}

/** A stored referral in short: its medium, and the lengths of its long strings. */
function shortReferral(referral) {
  if (!referral) return null;
  const out = {};
  for (const [k, v] of Object.entries(referral)) out[k] = typeof v === 'string' && v.length > 100 ? `${v.slice(0, 40)}… (${v.length} characters)` : v;
  return out;
}

/** The commit of a checkout, its subject, and which files of packages/ differ from it. */
function describeRoot(root) {
  const git = (...args) => {
    try {
      return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const changed = (git('status', '--porcelain', '--', 'packages') ?? '').split('\n').filter(Boolean).map((l) => l.slice(3));
  return { root, commit: git('rev-parse', 'HEAD'), subject: git('log', '-1', '--format=%s'), changedFiles: changed };
}

/** The server of `root` (its own tsc, no SDK bundle: the server answers /sdk.js with a 503 without it). */
function buildServer(root) {
  log(`worst-case: building ${root === ROOT ? 'the server' : `the server of ${root}`} (tsc -b packages/server)`);
  execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-b', 'packages/server'], { cwd: root, stdio: 'inherit' });
}

function removeDbFiles(db) {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(db + suffix, { force: true });
}

/** `rapport serve` of `root` on a fresh database: the flags of bench/lib/server.mjs's startRapport. */
async function startServer(root, name) {
  fs.mkdirSync(DB_DIR, { recursive: true });
  const db = path.join(DB_DIR, `${name}.db`);
  removeDbFiles(db);
  const server = await spawnNode([
    path.join(root, 'packages/server/bin/rapport.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--db', db,
    '--rate-limit-ip', '0', '--rate-limit-site', '0', '--synchronous', 'full', '--admin-token', ADMIN_TOKEN,
  ]);
  server.db = db;
  const site = await admin(server.url, 'POST', '/api/sites', { name: `Worst-case bench (${name})`, origins: [SHOP] });
  server.site = site;
  server.auth = { authorization: basicAuth(site.writeKey) };
  return server;
}

async function stopServer(server) {
  await server.stop();
  removeDbFiles(server.db);
}

/** `read(connection)` on a read-only connection to the server's database, closed after. */
function readDb(db, read) {
  const reader = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return read(reader);
  } finally {
    reader.close();
  }
}

/**
 * Empties the server's WAL (a TRUNCATE checkpoint on a connection of this process, while the server
 * is idle), so that the WAL's size after the next request is what that request wrote: its pages,
 * indexes included, as frames. Returns whether the WAL is empty now.
 */
function truncateWal(db) {
  const conn = new Database(db, { fileMustExist: true, timeout: 5000 });
  try {
    const [row] = conn.pragma('wal_checkpoint(TRUNCATE)');
    return row.busy === 0 && walBytes(db) === 0;
  } finally {
    conn.close();
  }
}
const walBytes = (db) => (fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0);

/**
 * /healthz every `everyMs` until stopped, open loop: a probe goes out on schedule whether or not
 * the ones before it were answered, and its latency counts from that moment.
 */
function healthProbe(url, everyMs, timeoutMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const times = [];
  const statuses = {};
  const pending = new Set();
  const start = performance.now();
  let sent = 0;
  let timer = null;
  let stopped = false;
  const tick = () => {
    while (!stopped && start + sent * everyMs <= performance.now()) {
      const due = start + sent++ * everyMs;
      const p = request(agent, url, 'GET', '/healthz', { timeoutMs }).then((r) => {
        countInto(statuses, r.status);
        if (r.status) times.push(performance.now() - due);
      });
      pending.add(p);
      p.then(() => pending.delete(p));
    }
    if (!stopped) timer = setTimeout(tick, Math.max(0, start + sent * everyMs - performance.now()));
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...pending]);
      agent.destroy();
      return { ...latency(times), statuses };
    },
  };
}

/** Runs `task(i)` for i < count, `concurrency` at a time. */
async function pool(concurrency, count, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

// ---------------------------------------------------------------------------------------------
// Finding 4: referrer host labels

/** ms per parseReferrer call of one kind, in a worker thread ended at `limitMs`. */
function referrerInProcess(root, kind, { calls, budgetMs, limitMs }) {
  const module = pathToFileURL(path.join(root, 'packages/referrer/dist/index.js')).href;
  const labels = labelsOf(referrerOf(kind, 0));
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./lib/referrer-worker.mjs', import.meta.url), { workerData: { module, pageUrl: PAGE_URL, kind, calls, budgetMs }, execArgv: [] });
    const timer = setTimeout(() => {
      worker.terminate();
      resolve({ labels, calls: 0, timedOut: true, limitMs, medianMs: NaN, maxMs: NaN });
    }, limitMs);
    worker.once('message', ({ times, sample }) => {
      clearTimeout(timer);
      worker.terminate();
      resolve({ labels, referrerChars: sample?.referrerChars, calls: times.length, timedOut: false, medianMs: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: Math.max(...times), totalMs: times.reduce((a, b) => a + b, 0), result: sample?.result ?? null });
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      resolve({ labels, calls: 0, timedOut: false, error: String(error), medianMs: NaN, maxMs: NaN });
    });
  });
}

async function referrerCase(o, root) {
  const inProcess = {};
  for (const kind of REFERRER_KINDS) {
    inProcess[kind] = await referrerInProcess(root, kind, { calls: o.referrerCalls, budgetMs: o.referrerBudgetSeconds * 1000, limitMs: o.referrerLimitSeconds * 1000 });
    const r = inProcess[kind];
    log(`worst-case referrer, in process, ${kind} (${r.labels} labels): ${r.timedOut ? `> ${o.referrerLimitSeconds} s (ended)` : r.error ? `failed: ${r.error}` : `${r.medianMs.toFixed(4)} ms per call (${r.calls} calls, max ${r.maxMs.toFixed(3)} ms)`}`);
  }

  const server = await startServer(root, 'referrer');
  const timeoutMs = o.requestTimeoutSeconds * 1000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const tag = `-${Date.now().toString(36)}`;
  const worstKind = `labels${o.e2eLabels}`;
  const referrer = (worst, i) => (worst ? referrerOf(worstKind, i, tag) : referrerOf('ordinary', i, tag));
  const pageView = (worst, i) => {
    const anonymousId = `ref-${worst ? 'worst' : 'ordinary'}-${i}`;
    const body = JSON.stringify({ batch: [pageMessage({ anonymousId, messageId: `pv${tag}-${worst ? 'w' : 'o'}-${i}`, referrer: referrer(worst, i), i })], sentAt: new Date().toISOString() });
    return request(agent, server.url, 'POST', '/v1/batch', { headers: server.auth, body, timeoutMs }).then((r) => ({ ...r, requestBytes: Buffer.byteLength(body), anonymousId }));
  };
  const decision = (worst, i) => {
    const body = JSON.stringify(decideBody({ anonymousId: `dec-${i}`, referrer: referrer(worst, 10_000 + i), i }));
    return request(agent, server.url, 'POST', '/v1/decide', { headers: server.auth, body, timeoutMs }).then((r) => ({ ...r, requestBytes: Buffer.byteLength(body) }));
  };
  /** `count` requests one after the other, with /healthz probes meanwhile. */
  const phase = async (count, send) => {
    const cpu0 = cpuSecondsOf(server.pid);
    const probe = healthProbe(server.url, o.healthzEveryMs, timeoutMs);
    const times = [];
    const statuses = {};
    let last = null;
    let requestBytes = 0;
    // At least `count` requests, and for at least phaseSeconds (so that enough probes go out while
    // requests are in flight), but no more than 10,000.
    const until = performance.now() + o.phaseSeconds * 1000;
    let i = 0;
    for (; i < count || (performance.now() < until && i < 10_000); i++) {
      last = await send(i);
      countInto(statuses, last.status);
      requestBytes = last.requestBytes;
      if (last.status) times.push(last.ms);
    }
    const health = await probe.stop();
    return { requests: i, requestBytes, statuses, answer: latency(times), serverCpuMsPerRequest: ((cpuSecondsOf(server.pid) - cpu0) * 1000) / i, health, last };
  };
  try {
    // Warm-up (JIT, caches, connections), not counted.
    for (let i = 0; i < 10; i++) {
      await pageView(false, 100_000 + i);
      await decision(false, 100_000 + i);
      await request(agent, server.url, 'GET', '/healthz');
    }
    const out = { labels: o.e2eLabels, pageView: {}, decide: {} };
    for (const [worst, name] of [[false, 'ordinary'], [true, 'worst']]) {
      const p = await phase(worst ? o.worstRequests : o.ordinaryRequests, (i) => pageView(worst, i));
      // What the server made of the last page view: its stored referral.
      const events = p.last.status === 200 ? await admin(server.url, 'GET', `/api/events?site=${server.site.id}&anonymousId=${p.last.anonymousId}&limit=1`).catch(() => null) : null;
      const { last, ...rest } = p;
      out.pageView[name] = { ...rest, answerBody: last.status === 200 ? undefined : last.text.slice(0, 300), storedReferral: shortReferral(events?.events?.[0]?.enrichment?.referral) };
      log(`worst-case referrer, page view, ${name}: answered in ${fmt(p.answer.p50, 1)} ms (max ${fmt(p.answer.maxMs, 1)}), /healthz meanwhile p50 ${fmt(p.health.p50, 1)} ms, max ${fmt(p.health.maxMs, 1)} ms; statuses ${JSON.stringify(p.statuses)}`);
    }
    for (const [worst, name] of [[false, 'ordinary'], [true, 'worst']]) {
      const p = await phase(worst ? o.worstRequests : o.ordinaryRequests, (i) => decision(worst, i));
      const { last, ...rest } = p;
      out.decide[name] = { ...rest, answerBody: last.status === 200 ? undefined : last.text.slice(0, 300) };
      log(`worst-case referrer, decide, ${name}: answered in ${fmt(p.answer.p50, 1)} ms (max ${fmt(p.answer.maxMs, 1)}), /healthz meanwhile max ${fmt(p.health.maxMs, 1)} ms; statuses ${JSON.stringify(p.statuses)}`);
    }
    return { inProcess, endToEnd: out };
  } finally {
    agent.destroy();
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------
// Finding 5: the batch's shared context copied into every message

async function contextCase(o, root) {
  const server = await startServer(root, 'context');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const stored = (anonymousId) =>
    readDb(server.db, (r) => r.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(LENGTH(CAST(data AS BLOB))), 0) AS bytes FROM events WHERE anonymous_id = ?').get(anonymousId));
  const send = async (body, anonymousId) => {
    const text = JSON.stringify(body);
    const requestBytes = Buffer.byteLength(text);
    const walEmpty = truncateWal(server.db);
    const r = await request(agent, server.url, 'POST', '/v1/batch', { headers: server.auth, body: text, timeoutMs: o.requestTimeoutSeconds * 1000 });
    const s = stored(anonymousId);
    // null when the checkpoint could not empty the WAL first.
    const wal = walEmpty ? walBytes(server.db) : null;
    return {
      requestBytes, messages: body.batch.length, sharedContextKeys: Object.keys(body.context ?? {}).length, ms: r.ms, ...collectAnswer(r, body.batch.length),
      storedEvents: s.rows, storedBytes: s.bytes, amplification: s.bytes / requestBytes, walBytes: wal, walAmplification: wal === null ? NaN : wal / requestBytes,
    };
  };
  try {
    // Warm-up: an ordinary batch, not counted.
    await send(ordinaryBatch({ anonymousId: 'ctx-warm', tag: 'warm', bytes: 20_000 }), 'ctx-warm');
    const runs = [];
    for (let r = 0; r < o.contextRuns; r++) {
      const shared = sharedContextBatch({ anonymousId: `ctx-shared-${r}`, tag: `cs${r}` });
      const bytes = Buffer.byteLength(JSON.stringify(shared));
      const ordinary = ordinaryBatch({ anonymousId: `ctx-ordinary-${r}`, tag: `co${r}`, bytes });
      runs.push({ ordinary: await send(ordinary, `ctx-ordinary-${r}`), sharedContext: await send(shared, `ctx-shared-${r}`) });
      const last = runs.at(-1);
      log(`worst-case context run ${r + 1}/${o.contextRuns}: shared context ${fmt(last.sharedContext.requestBytes)} B -> ${fmt(last.sharedContext.storedBytes)} B stored (${last.sharedContext.amplification.toFixed(1)}x, status ${last.sharedContext.status}, ${last.sharedContext.accepted} accepted, ${last.sharedContext.rejected} rejected); ordinary ${last.ordinary.amplification.toFixed(2)}x`);
    }
    const sum = (kind) => ({
      ...runs[0][kind],
      ms: summary(runs.map((x) => x[kind].ms)),
      amplification: summary(runs.map((x) => x[kind].amplification)),
      walAmplification: summary(runs.map((x) => x[kind].walAmplification)),
      statuses: runs.reduce((acc, x) => countInto(acc, x[kind].status), {}),
    });
    return { ordinary: sum('ordinary'), sharedContext: sum('sharedContext'), ratio: summary(runs.map((x) => x.sharedContext.amplification / x.ordinary.amplification)), runs };
  } finally {
    agent.destroy();
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------
// Finding 6: per-profile state without bounds

async function profileCase(o, root) {
  const server = await startServer(root, 'profile');
  const timeoutMs = o.requestTimeoutSeconds * 1000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.writers + 4 });
  const post = (pathname, body) => request(agent, server.url, 'POST', pathname, { headers: server.auth, body, timeoutMs });
  const problems = [];
  const BIG = 'flood-visitor';
  const ORDINARY = 'steady-visitor';
  let nextUnique = 0;
  let nextOrdinary = 0;
  const tag = Date.now().toString(36);
  try {
    let catalog = null;
    try {
      catalog = await ensureCatalog(server.url, server.site.id);
    } catch (error) {
      problems.push(`catalog: ${String(error.message ?? error).slice(0, 200)}`);
    }
    // Other visitors with ordinary histories, whose decisions are timed under load.
    const seed = batchFactory({ visitors: o.others, returning: 1, seed: 61 });
    await pool(4, o.others * 2, () => post('/v1/batch', seed()));

    // The big profile and the ordinary one, batch by batch, one at a time.
    const grow = async (anonymousId, nameOf, counter) => {
      const times = [];
      const statuses = {};
      const codes = {};
      let accepted = 0;
      const cpu0 = cpuSecondsOf(server.pid);
      const started = performance.now();
      for (let first = 0; first < o.names; first += o.namesPerBatch) {
        const count = Math.min(o.namesPerBatch, o.names - first);
        const r = await post('/v1/batch', JSON.stringify(trackBatch({ anonymousId, first: counter(count), count, nameOf, tag: `${tag}-g-${anonymousId}` })));
        const a = collectAnswer(r, count);
        countInto(statuses, r.status);
        for (const [code, n] of Object.entries(a.rejectedCodes)) codes[code] = (codes[code] ?? 0) + n;
        accepted += a.accepted;
        times.push(r.ms);
      }
      return { events: o.names, perBatch: o.namesPerBatch, seconds: (performance.now() - started) / 1000, serverCpuSeconds: cpuSecondsOf(server.pid) - cpu0, batch: latency(times), statuses, accepted, rejectedCodes: codes };
    };
    const takeUnique = (n) => ((nextUnique += n), nextUnique - n);
    const takeOrdinary = (n) => ((nextOrdinary += n), nextOrdinary - n);
    const growth = { ordinary: await grow(ORDINARY, ordinaryName, takeOrdinary) };
    log(`worst-case profile: ordinary profile grown by ${fmt(o.names)} events in ${fmt(growth.ordinary.seconds, 1)} s`);
    growth.uniqueNames = await grow(BIG, uniqueName, takeUnique);
    log(`worst-case profile: big profile grown by ${fmt(o.names)} unique names in ${fmt(growth.uniqueNames.seconds, 1)} s (batch p50 ${fmt(growth.uniqueNames.batch.p50, 1)} ms, max ${fmt(growth.uniqueNames.batch.maxMs, 1)}); statuses ${JSON.stringify(growth.uniqueNames.statuses)}`);

    // Sizes: the API's view, and the row in the database.
    const size = async (anonymousId) => {
      const events = await admin(server.url, 'GET', `/api/events?site=${server.site.id}&anonymousId=${anonymousId}&limit=1`);
      const id = events.events[0]?.profileId;
      if (!id) return { profileId: null };
      const r = await request(agent, server.url, 'GET', `/api/profiles/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, timeoutMs });
      const view = json(r.text);
      const row = readDb(server.db, (db) =>
        db.prepare('SELECT LENGTH(CAST(traits AS BLOB)) + LENGTH(CAST(trait_times AS BLOB)) + LENGTH(CAST(computed AS BLOB)) FROM profiles WHERE id = ?').pluck().get(id),
      );
      return {
        profileId: id, status: r.status, apiBytes: Buffer.byteLength(r.text), apiMs: r.ms, storedBytes: row ?? null,
        eventNamesKept: view?.computed?.events ? Object.keys(view.computed.events).length : null, dropped: view?.computed?.dropped ?? null,
      };
    };
    const sizes = { ordinary: await size(ORDINARY), uniqueNames: await size(BIG) };
    log(`worst-case profile: big profile ${fmt(sizes.uniqueNames.apiBytes)} B from the API (${fmt(sizes.uniqueNames.storedBytes)} B stored, ${fmt(sizes.uniqueNames.eventNamesKept)} names kept); ordinary ${fmt(sizes.ordinary.apiBytes)} B`);

    // Decisions for the two visitors themselves, at rest, interleaved.
    const self = { ordinary: [], uniqueNames: [] };
    const selfStatuses = { ordinary: {}, uniqueNames: {} };
    for (let i = 0; i < o.selfDecides + 2; i++) {
      for (const [name, anonymousId] of [['ordinary', ORDINARY], ['uniqueNames', BIG]]) {
        const r = await post('/v1/decide', JSON.stringify(decideBody({ anonymousId, referrer: `${SHOP}/`, i })));
        if (i < 2) continue; // warm-up
        countInto(selfStatuses[name], r.status);
        if (r.status) self[name].push(r.ms);
      }
    }
    const decideSelf = Object.fromEntries(Object.entries(self).map(([k, v]) => [k, { ...latency(v), statuses: selfStatuses[k] }]));
    log(`worst-case profile: decide for the big visitor p50 ${fmt(decideSelf.uniqueNames.p50, 2)} ms, for the ordinary one ${fmt(decideSelf.ordinary.p50, 2)} ms`);

    // Other visitors' decisions at a fixed rate while writers write to one profile.
    const decideTarget = { url: server.url, path: '/v1/decide', headers: server.auth, rate: o.decideRate, connections: 50, timeoutMs: 30_000 };
    await paced({ ...decideTarget, seconds: 1, body: decideFactory({ visitors: o.others, returning: 1, seed: 70 }) });
    const loadRun = async (variant, run) => {
      const anonymousId = variant === 'uniqueNames' ? BIG : ORDINARY;
      const nameOf = variant === 'uniqueNames' ? uniqueName : ordinaryName;
      const take = variant === 'uniqueNames' ? takeUnique : takeOrdinary;
      const writerTimes = [];
      const writerStatuses = {};
      const cpu0 = cpuSecondsOf(server.pid);
      const deadline = performance.now() + o.loadSeconds * 1000;
      const writer = async () => {
        while (performance.now() < deadline) {
          const r = await post('/v1/batch', JSON.stringify(trackBatch({ anonymousId, first: take(o.writerBatch), count: o.writerBatch, nameOf, tag: `${tag}-l-${anonymousId}` })));
          countInto(writerStatuses, r.status);
          writerTimes.push(r.ms);
        }
      };
      const [decisions] = await Promise.all([
        paced({ ...decideTarget, seconds: o.loadSeconds, body: decideFactory({ visitors: o.others, returning: 1, seed: 80 + run }) }),
        ...Array.from({ length: o.writers }, writer),
      ]);
      const result = {
        decide: { p50: decisions.p50, p99: decisions.p99, maxMs: decisions.maxMs, okPerSec: decisions.okPerSec, non2xx: decisions.non2xx, errors: decisions.errors },
        writers: { batches: writerTimes.length, batchesPerSec: writerTimes.length / o.loadSeconds, ...latency(writerTimes), statuses: writerStatuses },
        serverCpuCores: (cpuSecondsOf(server.pid) - cpu0) / o.loadSeconds,
      };
      log(`worst-case profile load run ${run + 1}/${o.loadRuns}, ${variant} writers: others' decide p50 ${fmt(result.decide.p50, 2)} ms, p99 ${fmt(result.decide.p99, 2)}, max ${fmt(result.decide.maxMs, 1)}; writers ${fmt(result.writers.batchesPerSec, 1)} batches/s`);
      return result;
    };
    const runs = [];
    for (let run = 0; run < o.loadRuns; run++) runs.push({ ordinary: await loadRun('ordinary', run), uniqueNames: await loadRun('uniqueNames', run) });
    const sumLoad = (variant) => ({
      decideP50: summary(runs.map((x) => x[variant].decide.p50)),
      decideP99: summary(runs.map((x) => x[variant].decide.p99)),
      decideMax: summary(runs.map((x) => x[variant].decide.maxMs)),
      writerBatchesPerSec: summary(runs.map((x) => x[variant].writers.batchesPerSec)),
      serverCpuCores: summary(runs.map((x) => x[variant].serverCpuCores)),
    });
    const load = {
      ordinary: sumLoad('ordinary'),
      uniqueNames: sumLoad('uniqueNames'),
      ratioP50: summary(runs.map((x) => x.uniqueNames.decide.p50 / x.ordinary.decide.p50)),
      ratioP99: summary(runs.map((x) => x.uniqueNames.decide.p99 / x.ordinary.decide.p99)),
      ratioMax: summary(runs.map((x) => x.uniqueNames.decide.maxMs / x.ordinary.decide.maxMs)),
      runs,
    };
    const after = { ordinary: await size(ORDINARY), uniqueNames: await size(BIG) };
    return { catalog, growth, sizes, decideSelf, load, sizesAfterLoad: after, problems };
  } finally {
    agent.destroy();
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------

/** The three cases on the built server of `serverRoot`; the result goes to bench/results/worst-case.json. */
export async function runWorstCase(options = {}) {
  const o = { ...FULL, ...options };
  const serverRoot = path.resolve(o.serverRoot ?? ROOT);
  const cases = o.cases ?? CASES;
  if (o.build !== false) buildServer(serverRoot);
  const server = describeRoot(serverRoot);
  log(`worst-case: measuring ${serverRoot} at ${server.commit?.slice(0, 7) ?? 'an unknown commit'}${server.changedFiles.length ? ` with ${server.changedFiles.length} changed files in packages/` : ''}`);
  const started = Date.now();
  const { serverRoot: _r, cases: _c, build: _b, ...settings } = o;
  const result = { settings, cases, server, node: process.version, cores: os.cpus().length, loadAverageAtStart: os.loadavg(), problems: [] };
  for (const name of cases) {
    const t = Date.now();
    try {
      result[name] = await { referrer: referrerCase, context: contextCase, profile: profileCase }[name](o, serverRoot);
      result[name].seconds = (Date.now() - t) / 1000;
      if (result[name].problems?.length) result.problems.push(...result[name].problems.map((p) => `${name}: ${p}`));
    } catch (error) {
      result[name] = { error: String(error.stack ?? error).slice(0, 2000), seconds: (Date.now() - t) / 1000 };
      result.problems.push(`${name}: ${String(error.message ?? error).slice(0, 300)}`);
      log(`worst-case ${name} failed: ${error.message ?? error}`);
    }
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/** The summary lines of a result (what the script prints at the end). */
export function worstCaseLines(w) {
  const lines = [`server: ${w.server.root} at ${w.server.commit} (${w.server.subject})`];
  const r = w.referrer;
  if (r?.inProcess) {
    for (const [k, v] of Object.entries(r.inProcess)) lines.push(`referrer ${k}: ${v.timedOut ? `> ${v.limitMs / 1000} s` : v.error ? 'failed' : `${v.medianMs.toFixed(4)} ms`} per parse`);
    const e = r.endToEnd;
    lines.push(`page view with ${e.labels} labels: ${fmt(e.pageView.worst.answer.p50, 1)} ms (ordinary ${fmt(e.pageView.ordinary.answer.p50, 1)} ms); /healthz max meanwhile ${fmt(e.pageView.worst.health.maxMs, 1)} ms (ordinary ${fmt(e.pageView.ordinary.health.maxMs, 1)} ms)`);
    lines.push(`decide with ${e.labels} labels: ${fmt(e.decide.worst.answer.p50, 1)} ms (ordinary ${fmt(e.decide.ordinary.answer.p50, 1)} ms)`);
  }
  const c = w.context;
  if (c?.sharedContext) lines.push(`shared context: ${c.sharedContext.amplification.median.toFixed(1)}x stored per request byte, status ${Object.keys(c.sharedContext.statuses).join('/')} (ordinary ${c.ordinary.amplification.median.toFixed(2)}x)`);
  const p = w.profile;
  if (p?.sizes) {
    lines.push(`profile after ${fmt(p.growth.uniqueNames.events)} unique names: ${fmt(p.sizes.uniqueNames.apiBytes)} B (ordinary ${fmt(p.sizes.ordinary.apiBytes)} B); its decide ${fmt(p.decideSelf.uniqueNames.p50, 2)} ms (ordinary ${fmt(p.decideSelf.ordinary.p50, 2)} ms)`);
    lines.push(`others' decide under unique-name writers: p50 ${fmt(p.load.uniqueNames.decideP50.median, 2)} ms, p99 ${fmt(p.load.uniqueNames.decideP99.median, 2)}, max ${fmt(p.load.uniqueNames.decideMax.median, 1)} (ordinary writers: ${fmt(p.load.ordinary.decideP50.median, 2)}, ${fmt(p.load.ordinary.decideP99.median, 2)}, ${fmt(p.load.ordinary.decideMax.median, 1)})`);
  }
  lines.push(`took ${fmt(w.seconds, 1)} s`);
  return lines;
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const wrong = Object.keys(args).filter((k) => !['quick', 'server-root', 'no-build', 'cases', 'out'].includes(k));
  const cases = args.cases ? String(args.cases).split(',') : CASES;
  if (wrong.length || cases.some((c) => !CASES.includes(c))) {
    console.error(`worst-case: unknown option or case (${[...wrong, ...cases.filter((c) => !CASES.includes(c))].join(', ')})\n` +
      'usage: node bench/worst-case.mjs [--quick] [--server-root DIR] [--no-build] [--cases referrer,context,profile] [--out NAME]');
    process.exit(2);
  }
  // A quick self-check must not overwrite the full run's results.
  if (args.quick) setResultsDir(path.join(RESULTS_DIR, 'quick'));
  const result = await runWorstCase({ ...(args.quick ? { ...QUICK, quick: true } : {}), serverRoot: args['server-root'], build: !args['no-build'], cases });
  report(typeof args.out === 'string' ? args.out : 'worst-case', result, worstCaseLines(result));
}
