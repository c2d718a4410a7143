#!/usr/bin/env node
// Benchmark 5b, the SDK against its peers in one browser run.
//
// One headless Chromium; each SDK in a fresh browser context (a fresh profile: no cache, no
// storage) per page, the SDKs taking turns, `--pages` pages each. Every page comes from one local
// stub server (127.0.0.1) that also plays each SDK's backend: it answers Segment's settings,
// RudderStack's source config, PostHog's flags and every collect call at once, and counts the
// benchmark's events it receives per page (the bodies decoded: gzip, base64 form or JSON).
//
// Every script is inlined in the page, minified by terser with the settings of our own build
// (as the sizes table does), so no SDK pays a download and each pays parsing and compiling:
//   <script>observer of long tasks; t0</script> <script>the SDK</script> <script>t1</script>
//   <script>the SDK's start as its snippet does it (load, init, first page view); t2</script>
// Figures, per SDK:
//   - evaluation: t2 − t0, the script evaluated and started (Rapport starts itself as it is
//     evaluated: its script tag has no separate init call); what a loading page waits for;
//   - start-up: Chrome's TaskDuration (CDP Performance metrics, the main thread's busy time) from
//     before the navigation until the SDK is ready and 500 ms have passed, less the same for the
//     page without an SDK: everything the SDK did to start, including what it deferred (Segment
//     fetches its settings first and starts after), its first page view and its delivery;
//   - main-thread time of 20 `track()` calls and their delivery: TaskDuration from before the calls until the stub has received all 20 events
//     (`--rounds` rounds a page, median);
//   - the p50 of one `track()` call: each call timed on its own in a cross-origin-isolated page
//     (COOP + COEP, so performance.now() has 5 µs resolution); what the host page's code waits
//     for, work an SDK defers to later tasks counts in the figure above;
//   - long tasks (≥ 50 ms, PerformanceObserver, buffered from before the script) over the whole
//     page: load, start and every round.
// Delivery as each SDK does it by default: Rapport batches and is flushed (`flush()`), Segment
// and RudderStack send each event on its own, PostHog batches on a timer, set to its minimum of
// 250 ms (`request_queue_config.flush_interval_ms`; the default 3 s would only make the rounds
// longer, not the work different). PostHog also gets `opt_out_useragent_filter`, without which it
// drops every event of a headless or automated browser as a bot's, and a `rate_limiting` above
// the rounds' pace (its default, 10 events/s with bursts of 100, drops events after five rounds).
// PEERS_DEBUG=1 logs every request the stub gets and every console message of the pages.
//
//   node bench/sdk-peers.mjs [--pages 5] [--rounds 10]

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { minify } from 'terser';
import { ROOT, ensureBuilt } from './lib/server.mjs';
import { isMain, log, parseArgs, percentile, writeResult } from './lib/stats.mjs';

const EVENT = 'Bench Peer Event';
const WRITE_KEY = 'wk_bench_peers';
const PROPS = { product_id: 'p-00123', category: 'backpacks', name: 'Trail Runner 45', price: 129.9, currency: 'EUR' };
const TERSER = { compress: { passes: 2 }, format: { comments: false } };

function packageFile(pkg, file) {
  for (const base of [path.join(ROOT, 'bench', 'node_modules'), path.join(ROOT, 'node_modules')]) {
    const dir = path.join(base, pkg);
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      return { file: path.join(dir, file), version: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version };
    }
  }
  throw new Error(`${pkg} is not installed: run npm install`);
}

/**
 * Each SDK: its file, how its snippet starts it (`start(api)`, api being this page's backend
 * prefix on the stub), how the page knows it is ready, one tracked event, and its flush.
 */
