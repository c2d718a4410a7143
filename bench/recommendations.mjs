#!/usr/bin/env node
// Benchmark 10, recommendations: the models of packages/server/src/recommendations/models/ on a
// simulated shop with planted structure (bench/lib/shop-generator.mjs: taste clusters, planted
// complementary pairs, consumables bought again; its header documents every parameter), in three
// parts:
//   1. offline quality, with a time split: the built ModelTrainer learns from days 0–99 of 50,000
//      people (about 100,000 orders); each strategy is asked what a person or a product page would
//      be shown, and the answers are scored against what happened on days 100–119:
//      - for-you, trending and a popularity baseline (the 10 most bought products of the training
//        days, site-wide, less what the person already bought, the same exclusion as for-you;
//        also without that exclusion): for each person with a training interaction and a test
//        purchase, 10 products (history: their training interactions, newest first); hit rate@10
//        (share of people with a test-purchased product among the 10) and NDCG@10 (binary: the
//        products they bought after the split are relevant);
//      - bought-together: each planted pair A → B, is B in A's top 5 (recall of the planted pairs);
//        then each test order of 2 or more products, its first product as the query and the others
//        relevant, hit rate@10 and NDCG@10, beside the most bought products (less the query);
//      - viewed-together: each test session of 2 or more distinct viewed products, the first as the
//        query and the others relevant, beside the most viewed products (less the query);
//   2. training time at 1,000,000 orders: in a child process of its own (so that its peak RSS is
//      training's, not this process's evaluation data), a generated stream with 1M orders (and
//      the views, carts and lines of the same shop: about 11 interactions an order) goes day by day
//      into ModelTrainer.add, never held whole; seconds in add() + finish(), interactions/s,
//      peak RSS (process.memoryUsage().rss after every day and around finish(), and /proc's VmHWM),
//      the serialized model's size;
//   3. serving: the built server (`rapport serve`, a fresh SQLite database), a site made through the
//      admin API, the training events of the first 5,000 people sent through `POST /v1/batch`
//      (batches of 500 with the site secret), `POST /api/recommendations/train`, then
//      `POST /v1/recommendations` (write key, 10 items) paced at 1,000 requests/s (lib/paced.mjs,
//      open loop) for 10 s a run, 3 runs, with mixed strategies: 40% for-you, 25% bought-together
//      (half of them on a planted A), 20% viewed-together, 15% trending, each for a random person of
//      the 5,000 (by anonymous id; some have no training events, as new visitors do); then one
//      more run of 5 s under --cpu-prof (not counted) for where the time goes.
// Targets: bought-together finds ≥ 90% of the planted pairs in its top 5; for-you hit rate@10 ≥ 2×
// the popularity baseline's; serving p99 < 5 ms at 1,000 requests/s (a shared 2-core machine: the
// load generator runs beside the server). The models are not tuned here: a missed target is
// reported as missed.
//
//   node bench/recommendations.mjs [--quick] [--people 50000] [--stream-orders 1000000]
//                                  [--serve-people 5000] [--runs 3] [--seconds 10] [--rate 1000]
//                                  [--seed N]

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { newestProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { client } from './lib/http.mjs';
import { paced } from './lib/paced.mjs';
import { basicAuth } from './lib/payloads.mjs';
import { admin, cpuSecondsOf, ensureBuilt, memoryOf, ROOT, startRapport } from './lib/server.mjs';
import { DAY_MS, evaluationData, generate, hash, makeShop, rng } from './lib/shop-generator.mjs';
import { fmt, isMain, log, mmm, parseArgs, percentile, report, summarize } from './lib/stats.mjs';

export const RECOMMENDATION_TARGETS = { plantedRecallAt5: 0.9, forYouVsPopularity: 2, p99Ms: 5 };
const DATA_DIR = path.resolve(import.meta.dirname, '.data');
const K = 10;
const BATCH = 500;

/** The machine's busy and total CPU seconds so far, over all cores, from /proc/stat. */
function machineCpu() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / 100, total: (busy + idle + iowait) / 100 };
}

/** This process's CPU seconds so far (the load generator). */
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The built models (packages/server/dist), after the build. */
async function builtModels() {
  ensureBuilt({ log });
  return import(pathToFileURL(path.join(ROOT, 'packages/server/dist/recommendations/models/index.js')).href);
}

