#!/usr/bin/env node
// Benchmark 5, the browser SDK.
//
// Sizes: our script-tag build beside the script-tag bundles of the peers, all measured by the
// same code in the same run: the file as shipped, then minified by terser with the settings of
// our own build (rollup.config.mjs: compress passes 2, no comments; files shipped minified
// change little, files shipped unminified get the same treatment as ours), then gzip -9 and
// brotli -q 11 of that. Lazily loaded chunks or plugins of the peers are not counted; each row
// says what its file covers.
//
// Main-thread cost: headless Chromium (/usr/bin/chromium through playwright-core) loads a page
// with the script tag from a local stub server (127.0.0.1) that answers /v1/batch and
// /v1/decide at once. In the page: 19 `track()` calls timed together (so the timer's coarse
// resolution does not matter), then the 20th and `flush()` of the 20 queued events, timed until
// the flush's promise resolves; repeated 200 times. Chrome's own TaskDuration (CDP Performance
// metrics) gives the main thread's busy time over the whole loop.
//
// Then the SDK against its peers in the same Chromium: bench/sdk-peers.mjs.
//
//   node bench/sdk.mjs [--rounds 200] [--quick]

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { minify } from 'terser';
import { pathToFileURL } from 'node:url';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { DATA_DIR } from './lib/dataset.mjs';
import { ROOT, ensureBuilt } from './lib/server.mjs';
import { fmt, isMain, log, parseArgs, percentile, summary, writeResult } from './lib/stats.mjs';
import { runSdkPeers } from './sdk-peers.mjs';

export const SDK_BUDGET_BYTES = 6 * 1024;

const BUNDLES = [
  { name: 'Rapport', pkg: null, file: 'packages/sdk/dist/sdk.js', covers: 'everything: identity (cookie + user id), page views, clicks and forms, referral and campaign capture, batching with retries and beacons, consent and opt-out, personalized slots with impressions and clicks' },
  { name: 'Segment analytics.js', pkg: '@segment/analytics-next', file: 'dist/umd/standalone.js', covers: 'the bundle the analytics.js snippet loads: core API, queue, Segment.io delivery, plugin system; destinations and extra plugins come as further chunks at run time (not counted)' },
  { name: 'PostHog', pkg: 'posthog-js', file: 'dist/array.js', covers: 'what the PostHog snippet loads: capture, autocapture, feature flags, heatmaps, web vitals; session recording, surveys and other extensions are lazy-loaded (not counted)' },
  { name: 'PostHog, all extensions', pkg: 'posthog-js', file: 'dist/array.full.js', covers: 'the same with every extension bundled (session recording, surveys, ...)' },
  { name: 'RudderStack', pkg: '@rudderstack/analytics-js', file: 'dist/npm/modern/umd/index.js', covers: 'v3 SDK core (the UMD build of the npm package; the script-tag rsa.min.js is served from their CDN only); its plugins load from the CDN at run time (not counted)' },
  { name: 'GrowthBook', pkg: '@growthbook/growthbook', file: 'dist/bundles/auto.min.js', covers: 'the script-tag auto build: feature flags and A/B experiments, visual editor changes; no event collection of its own' },
  { name: 'Snowplow', pkg: '@snowplow/browser-tracker', file: 'dist/index.umd.min.js', covers: 'the browser tracker (UMD): page views, page pings, self-describing events, cookie identity; link clicks, forms and other plugins are separate (the sp.js tag build of @snowplow/javascript-tracker is not published on npm)' },
];

const TERSER = { compress: { passes: 2 }, format: { comments: false } };

function packageDir(pkg) {
  for (const base of [path.join(ROOT, 'bench', 'node_modules'), path.join(ROOT, 'node_modules')]) {
    const dir = path.join(base, pkg);
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`${pkg} is not installed: run npm install`);
}

export async function measureSizes() {
  const rows = [];
  for (const b of BUNDLES) {
    const dir = b.pkg ? packageDir(b.pkg) : ROOT;
    const file = path.join(dir, b.file);
    const version = b.pkg ? JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version : JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/sdk/package.json'), 'utf8')).version;
    const source = fs.readFileSync(file, 'utf8');
    const min = (await minify(source, TERSER)).code;
    const bytes = Buffer.from(min);
    rows.push({
      name: b.name,
      package: b.pkg ?? '@rapport/sdk',
      version,
      file: path.relative(ROOT, file),
      covers: b.covers,
      shippedBytes: Buffer.byteLength(source),
      minBytes: bytes.length,
      gzipBytes: zlib.gzipSync(bytes, { level: 9 }).length,
      brotliBytes: zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
    });
  }
  return rows;
}