const SDKS = [
  {
    name: 'Rapport',
    pkg: '@rapport/sdk',
    file: () => ({ file: path.join(ROOT, 'packages/sdk/dist/sdk.js'), version: JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/sdk/package.json'), 'utf8')).version }),
    attrs: (api) => `data-write-key="${WRITE_KEY}" data-host="${api}"`,
    before: () => '',
    start: () => '',
    ready: 'new Promise((r) => window.rapport.ready(r))',
    track: 'window.rapport.track(name, props)',
    flush: 'window.rapport.flush()',
  },
  {
    name: 'Segment analytics.js',
    pkg: '@segment/analytics-next',
    file: () => packageFile('@segment/analytics-next', 'dist/umd/standalone.js'),
    attrs: () => '',
    // The snippet's stand-in: the write key, and the CDN (settings, lazy chunks) on the stub.
    before: (api) => `window.analytics = []; window.analytics._writeKey = ${JSON.stringify(WRITE_KEY)}; window.analytics._cdn = ${JSON.stringify(api)}; window.analytics.push(['page']);`,
    start: () => '',
    ready: `new Promise((resolve) => { const wait = () => (window.analytics && !Array.isArray(window.analytics) && typeof window.analytics.ready === 'function' ? window.analytics.ready(resolve) : setTimeout(wait, 5)); wait(); })`,
    track: 'window.analytics.track(name, props)',
    flush: '',
  },
  {
    name: 'PostHog',
    pkg: 'posthog-js',
    file: () => packageFile('posthog-js', 'dist/array.js'),
    attrs: () => '',
    before: () => '',
    start: (api) => `window.posthog.init(${JSON.stringify(WRITE_KEY)}, { api_host: ${JSON.stringify(api)}, request_queue_config: { flush_interval_ms: 250 }, rate_limiting: { events_per_second: 1000, events_burst_limit: 10000 }, opt_out_useragent_filter: true, debug: !!window.__debug });`,
    ready: `new Promise((resolve) => { const wait = () => (window.posthog.__loaded ? resolve() : setTimeout(wait, 5)); wait(); })`,
    track: 'window.posthog.capture(name, props)',
    flush: '',
  },
  {
    name: 'RudderStack',
    pkg: '@rudderstack/analytics-js',
    // The npm package's UMD build with its plugins inside (the script-tag rsa.min.js is on their
    // CDN only, and its plugins come from that CDN at run time).
    file: () => packageFile('@rudderstack/analytics-js', 'dist/npm/modern/bundled/umd/index.js'),
    attrs: () => '',
    before: () => '',
    start: (api) => `window.rudder = new window.rudderanalytics.RudderAnalytics(); window.rudder.load(${JSON.stringify(WRITE_KEY)}, ${JSON.stringify(api)}, { configUrl: ${JSON.stringify(api)} }); window.rudder.page();`,
    ready: 'new Promise((resolve) => window.rudder.ready(resolve))',
    track: 'window.rudder.track(name, props)',
    flush: '',
  },
];

/** The same page without an SDK: its start-up time is taken off each SDK's. */
const BLANK = { name: 'no SDK', attrs: () => '', before: () => '', start: () => '', ready: 'Promise.resolve()', track: '0', flush: '' };

/** What RudderStack's control plane answers for a source without device-mode destinations. */
const RUDDER_SOURCE = JSON.stringify({
  isHosted: false,
  source: { id: 'bench-source', name: 'Bench', writeKey: WRITE_KEY, enabled: true, workspaceId: 'bench-workspace', config: {}, destinations: [] },
});

/** Occurrences of the benchmark's event name in a collect body, whatever its encoding. */
export function countEvents(body, url) {
  let text;
  try {
    text = body[0] === 0x1f && body[1] === 0x8b ? zlib.gunzipSync(body).toString() : body.toString();
  } catch {
    return 0;
  }
  if (text.startsWith('data=')) {
    try {
      text = Buffer.from(decodeURIComponent(new URLSearchParams(text).get('data') ?? ''), 'base64').toString();
    } catch {}
  } else if (/compression=base64/.test(url)) {
    text = Buffer.from(text, 'base64').toString();
  }
  return text.split(EVENT).length - 1;
}

function pageHtml(sdk, source, api) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,">
<script>window.__debug = ${!!process.env.PEERS_DEBUG}; window.__longTasks = []; try { new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true }); } catch {} ${sdk.before(api)} window.__t0 = performance.now();</script>
<script ${sdk.attrs(api)}>${source}</script>
<script>window.__t1 = performance.now(); ${sdk.start(api)} window.__t2 = performance.now();</script>
</head><body><h1>Trail shoes</h1><div data-rapport-slot="home-hero">Default hero</div><a href="#x">link</a></body></html>`;
}

async function stubServer(sources) {
  const pages = new Map(); // page id → { sdk, events, other }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://stub');
    const page = /^\/page\/(\d+)$/.exec(url.pathname);
    if (page) {
      const p = pages.get(page[1]);
      if (!p) return res.writeHead(404).end();
      return res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store' })
        .end(pageHtml(p.sdk, sources.get(p.sdk.name), `${p.origin}/s/${page[1]}`));
    }
    const scoped = /^\/s\/(\d+)(\/.*)$/.exec(url.pathname);
    const p = scoped && pages.get(scoped[1]);
    if (!p) return res.writeHead(404).end();
    const rest = scoped[2];
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      p.requests++;
      if (process.env.PEERS_DEBUG) console.error(p.sdk.name, req.method, req.url, body.length);
      p.events += countEvents(body, req.url);
      const json = (value) => res.writeHead(200, { 'content-type': 'application/json', 'cross-origin-resource-policy': 'same-origin' }).end(typeof value === 'string' ? value : JSON.stringify(value));
      if (rest.startsWith('/analytics-next/bundles/')) {
        const file = path.join(path.dirname(packageFile('@segment/analytics-next', 'dist/umd/standalone.js').file), path.basename(rest));
        if (fs.existsSync(file)) return res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(file));
        return res.writeHead(404).end();
      }
      if (rest.startsWith('/v1/projects/')) return json({ integrations: { 'Segment.io': { apiKey: WRITE_KEY, apiHost: `${p.host}/s/${scoped[1]}/v1`, protocol: 'http' } } });
      if (rest.startsWith('/sourceConfig')) return json(RUDDER_SOURCE);
      if (rest.startsWith('/array/') && !rest.endsWith('.js')) return json({}); // PostHog's remote config: nothing enabled
      if (rest === '/v1/decide') return json({ slots: { 'home-hero': null } });
      if (req.method === 'GET' && rest.endsWith('.js')) return res.writeHead(404).end();
      // Every collect call (Rapport's batch, Segment's /v1/t, RudderStack's /v1/track, PostHog's
      // /e/) and PostHog's flags: a success at once.
      return json(rest.startsWith('/flags') || rest.startsWith('/decide') ? { featureFlags: {}, flags: {} } : { success: true, status: 1 });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${server.address().port}`;
  let next = 0;
  return {
    open(sdk) {
      const id = String(++next);
      const p = { sdk, events: 0, requests: 0, host, origin: `http://${host}` };
      pages.set(id, p);
      return { url: `http://${host}/page/${id}`, state: p };
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

async function until(check, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`sdk-peers: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function measurePage(browser, stub, sdk, rounds) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const errors = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    if (process.env.PEERS_DEBUG) tab.on('console', (m) => console.error(sdk.name, 'console', m.text().slice(0, 300)));
    const cdp = await context.newCDPSession(tab);
    await cdp.send('Performance.enable');
    const taskSeconds = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;
    const { url, state } = stub.open(sdk);
    const loading = await taskSeconds();
    await tab.goto(url);
    const start = await tab.evaluate(() => ({ evalMs: window.__t1 - window.__t0, startMs: window.__t2 - window.__t0, isolated: window.crossOriginIsolated }));
    await tab.evaluate(`${sdk.ready}.then(() => true)`);
    // Let start-up traffic (page view, settings, flags, lazy chunks) settle before the rounds.
    await new Promise((r) => setTimeout(r, 500));
    const startUpMs = ((await taskSeconds()) - loading) * 1000;
    const trackUs = [];
    const mainThreadMs = [];
    for (let round = 0; round < rounds; round++) {
      const expected = state.events + 20;
      const before = await taskSeconds();
      const times = await tab.evaluate(
        `(() => { const name = ${JSON.stringify(EVENT)}; const props = ${JSON.stringify(PROPS)}; const times = [];
          for (let i = 0; i < 20; i++) { const t = performance.now(); ${sdk.track}; times.push(performance.now() - t); }
          ${sdk.flush}; return times; })()`,
      );
      await until(() => state.events >= expected, 15_000, `${sdk.name}'s 20 events`);
      mainThreadMs.push(((await taskSeconds()) - before) * 1000);
      trackUs.push(...times.map((ms) => ms * 1000));
    }
    const longTasks = await tab.evaluate(() => window.__longTasks);
    if (errors.length) throw new Error(`sdk-peers: ${sdk.name} threw in the page: ${errors.join('; ')}`);
    return { ...start, startUpMs, trackUs, mainThreadMs: percentile(mainThreadMs, 50), longTasks: longTasks.length, longTaskMs: longTasks.reduce((a, b) => a + b, 0), requests: state.requests, events: state.events };
  } finally {
    await context.close();
  }
}