/** Hit (any relevant in the list) and NDCG with binary relevance, of one ranked list. */
function score(list, relevant, k = K) {
  let dcg = 0;
  let hit = 0;
  list.slice(0, k).forEach((id, i) => {
    if (relevant.has(id)) {
      hit = 1;
      dcg += 1 / Math.log2(i + 2);
    }
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return { hit, ndcg: ideal > 0 ? dcg / ideal : 0 };
}

/** Averages of `score` over cases, one accumulator per list being compared. */
class Scores {
  cases = 0;
  hits = 0;
  ndcg = 0;
  add(list, relevant) {
    const s = score(list, relevant);
    this.cases++;
    this.hits += s.hit;
    this.ndcg += s.ndcg;
  }
  toJSON() {
    return { cases: this.cases, hitRate: this.cases ? this.hits / this.cases : NaN, ndcg: this.cases ? this.ndcg / this.cases : NaN };
  }
}

/** Products by how often `kind` happened in the training interactions, most first. */
function mostOften(train, kind) {
  const counts = new Map();
  for (const e of train) if (e.kind === kind) counts.set(e.productId, (counts.get(e.productId) ?? 0) + 1);
  return [...counts].sort(([x, a], [y, b]) => b - a || (x < y ? -1 : 1)).map(([id]) => id);
}

/** The first `k` of `ranked` not in `excluded`. */
function topExcept(ranked, excluded, k = K) {
  const out = [];
  for (const id of ranked) {
    if (out.length === k) break;
    if (!excluded.has(id)) out.push(id);
  }
  return out;
}

/** Part 1: train on the days before the split, score every strategy on the days after it. */
export async function offline({ people, seed }) {
  const { ModelTrainer, recommend, serializeModel } = await builtModels();
  const shop = makeShop(seed === undefined ? {} : { seed });
  log(`recommendations: generating ${fmt(people)} people over ${shop.options.days} days (split at day ${shop.options.splitDay})`);
  let t = performance.now();
  const data = evaluationData(shop, { people });
  const generateSeconds = (performance.now() - t) / 1000;
  log(`  ${fmt(data.counts.interactions)} interactions, ${fmt(data.counts.orders)} orders (${fmt(data.counts.trainOrders)} before the split) in ${fmt(generateSeconds, 1)} s`);
  t = performance.now();
  const trainer = new ModelTrainer({ now: shop.splitAt });
  for (const e of data.train) trainer.add(e);
  const model = trainer.finish();
  const trainSeconds = (performance.now() - t) / 1000;
  log(`  trained on ${fmt(data.train.length)} interactions in ${fmt(trainSeconds, 1)} s`);

  const again = new Set(shop.consumableCategories);
  const base = { limit: K, isAvailable: () => true, boughtAgainCategories: shop.consumableCategories, now: shop.splitAt };
  const ask = (request) => recommend(model, { ...base, history: [], ...request }).map((x) => x.productId);
  const bought = mostOften(data.train, 'order');
  const viewed = mostOften(data.train, 'view');

  // for-you, trending and the popularity baseline, person by person.
  const perPerson = { forYou: new Scores(), trending: new Scores(), popularity: new Scores(), popularityUnfiltered: new Scores() };
  const categoryOf = new Map(shop.products.map((p) => [p.id, p.category]));
  const servedFrom = { similar: 0, fallback: 0 };
  t = performance.now();
  let asked = 0;
  for (let p = 0; p < people; p++) {
    const history = data.histories[p];
    const relevant = data.testPurchases[p];
    if (!history.length || !relevant) continue;
    const forYou = recommend(model, { ...base, strategy: 'for-you', history });
    for (const x of forYou) servedFrom[x.reason.kind === 'similar' ? 'similar' : 'fallback']++;
    perPerson.forYou.add(forYou.map((x) => x.productId), relevant);
    perPerson.trending.add(ask({ strategy: 'trending', history }), relevant);
    const owned = new Set(history.filter((e) => e.kind === 'order' && !again.has(categoryOf.get(e.productId))).map((e) => e.productId));
    perPerson.popularity.add(topExcept(bought, owned), relevant);
    perPerson.popularityUnfiltered.add(bought.slice(0, K), relevant);
    asked += 2;
  }

  // bought-together: the planted pairs, then test baskets.
  const pairCounts = plantedPairCounts(shop, data.train);
  let found = 0;
  let foundFirst = 0;
  let findable = 0;
  let foundFindable = 0;
  const missed = [];
  for (const pair of shop.pairs) {
    const list = ask({ strategy: 'bought-together', productId: pair.from, limit: 5 });
    asked++;
    const rank = list.indexOf(pair.to);
    const co = pairCounts.get(pair.from) ?? { withA: 0, both: 0 };
    const canBeFound = co.both >= 2;
    if (canBeFound) findable++;
    if (rank >= 0) {
      found++;
      if (rank === 0) foundFirst++;
      if (canBeFound) foundFindable++;
    } else if (missed.length < 20) missed.push({ from: pair.from, to: pair.to, ordersWithA: co.withA, ordersWithBoth: co.both, top5: list });
  }
  const baskets = { boughtTogether: new Scores(), popularity: new Scores() };
  for (const order of data.testOrders) {
    const items = [...new Set(order.items)];
    if (items.length < 2) continue;
    const [query, ...rest] = items;
    const relevant = new Set(rest);
    baskets.boughtTogether.add(ask({ strategy: 'bought-together', productId: query }), relevant);
    baskets.popularity.add(topExcept(bought, new Set([query])), relevant);
    asked++;
  }

  // viewed-together: test sessions.
  const sessions = { viewedTogether: new Scores(), popularity: new Scores() };
  for (const session of data.testSessions) {
    const views = [...new Set(session.views)];
    if (views.length < 2) continue;
    const [query, ...rest] = views;
    const relevant = new Set(rest);
    sessions.viewedTogether.add(ask({ strategy: 'viewed-together', productId: query }), relevant);
    sessions.popularity.add(topExcept(viewed, new Set([query])), relevant);
    asked++;
  }
  const scoreSeconds = (performance.now() - t) / 1000;

  const json = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.toJSON()]));
  const result = {
    shop: { ...shop.options, products: shop.products.length, pairs: shop.pairs.length, consumableCategories: shop.consumableCategories, splitAt: new Date(shop.splitAt).toISOString() },
    dataset: { ...data.counts, viewsPerOrderLine: data.counts.views / data.counts.orderLines, linesPerOrder: data.counts.orderLines / data.counts.orders },
    timings: { generateSeconds, trainSeconds, scoreSeconds, requests: asked, microsecondsPerRequest: (1e6 * scoreSeconds) / asked },
    model: { stats: model.stats, bytes: Buffer.byteLength(serializeModel(model)) },
    perPerson: json(perPerson),
    forYouSources: { ...servedFrom, similarShare: servedFrom.similar / (servedFrom.similar + servedFrom.fallback) },
    planted: { pairs: shop.pairs.length, found, foundFirst, recallAt5: found / shop.pairs.length, findable, foundFindable, missed },
    baskets: json(baskets),
    sessions: json(sessions),
  };
  return { result, shop, data };
}