/** A stub origin: the page, the script tag's file, and instant answers to the SDK's calls. */
function stubServer() {
  const sdk = fs.readFileSync(path.join(ROOT, 'packages/sdk/dist/sdk.js'));
  let messages = 0;
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head><body>
<h1>Trail shoes</h1><div data-rapport-slot="home-hero">Default hero</div><a href="#x">link</a>
<script async src="/sdk.js" data-write-key="wk_bench"></script></body></html>`;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/page')) return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    if (req.method === 'GET' && req.url === '/sdk.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/batch') {
        try {
          messages += JSON.parse(Buffer.concat(chunks).toString()).batch.length;
        } catch {}
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
      }
      if (req.url === '/v1/decide') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"slots":{"home-hero":null}}');
      res.writeHead(404).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, messages: () => messages, close: () => new Promise((r) => server.close(r)) })),
  );
}

export async function measureMainThread({ rounds = 200, profile = false } = {}) {
  const { chromium } = await import('playwright-core');
  const stub = await stubServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: false, // the mode comes from --headless=new below
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${stub.url}/page`);
    await page.waitForFunction(() => window.rapport && typeof window.rapport.track === 'function');
    await page.evaluate(() => new Promise((r) => window.rapport.ready(r)));
    await page.evaluate(() => window.rapport.flush());
    const metric = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    // Warm-up: the same loop, not counted (JIT).
    const loop = (n) =>
      page.evaluate(async (n) => {
        const props = { product_id: 'p-00123', category: 'backpacks', name: 'Trail Runner 45', price: 129.9, currency: 'EUR' };
        const track19 = [];
        const flush = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          for (let k = 0; k < 19; k++) window.rapport.track('Product Viewed', props);
          const t1 = performance.now();
          window.rapport.track('Product Viewed', props);
          await window.rapport.flush();
          const t2 = performance.now();
          track19.push(t1 - t0);
          flush.push(t2 - t1);
        }
        return { track19, flush };
      }, n);
    await loop(20);
    const before = await metric();
    const t0 = performance.now();
    const r = await loop(rounds);
    const wall = performance.now() - t0;
    const after = await metric();
    const sent = stub.messages();
    let cpuProfile = null;
    if (profile) {
      // One more loop under the CPU profiler (not counted): which parts of the SDK cost.
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
      await loop(rounds);
      const file = path.join(DATA_DIR, 'profiles', 'sdk.cpuprofile');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify((await cdp.send('Profiler.stop')).profile));
      const bundle = pathToFileURL(path.join(ROOT, 'packages/sdk/dist/sdk.js')).href;
      cpuProfile = summarizeProfile(file, { top: 12, hotLines: false, mapUrl: (url) => (url.endsWith('/sdk.js') ? bundle : url) });
    }
    const taskMs = (after.TaskDuration - before.TaskDuration) * 1000;
    const trackUs = r.track19.map((ms) => (ms * 1000) / 19);
    return {
      rounds,
      chromium: browser.version(),
      trackUs: { p50: percentile(trackUs, 50), p90: percentile(trackUs, 90), p99: percentile(trackUs, 99) },
      flushMs: { p50: percentile(r.flush, 50), p90: percentile(r.flush, 90), p99: percentile(r.flush, 99) },
      // Main-thread busy time of one round (20 track() calls and the flush, its fetch and answer).
      mainThreadMsPerRound: taskMs / rounds,
      wallMsPerRound: wall / rounds,
      messagesReceived: sent,
      profile: cpuProfile,
    };
  } finally {
    await browser.close();
    await stub.close();
  }
}

export async function runSdk({ rounds = 200, repeats = 3, peerPages = 10, peerRounds = 10 } = {}) {
  ensureBuilt({ log });
  log('sdk: sizes');
  const sizes = await measureSizes();
  const runs = [];
  for (let i = 1; i <= repeats; i++) {
    log(`sdk: main-thread cost in Chromium, run ${i}/${repeats}`);
    runs.push(await measureMainThread({ rounds, profile: i === repeats }));
  }
  log('sdk: against the peers in Chromium (sdk-peers.mjs)');
  const peers = await runSdkPeers({ pages: peerPages, rounds: peerRounds });
  const ours = sizes[0];
  return {
    peers,
    sizes,
    budget: { bytes: SDK_BUDGET_BYTES, gzipBytes: ours.gzipBytes, met: ours.gzipBytes <= SDK_BUDGET_BYTES },
    mainThread: {
      chromium: runs[0].chromium,
      rounds,
      trackUsP50: summary(runs.map((r) => r.trackUs.p50)),
      trackUsP99: summary(runs.map((r) => r.trackUs.p99)),
      flushMsP50: summary(runs.map((r) => r.flushMs.p50)),
      flushMsP99: summary(runs.map((r) => r.flushMs.p99)),
      mainThreadMsPerRound: summary(runs.map((r) => r.mainThreadMsPerRound)),
      wallMsPerRound: summary(runs.map((r) => r.wallMsPerRound)),
      profile: runs.at(-1).profile,
      runs: runs.map(({ profile, ...r }) => r),
    },
  };
}

if (isMain(import.meta)) {
  const args = parseArgs();
  const result = await runSdk({ rounds: Number(args.rounds ?? (args.quick ? 50 : 200)), repeats: args.quick ? 1 : 3, peerPages: args.quick ? 2 : 10, peerRounds: args.quick ? 3 : 10 });
  writeResult('sdk', result);
  for (const s of result.sizes) console.log(`${s.name.padEnd(26)} ${fmt(s.minBytes).padStart(9)} min  ${fmt(s.gzipBytes).padStart(8)} gzip  ${fmt(s.brotliBytes).padStart(8)} brotli`);
  const m = result.mainThread;
  console.log(`track(): p50 ${m.trackUsP50.median.toFixed(1)} µs; flush of 20: p50 ${m.flushMsP50.median.toFixed(2)} ms; main thread per 20 tracks + flush: ${m.mainThreadMsPerRound.median.toFixed(2)} ms`);
}