/** Ours against the best peer: a ratio below 1 is lower than all of them. */
function against(ours, peers, { zeroIsBest = false } = {}) {
  const best = Math.min(...peers);
  const ratio = best > 0 ? ours / best : ours > 0 ? Infinity : zeroIsBest ? 0 : 1;
  return { ours, bestPeer: best, ratio, met: ours < best || (ours === 0 && best === 0) };
}

export async function runSdkPeers({ pages = 5, rounds = 10 } = {}) {
  ensureBuilt({ log });
  const sources = new Map([[BLANK.name, '']]);
  const versions = {};
  for (const sdk of SDKS) {
    const { file, version } = sdk.file();
    versions[sdk.name] = { package: sdk.pkg, version, file: path.relative(ROOT, file) };
    // Minified as the sizes table does, and made safe to inline.
    sources.set(sdk.name, (await minify(fs.readFileSync(file, 'utf8'), TERSER)).code.replace(/<\/script/gi, '<\\/script'));
  }
  const { chromium } = await import('playwright-core');
  const stub = await stubServer(sources);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: false, // the mode comes from --headless=new below
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const chromiumVersion = browser.version();
  const perSdk = new Map(SDKS.map((s) => [s.name, []]));
  const blank = [];
  try {
    // A warm-up page each (the browser's own first-use costs), not counted.
    for (const sdk of SDKS) await measurePage(browser, stub, sdk, 1);
    for (let i = 1; i <= pages; i++) {
      log(`sdk-peers: page ${i}/${pages} of each SDK`);
      for (const sdk of SDKS) perSdk.get(sdk.name).push(await measurePage(browser, stub, sdk, rounds));
      blank.push(await measurePage(browser, stub, BLANK, 0));
    }
  } finally {
    await browser.close();
    await stub.close();
  }
  const blankStartUpMs = percentile(blank.map((r) => r.startUpMs), 50);
  const rows = SDKS.map((sdk) => {
    const runs = perSdk.get(sdk.name);
    return {
      name: sdk.name,
      ...versions[sdk.name],
      evalMs: percentile(runs.map((r) => r.startMs), 50),
      parseEvalMs: percentile(runs.map((r) => r.evalMs), 50),
      startUpMs: Math.max(0, percentile(runs.map((r) => r.startUpMs), 50) - blankStartUpMs),
      mainThreadMs: percentile(runs.map((r) => r.mainThreadMs), 50),
      trackUsP50: percentile(runs.flatMap((r) => r.trackUs), 50),
      trackUsP99: percentile(runs.flatMap((r) => r.trackUs), 99),
      longTasks: percentile(runs.map((r) => r.longTasks), 50),
      longTaskMs: percentile(runs.map((r) => r.longTaskMs), 50),
      isolated: runs.every((r) => r.isolated),
    };
  });
  const [ours, ...peers] = rows;
  const figures = {
    evalMs: against(ours.evalMs, peers.map((p) => p.evalMs)),
    startUpMs: against(ours.startUpMs, peers.map((p) => p.startUpMs)),
    mainThreadMs: against(ours.mainThreadMs, peers.map((p) => p.mainThreadMs)),
    trackUsP50: against(ours.trackUsP50, peers.map((p) => p.trackUsP50)),
    longTaskMs: against(ours.longTaskMs, peers.map((p) => p.longTaskMs), { zeroIsBest: true }),
  };
  return { pages, rounds, chromium: chromiumVersion, blankStartUpMs, rows, figures, met: Object.values(figures).every((f) => f.met) };
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const result = await runSdkPeers({ pages: Number(args.pages ?? 5), rounds: Number(args.rounds ?? 10) });
  writeResult('sdk-peers', result);
  for (const r of result.rows) {
    console.log(`${r.name.padEnd(22)} eval ${r.evalMs.toFixed(2)} ms  start-up ${r.startUpMs.toFixed(1)} ms  20 tracks + delivery ${r.mainThreadMs.toFixed(2)} ms  track p50 ${r.trackUsP50.toFixed(1)} µs  long tasks ${r.longTasks} (${r.longTaskMs.toFixed(0)} ms)`);
  }
  for (const [k, f] of Object.entries(result.figures)) console.log(`${k}: ratio ${f.ratio.toFixed(2)} to the best peer: ${f.met ? 'met' : 'missed'}`);
}