/** For each planted A: training orders with A, and with A and its B. */
function plantedPairCounts(shop, train) {
  const partner = new Map(shop.pairs.map((p) => [p.from, p.to]));
  const orders = new Map();
  for (const e of train) {
    if (e.kind !== 'order') continue;
    let items = orders.get(e.orderId);
    if (!items) orders.set(e.orderId, (items = new Set()));
    items.add(e.productId);
  }
  const counts = new Map();
  for (const items of orders.values()) {
    for (const id of items) {
      const b = partner.get(id);
      if (!b) continue;
      const c = counts.get(id) ?? { withA: 0, both: 0 };
      c.withA++;
      if (items.has(b)) c.both++;
      counts.set(id, c);
    }
  }
  return counts;
}

/**
 * Part 2, in this process (the child): a stream of `people` people's interactions, day by day
 * into ModelTrainer.add; returns the timings, memory and model size.
 */
async function trainStreamHere({ people, seed }) {
  const { ModelTrainer, serializeModel } = await builtModels();
  const shop = makeShop(seed === undefined ? {} : { seed });
  const trainer = new ModelTrainer({ now: shop.options.start + shop.options.days * DAY_MS });
  const rss = { samples: 0, max: 0, beforeFirstDay: NaN };
  const sample = () => {
    const v = process.memoryUsage.rss();
    rss.samples++;
    if (v > rss.max) rss.max = v;
    return v;
  };
  sample();
  let addMs = 0;
  const started = performance.now();
  const counts = generate(shop, {
    people,
    onDay(events, day) {
      if (day === 0) rss.beforeFirstDay = sample();
      const t = performance.now();
      for (let i = 0; i < events.length; i++) {
        trainer.add(events[i]);
        if ((i & 65_535) === 65_535) sample();
      }
      addMs += performance.now() - t;
      sample();
      if (day % 20 === 19) process.stderr.write(`[stream] day ${day + 1}: ${fmt(trainer ? addMs / 1000 : 0, 1)} s in add(), RSS ${fmt(rss.max / 1e6)} MB\n`);
    },
  });
  const wallBeforeFinish = performance.now() - started;
  sample();
  const t = performance.now();
  const model = trainer.finish();
  const finishMs = performance.now() - t;
  const afterFinish = sample();
  const s = performance.now();
  const bytes = Buffer.byteLength(serializeModel(model));
  const serializeMs = performance.now() - s;
  sample();
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) * 1024;
  const trainSeconds = (addMs + finishMs) / 1000;
  return {
    people,
    counts,
    seconds: trainSeconds,
    addSeconds: addMs / 1000,
    finishSeconds: finishMs / 1000,
    generateSeconds: (wallBeforeFinish - addMs) / 1000,
    wallSeconds: (performance.now() - started) / 1000,
    interactionsPerSec: counts.interactions / trainSeconds,
    addInteractionsPerSec: counts.interactions / (addMs / 1000),
    peakRssMb: rss.max / 1e6,
    vmHwmMb: hwm / 1e6,
    rssBeforeFirstDayMb: rss.beforeFirstDay / 1e6,
    rssAfterFinishMb: afterFinish / 1e6,
    rssSamples: rss.samples,
    modelBytes: bytes,
    serializeSeconds: serializeMs / 1000,
    modelStats: model.stats,
  };
}

