#!/usr/bin/env node
// The worst inputs a public write key could send, each against an ordinary input of the same
// kind measured in the same run (the machine is shared: ratios, not absolute times, are the
// point). In process, on the built packages: the cost is in the code, not in HTTP.
//
//   referrer   a page view whose referrer host has 600 or 1,000 labels, or is the longest
//              string the wire keeps (4,096 characters): ms per parseReferrer call
//   context    a 68 KB batch whose shared context has 2,000 keys, with 500 tiny messages:
//              bytes the collect pipeline hands to the store, per byte of the request
//   profile    30,000 distinct 150-character event names on one visitor: the profile's size,
//              and the time to read it back (what a decision pays for it)
//
// node bench/worst-inputs.mjs [--quick]

import { performance } from 'node:perf_hooks';
import { ROOT, ensureBuilt } from './lib/server.mjs';
import { log, parseArgs, percentile, writeResult } from './lib/stats.mjs';

const PAGE = 'https://shop.example/landing';

/** Median ms per call of `fn(i)` over `n` calls, each with fresh input `i`. */
function timePerCall(fn, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    times.push(performance.now() - t);
  }
  return { medianMs: percentile(times, 50), maxMs: Math.max(...times) };
}

async function referrerCase(quick) {
  const { parseReferrer } = await import(`${ROOT}/packages/referrer/dist/index.js`);
  const n = quick ? 50 : 500;
  // A fresh host per call, so that no cache hides the cost.
  const labels = (count) => (i) => `https://${'a.'.repeat(count - 2)}u${i}.com/`;
  const longest = (i) => `https://${'a.'.repeat(2030)}u${i}.com/`.slice(0, 4096);
  const cases = {
    ordinary: (i) => `https://www.google.com/search?q=thailand+family+holiday+${i}`,
    labels600: labels(600),
    labels1000: labels(1000),
    longest4096: longest,
  };
  const out = {};
  for (const [name, make] of Object.entries(cases)) {
    out[name] = timePerCall((i) => parseReferrer(make(i), PAGE), n);
  }
  return out;
}

async function contextCase() {
  const { collect } = await import(`${ROOT}/packages/server/dist/collect/collect.js`);
  let stored = 0;
  const store = {
    async ingest(_site, events) {
      for (const e of events) stored += Buffer.byteLength(JSON.stringify(e.message));
      return { outcomes: events.map(() => 'stored'), notes: [] };
    },
  };
  const site = { id: 's', secret: 'x', settings: { requireUserHash: true, storeFullIp: false, emailMatching: false, exposeSegments: false } };
  const run = async (body) => {
    stored = 0;
    const text = JSON.stringify(body);
    const outcome = await collect(store, {
      site, trusted: false, body: JSON.parse(text), bodyBytes: Buffer.byteLength(text), endpoint: 'batch',
      clientIp: '203.0.113.9', userAgent: null, receivedAt: Date.now(),
    });
    return { requestBytes: Buffer.byteLength(text), storedBytes: stored, amplification: stored / Buffer.byteLength(text), status: outcome.status, rejected: outcome.body.rejected?.length ?? 0 };
  };
  const tiny = (i) => ({ type: 'track', messageId: `m${i}`, anonymousId: 'a1', event: 'E' });
  const context = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'vvvv']));
  const ordinary = Array.from({ length: 500 }, (_, i) => ({ ...tiny(i), context: { page: { url: PAGE }, locale: 'de-DE' }, properties: { note: 'x'.repeat(90) } }));
  return {
    ordinary: await run({ batch: ordinary }),
    sharedContext2000Keys: await run({ batch: Array.from({ length: 500 }, (_, i) => tiny(i)), context }),
  };
}

async function profileCase(quick) {
  const { applyEvent } = await import(`${ROOT}/packages/server/dist/profiles/computed.js`);
  const { emptyComputed } = await import(`${ROOT}/packages/server/dist/profiles/types.js`);
  const names = quick ? 5_000 : 30_000;
  const event = (name, i) => ({
    messageId: `m${i}`, type: 'track', name, anonymousId: 'a1', userId: null, previousId: null, trust: 'untrusted',
    timestamp: Date.now() - (names - i) * 1000, receivedAt: Date.now(), traits: null, properties: null, message: {},
    enrichment: { ip: null, device: null, referral: null, campaign: null, page: null, firstTouch: null },
  });
  const grow = (nameOf) => {
    const profile = { id: 'p', siteId: 's', userId: null, email: null, traits: {}, traitTimes: {}, computed: emptyComputed(), mergedInto: null, createdAt: 0, updatedAt: 0 };
    let n = 0;
    for (let i = 0; i < names; i++) applyEvent(profile, event(nameOf(i), i), () => `s${++n}`);
    const json = JSON.stringify({ traits: profile.traits, traitTimes: profile.traitTimes, computed: profile.computed });
    const read = timePerCall(() => JSON.parse(json), quick ? 20 : 100);
    return { events: names, profileBytes: Buffer.byteLength(json), eventNamesKept: Object.keys(profile.computed.events).length, dropped: profile.computed.dropped ?? null, readMedianMs: read.medianMs };
  };
  return {
    ordinary: grow((i) => ['Product Viewed', 'Product Added', 'Order Completed'][i % 3]),
    uniqueNames: grow((i) => `${'n'.repeat(140)}-${String(i).padStart(8, '0')}`),
  };
}

/** Runs the three cases; the result goes to bench/results/worst.json. */
export async function runWorstInputs({ quick = false } = {}) {
  ensureBuilt({ log });
  const result = { referrer: await referrerCase(quick), context: await contextCase(), profile: await profileCase(quick) };
  log(`referrer: 1,000 labels ${result.referrer.labels1000.medianMs.toFixed(4)} ms, ordinary ${result.referrer.ordinary.medianMs.toFixed(4)} ms`);
  log(`context: stored ${result.context.sharedContext2000Keys.amplification.toFixed(1)}x the request (ordinary ${result.context.ordinary.amplification.toFixed(1)}x)`);
  log(`profile: ${result.profile.uniqueNames.profileBytes} bytes after ${result.profile.uniqueNames.events} unique names (ordinary ${result.profile.ordinary.profileBytes})`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  writeResult('worst', await runWorstInputs({ quick: !!args.quick }));
}
