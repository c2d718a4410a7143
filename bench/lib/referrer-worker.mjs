// A worker thread of bench/worst-case.mjs: times `parseReferrer(referrer, pageUrl)` of a built
// @rapport/referrer on one kind of referrer, with a fresh host for every call (so that the
// package's host cache cannot hide the cost). It runs in a thread of its own so that the main
// thread can end it when one call takes longer than the case may last: the old code held the CPU
// for seconds to a minute on a single call.
//
// workerData: { module (file URL of the package's index.js), pageUrl, kind, calls, budgetMs }
// Posts { times: ms per call, sample: what the first call returned }.

import { parentPort, workerData } from 'node:worker_threads';
import { referrerOf } from './worst-case-inputs.mjs';

const { module, pageUrl, kind, calls, budgetMs } = workerData;
const { parseReferrer } = await import(module);

// Warm-up on ordinary referrers (JIT, the host maps), never counted.
for (let i = 0; i < 50; i++) parseReferrer(referrerOf('ordinary', 1_000_000 + i), pageUrl);

const times = [];
let sample = null;
const started = performance.now();
for (let i = 0; i < calls; i++) {
  const referrer = referrerOf(kind, i);
  const t = performance.now();
  const result = parseReferrer(referrer, pageUrl);
  times.push(performance.now() - t);
  if (i === 0) sample = { referrerChars: referrer.length, result };
  // At least one call; then as many as fit in the budget.
  if (performance.now() - started > budgetMs) break;
}
parentPort.postMessage({ times, sample });