/** Part 2 from the parent: the stream in a child process; its JSON answer is the last line of its stdout. */
export function trainStream({ people, seed }) {
  const args = [import.meta.filename, '--stream-child', '--people', String(people), ...(seed === undefined ? [] : ['--seed', String(seed)])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the training stream exited with ${code}:\n${out.slice(-2000)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

/** The e-commerce messages of `events` (Interactions), as the SDK would send them; an order's lines make one Order Completed. */
function messagesOf(shop, events, offset) {
  const byId = new Map(shop.products.map((p) => [p.id, p]));
  const line = (id) => {
    const p = byId.get(id);
    return { product_id: p.id, name: p.name, price: p.price, category: p.category, url: `https://shop.example/p/${p.id}` };
  };
  const messages = [];
  const orders = new Map();
  for (const e of events) {
    const anonymousId = `anon-${e.profileId.slice(1)}`;
    const timestamp = new Date(e.at + offset).toISOString();
    if (e.kind === 'order') {
      const open = orders.get(e.orderId);
      if (open) {
        open.properties.products.push(line(e.productId));
        open.properties.revenue = Math.round(100 * (open.properties.revenue + byId.get(e.productId).price)) / 100;
        continue;
      }
      const m = { type: 'track', event: 'Order Completed', anonymousId, timestamp, properties: { order_id: e.orderId, revenue: byId.get(e.productId).price, currency: 'EUR', products: [line(e.productId)] } };
      orders.set(e.orderId, m);
      messages.push(m);
    } else {
      messages.push({ type: 'track', event: e.kind === 'view' ? 'Product Viewed' : 'Product Added', anonymousId, timestamp, properties: { ...line(e.productId), currency: 'EUR' } });
    }
  }
  messages.forEach((m, i) => (m.messageId = `rec-${i}`));
  return messages;
}

/** Sends `messages` through /v1/batch, `BATCH` a request, `inFlight` requests at a time. */
async function ingest(url, secret, messages, inFlight = 4) {
  let next = 0;
  let accepted = 0;
  let rejected = 0;
  const problems = [];
  const worker = async () => {
    for (;;) {
      const from = next;
      next += BATCH;
      if (from >= messages.length) return;
      const res = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch: messages.slice(from, from + BATCH) }),
      });
      const text = await res.text();
      if (res.status !== 200) {
        problems.push(`batch at ${from}: ${res.status} ${text.slice(0, 200)}`);
        continue;
      }
      const answer = JSON.parse(text);
      const size = Math.min(BATCH, messages.length - from);
      accepted += answer.accepted ?? size;
      rejected += answer.rejected?.length ?? 0;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { accepted, rejected, problems };
}

/** Request bodies for POST /v1/recommendations: mixed strategies, seeded. */
function requestFactory(shop, { people, seed }) {
  const r = rng(hash(seed, 0x5e7));
  const regular = shop.products.filter((p) => p.role === 'regular');
  return () => {
    const person = Math.floor(r() * people);
    const u = r();
    const body = { anonymousId: `anon-${person}`, limit: K };
    if (u < 0.4) body.strategy = 'for-you';
    else if (u < 0.65) {
      body.strategy = 'bought-together';
      body.productId = r() < 0.5 ? shop.pairs[Math.floor(r() * shop.pairs.length)].from : shop.products[shop.clusterSamplers[shop.clusterShare.draw(r())].draw(r())].id;
    } else if (u < 0.85) {
      body.strategy = 'viewed-together';
      body.productId = regular[Math.floor(r() * regular.length)].id;
    } else body.strategy = 'trending';
    return JSON.stringify(body);
  };
}

/** Part 3: the built server, the training events of `people` people, then paced recommendation requests. */
export async function serving({ shop, data, people, rate, seconds, runs, warmupSeconds, profileSeconds = 0, connections = 50 }) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const dir = fs.mkdtempSync(path.join(DATA_DIR, 'recommendations-'));
  const db = path.join(dir, 'rapport.db');
  let server = await startRapport(db);
  try {
    const site = await admin(server.url, 'POST', '/api/sites', {
      name: 'Recommendations bench',
      origins: [],
      requireUserHash: false,
      recommendations: { trainEveryMinutes: 0, boughtAgainCategories: shop.consumableCategories },
    });
    // The training days end at today's midnight (UTC): the server trains with its own clock.
    const offset = Math.floor(Date.now() / DAY_MS) * DAY_MS - shop.splitAt;
    const events = data.train.filter((e) => Number(e.profileId.slice(1)) < people);
    const messages = messagesOf(shop, events, offset);
    log(`recommendations: sending ${fmt(messages.length)} events (${fmt(events.length)} interactions of ${fmt(people)} people) through /v1/batch`);
    let t = performance.now();
    const sent = await ingest(server.url, site.secret, messages);
    const ingestSeconds = (performance.now() - t) / 1000;
    if (sent.problems.length) throw new Error(`ingest: ${sent.problems.slice(0, 3).join('; ')}`);
    t = performance.now();
    const trained = await admin(server.url, 'POST', `/api/recommendations/train?site=${site.id}`);
    const trainMs = performance.now() - t;
    log(`  ingested in ${fmt(ingestSeconds, 1)} s (${fmt(sent.accepted)} accepted, ${fmt(sent.rejected)} rejected); trained in ${fmt(trainMs)} ms: ${fmt(trained.stats.products)} products, ${fmt(trained.stats.orders)} orders`);

    // What each strategy answers, one request at a time (the first loads the model).
    const headers = { authorization: basicAuth(site.writeKey) };
    const http = client(server.url, { connections: 1 });
    const probe = requestFactory(shop, { people, seed: 7 });
    const answers = {};
    let firstMs = NaN;
    const probeProblems = [];
    for (let i = 0; i < 400; i++) {
      const body = probe();
      const res = await http.request('POST', '/v1/recommendations', { headers, body });
      if (i === 0) firstMs = res.ms;
      if (res.status !== 200) {
        probeProblems.push(`${res.status} ${res.text.slice(0, 200)}`);
        continue;
      }
      const strategy = JSON.parse(body).strategy;
      const a = (answers[strategy] ??= { requests: 0, nonEmpty: 0, items: 0, ms: [] });
      const items = JSON.parse(res.text).items.length;
      a.requests++;
      if (i > 0) a.ms.push(res.ms);
      a.items += items;
      if (items > 0) a.nonEmpty++;
    }
    http.close();
    log(`  one at a time: ${Object.entries(answers).map(([k, a]) => `${k} p50 ${fmt(percentile(a.ms, 50), 2)} ms`).join(', ')}`);
    if (probeProblems.length) throw new Error(`recommendations answered: ${probeProblems.slice(0, 3).join('; ')}`);
    for (const a of Object.values(answers)) {
      Object.assign(a, { nonEmptyShare: a.nonEmpty / a.requests, meanItems: a.items / a.requests, p50: percentile(a.ms, 50), p99: percentile(a.ms, 99) });
      delete a.ms;
    }

    const target = { url: server.url, path: '/v1/recommendations', headers, connections, rate };
    if (warmupSeconds > 0) await paced({ ...target, seconds: warmupSeconds, body: requestFactory(shop, { people, seed: 8 }) });
    const all = [];
    for (let i = 1; i <= runs; i++) {
      const cpu0 = cpuSecondsOf(server.pid);
      const own0 = ownCpu();
      const machine0 = machineCpu();
      const r = await paced({ ...target, seconds, body: requestFactory(shop, { people, seed: 10 + i }) });
      const machine1 = machineCpu();
      r.serverCpuCores = (cpuSecondsOf(server.pid) - cpu0) / r.seconds;
      r.loadGeneratorCores = (ownCpu() - own0) / r.seconds;
      // What else ran on the machine meanwhile: its busy time less the server's and the load generator's.
      r.machineCores = (machine1.total - machine0.total) / r.seconds;
      r.otherCores = Math.max(0, (machine1.busy - machine0.busy) / r.seconds - r.serverCpuCores - r.loadGeneratorCores);
      log(`  run ${i}/${runs} at ${fmt(rate)}/s: p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, max ${fmt(r.maxMs, 1)} ms, ${fmt(r.errors + r.non2xx)} failed; server ${fmt(r.serverCpuCores, 2)} cores, other processes ${fmt(r.otherCores, 2)}`);
      all.push(r);
    }
    const rssMb = memoryOf(server.pid).rssMb;
    // One more run under --cpu-prof (not counted): where a request's time goes.
    let profile = null;
    if (profileSeconds > 0) {
      log(`  profiling one more run at ${fmt(rate)}/s for ${profileSeconds} s (not counted)`);
      await server.stop();
      const profileDir = path.join(dir, 'profile');
      fs.mkdirSync(profileDir, { recursive: true });
      server = await startRapport(db, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
      await paced({ ...target, url: server.url, seconds: 1, body: requestFactory(shop, { people, seed: 9 }) });
      const run = await paced({ ...target, url: server.url, seconds: profileSeconds, body: requestFactory(shop, { people, seed: 30 }) });
      await server.stop();
      const file = newestProfile(profileDir);
      profile = file
        ? { run: { p50: run.p50, p99: run.p99, okPerSec: run.okPerSec }, summary: summarizeProfile(file, { top: 14, inclusive: ['recommend', 'history', 'getProducts', 'profileProductEvents', 'findProfile', 'readSiteRequest', 'readProductEvent', 'parseModel'] }) }
        : null;
    }
    return {
      profile,
      settings: { people, rate, seconds, runs, warmupSeconds, connections, limit: K, mix: { 'for-you': 0.4, 'bought-together': 0.25, 'viewed-together': 0.2, trending: 0.15 } },
      events: messages.length,
      interactions: events.length,
      accepted: sent.accepted,
      rejected: sent.rejected,
      ingestSeconds,
      trainMs,
      trained: { stats: trained.stats, observedProducts: trained.observedProducts },
      firstRequestMs: firstMs,
      answers,
      rssMb,
      fixed: summarize(all, ['okPerSec', 'p50', 'p90', 'p99', 'p999', 'maxMs', 'lagP99', 'serverCpuCores', 'loadGeneratorCores', 'otherCores']),
      failed: all.reduce((a, r) => a + r.errors + r.non2xx, 0),
      runs: all,
    };
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runRecommendations({ people = 50_000, streamOrders = 1_000_000, servePeople = 5_000, runs = 3, seconds = 10, warmupSeconds = 2, profileSeconds = 5, rate = 1000, quick = false, seed } = {}) {
  ensureBuilt({ log });
  const started = Date.now();
  const { result: quality, shop, data } = await offline({ people, seed });
  const ordersPerPerson = data.counts.orders / people;
  const streamPeople = Math.ceil(streamOrders / ordersPerPerson);
  log(`recommendations: training on a stream of ${fmt(streamPeople)} people (about ${fmt(streamOrders)} orders) in a child process`);
  const stream = await trainStream({ people: streamPeople, seed });
  log(`  ${fmt(stream.counts.interactions)} interactions, ${fmt(stream.counts.orders)} orders: ${fmt(stream.seconds, 1)} s of training, peak RSS ${fmt(stream.peakRssMb)} MB, model ${fmt(stream.modelBytes / 1e6, 1)} MB`);
  const serve = await serving({ shop, data, people: Math.min(servePeople, people), rate, seconds, runs, warmupSeconds, profileSeconds });

  const forYou = quality.perPerson.forYou.hitRate;
  const popularity = quality.perPerson.popularity.hitRate;
  const targets = {
    planted: { recallAt5: RECOMMENDATION_TARGETS.plantedRecallAt5, measured: quality.planted.recallAt5, met: quality.planted.recallAt5 >= RECOMMENDATION_TARGETS.plantedRecallAt5 },
    forYou: { ratio: RECOMMENDATION_TARGETS.forYouVsPopularity, measured: forYou / popularity, forYou, popularity, met: forYou >= RECOMMENDATION_TARGETS.forYouVsPopularity * popularity },
    p99: { ms: RECOMMENDATION_TARGETS.p99Ms, rate, measured: serve.fixed.p99.median, met: serve.fixed.p99.median < RECOMMENDATION_TARGETS.p99Ms && serve.failed === 0 },
  };
  const problems = [];
  if (serve.failed) problems.push(`${serve.failed} recommendation requests failed`);
  return {
    settings: { quick, people, streamOrders, streamPeople, servePeople: serve.settings.people, runs, seconds, rate },
    ...quality,
    stream,
    serving: serve,
    targets,
    problems,
    seconds: (Date.now() - started) / 1000,
  };
}

const pct = (v, d = 1) => `${fmt(100 * v, d)}%`;

if (isMain(import.meta)) {
  const args = parseArgs();
  if (args['stream-child']) {
    const result = await trainStreamHere({ people: Number(args.people), seed: args.seed === undefined ? undefined : Number(args.seed) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  const quick = !!args.quick;
  const result = await runRecommendations({
    quick,
    people: Number(args.people ?? (quick ? 5_000 : 50_000)),
    streamOrders: Number(args['stream-orders'] ?? (quick ? 50_000 : 1_000_000)),
    servePeople: Number(args['serve-people'] ?? (quick ? 500 : 5_000)),
    runs: Number(args.runs ?? (quick ? 1 : 3)),
    seconds: Number(args.seconds ?? (quick ? 3 : 10)),
    warmupSeconds: quick ? 1 : 2,
    profileSeconds: quick ? 0 : 5,
    rate: Number(args.rate ?? 1000),
    seed: args.seed === undefined ? undefined : Number(args.seed),
  });
  const q = result.perPerson;
  const t = result.targets;
  report('recommendations', result, [
    `\nfor-you hit rate@10 ${pct(q.forYou.hitRate)} (NDCG@10 ${fmt(q.forYou.ndcg, 3)}), trending ${pct(q.trending.hitRate)}, popularity ${pct(q.popularity.hitRate)} (${fmt(q.forYou.cases)} people): ${fmt(t.forYou.measured, 2)}× (target ≥ ${t.forYou.ratio}×: ${t.forYou.met ? 'met' : 'missed'})`,
    `bought-together: ${fmt(result.planted.found)} of ${fmt(result.planted.pairs)} planted pairs in the top 5 (target ≥ ${pct(t.planted.recallAt5, 0)}: ${t.planted.met ? 'met' : 'missed'}); test baskets hit rate@10 ${pct(result.baskets.boughtTogether.hitRate)}, NDCG@10 ${fmt(result.baskets.boughtTogether.ndcg, 3)}`,
    `viewed-together: test sessions hit rate@10 ${pct(result.sessions.viewedTogether.hitRate)}, NDCG@10 ${fmt(result.sessions.viewedTogether.ndcg, 3)} (most viewed: ${pct(result.sessions.popularity.hitRate)})`,
    `training at ${fmt(result.stream.counts.orders)} orders (${fmt(result.stream.counts.interactions)} interactions): ${fmt(result.stream.seconds, 1)} s, ${fmt(result.stream.interactionsPerSec)} interactions/s, peak RSS ${fmt(result.stream.peakRssMb)} MB, model ${fmt(result.stream.modelBytes / 1e6, 1)} MB`,
    `serving at ${fmt(result.settings.rate)}/s: p50 ${mmm(result.serving.fixed.p50, 2)} ms, p99 ${mmm(result.serving.fixed.p99, 2)} ms, max ${mmm(result.serving.fixed.maxMs, 1)} ms, ${fmt(result.serving.failed)} failed (target p99 < ${t.p99.ms} ms: ${t.p99.met ? 'met' : 'missed'})`,
  ]);
}
