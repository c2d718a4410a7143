#!/usr/bin/env node
// `npm run bench`: every benchmark of bench/, one after the other, then BENCHMARKS.md.
//
// Steps: machine, sdk, ingest, datasets (10k, 100k, 1M visitors, one generating pass),
// decide (100k), identity (100k), growth (10k, 100k, 1M), worst-case (the security issue's
// worst-case inputs end to end, beside the recorded figures of the old code), postgres (ingest and
// decide on PostgreSQL beside SQLite, 1 and 2 nodes), automations (100,000 runs waiting at once,
// then their webhooks: lateness, sends/s). Each is its own
// script and can be run alone (node bench/ingest.mjs, ...), with the flags documented at the top
// of each file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderBenchmarks } from './lib/render.mjs';
import { ROOT, ensureBuilt } from './lib/server.mjs';
import { RESULTS_DIR, log, parseArgs, setResultsDir, writeResult } from './lib/stats.mjs';

const USAGE = `Usage: node bench/run.mjs [options]

  (no option)          the full run (about 10–15 minutes on the 2-core machine)
  --quick              a self-check of every script in about 2 minutes: tiny datasets, one
                       short run each; results go to bench/results/quick/ and BENCHMARKS.md is
                       left alone
  --reuse-data         keep the generated datasets of an earlier run
  --only ingest,sdk    some steps only (then BENCHMARKS.md is re-rendered from these and the
                       last results of the others)
  --render             only rewrite BENCHMARKS.md from bench/results/*.json
  --help               this text

Steps: machine, sdk, ingest, datasets, decide, identity, growth, worst-case, postgres, automations, repair, recommendations.
  postgres: ingest on SQLite, PostgreSQL and 2 PostgreSQL nodes behind nginx, and decide at
            1,000/s on both stores at 100k and 1M profiles (a local PostgreSQL 15 cluster in
            bench/.data/postgres-15, durable; the tiers copied with \`rapport copy\`, kept
            between runs); needs /usr/lib/postgresql/15/bin and /usr/sbin/nginx.
  automations: 100,000 runs waiting at once, then due in a burst and spread out, on SQLite
            and on PostgreSQL (the postgres step's cluster): each webhook's lateness, sends/s
            beside a plain client's, the scheduler's /healthz figures (about 15 minutes; 1
            minute quick, SQLite only).
  repair: a split of a profile with 10,000 events, the merge at login before it and an
            operator's merge after it, on SQLite and PostgreSQL (about 30 s).
  recommendations: the recommendation models on a simulated shop with planted structure:
            offline hit rate@10 and NDCG@10 of each strategy against a popularity baseline,
            recall of planted pairs, training time and memory at 1M orders, and
            POST /v1/recommendations latency at 1,000/s (about 3 minutes; 30 s quick).`;

const STEPS = ['machine', 'sdk', 'ingest', 'datasets', 'decide', 'identity', 'growth', 'worst-case', 'postgres', 'automations', 'repair', 'recommendations'];
const args = parseArgs();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
// A mistyped option must not start a 15-minute run that clears the datasets.
const only = args.only ? String(args.only).split(',') : STEPS;
const wrong = [
  ...Object.keys(args).filter((k) => !['quick', 'reuse-data', 'only', 'render'].includes(k)).map((k) => `unknown option --${k}`),
  ...only.filter((s) => !STEPS.includes(s)).map((s) => `unknown step "${s}"`),
];
if (wrong.length) {
  console.error(`run: ${wrong.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}

// Imported only now: loading the benchmarks builds the server first (lib/dataset.mjs).
const { runAutomations } = await import('./automations.mjs');
const { runDecide } = await import('./decide.mjs');
const { runGrowth, writeGrowthSvg } = await import('./growth.mjs');
const { runIdentity } = await import('./identity.mjs');
const { runIngest } = await import('./ingest.mjs');
const { runPostgres } = await import('./postgres.mjs');
const { runRecommendations } = await import('./recommendations.mjs');
const { runRepair } = await import('./repair.mjs');
const { clearDatasets, ensureDatasets } = await import('./lib/dataset.mjs');
const { describeMachine } = await import('./machine.mjs');
const { runSdk } = await import('./sdk.mjs');
const { runWorstCase } = await import('./worst-case.mjs');

const quick = !!args.quick;
if (quick) setResultsDir(path.join(RESULTS_DIR, 'quick'));
const TIERS = quick ? [2_000, 10_000] : [10_000, 100_000, 1_000_000];
const MID = TIERS[TIERS.length - 2] ?? TIERS[0];

const readResult = (name) => {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
};

function render(run) {
  const results = Object.fromEntries(['machine', 'ingest', 'decide', 'growth', 'identity', 'sdk', 'postgres', 'automations', 'repair', 'recommendations'].map((n) => [n, readResult(n)]));
  if (results.growth) writeGrowthSvg(results.growth);
  // The old code's figures were recorded once (bench/worst-case.mjs --server-root <checkout> --out
  // worst-case-before) and are always read from bench/results, quick run or not.
  const before = path.join(import.meta.dirname, 'results', 'worst-case-before.json');
  const worstCaseBefore = fs.existsSync(before) ? JSON.parse(fs.readFileSync(before, 'utf8')) : null;
  const md = renderBenchmarks({ ...results, worstCase: readResult('worst-case'), worstCaseBefore, run });
  const target = quick ? path.join(RESULTS_DIR, 'BENCHMARKS.md') : path.join(ROOT, 'BENCHMARKS.md');
  fs.writeFileSync(target, md);
  return target;
}

if (args.render) {
  const run = readResult('run');
  if (!run) throw new Error('no results/run.json yet: run the benchmarks first');
  console.log(`wrote ${render(run)}`);
  process.exit(0);
}

const started = Date.now();
const run = { startedAt: new Date(started).toISOString(), quick, reusedData: !!args['reuse-data'], steps: [] };
const step = async (name, fn) => {
  if (!only.includes(name)) return;
  const t = Date.now();
  log(`== ${name}`);
  const result = await fn();
  if (result !== undefined) writeResult(name, result);
  run.steps.push({ name, seconds: (Date.now() - t) / 1000 });
};

ensureBuilt({ log });
// A full run pays for its datasets: the ones of an earlier run are removed first.
if (!quick && !args['reuse-data'] && only.includes('datasets')) clearDatasets();

await step('machine', () => describeMachine());
await step('sdk', () => runSdk(quick ? { rounds: 50, repeats: 1, peerPages: 2, peerRounds: 3 } : { rounds: 200, repeats: 3 }));
await step('ingest', () => runIngest(quick ? { runs: 1, seconds: 3, warmup: 1, profileSeconds: 0 } : { runs: 3, seconds: 10, warmup: 2, profileSeconds: 6 }));
await step('datasets', async () => {
  await ensureDatasets(TIERS, { log });
});
await step('decide', () => runDecide(quick ? { visitors: MID, runs: 1, seconds: 3, maxSeconds: 2, profileSeconds: 0 } : { visitors: 100_000, runs: 5, seconds: 10, maxSeconds: 5, profileSeconds: 6 }));
await step('identity', () => runIdentity(quick ? { visitors: MID, runs: 1, seconds: 2, profileSeconds: 0 } : { visitors: 100_000, runs: 3, seconds: 5, profileSeconds: 4 }));
await step('growth', () =>
  runGrowth(quick ? { tiers: TIERS, runs: 1, seconds: 2, maxSeconds: 1, ingestSeconds: 1, profileLargest: false } : { tiers: TIERS, runs: 3, seconds: 10, maxSeconds: 5, ingestSeconds: 5 }),
);

// The built server of this checkout (run.mjs has built it): about a minute, 20 s quick.
await step('worst-case', () =>
  runWorstCase(
    quick
      ? { build: false, referrerCalls: 30, referrerBudgetSeconds: 2, referrerLimitSeconds: 15, worstRequests: 1, ordinaryRequests: 5, phaseSeconds: 1, contextRuns: 1, names: 5_000, others: 50, selfDecides: 5, loadRuns: 1, loadSeconds: 3 }
      : { build: false, referrerCalls: 200, referrerBudgetSeconds: 10, referrerLimitSeconds: 150, worstRequests: 3, ordinaryRequests: 20, phaseSeconds: 2, contextRuns: 3, names: 30_000, others: 200, selfDecides: 20, loadRuns: 2, loadSeconds: 8 },
  ),
);

// PostgreSQL beside SQLite: about 20 minutes (ingest, decide and reports, ingest into clones of the tiers), plus the copies of the tiers when they are new; 1 minute quick.
await step('postgres', () =>
  runPostgres(
    quick
      ? { quick: true, runs: 1, seconds: 3, warmup: 1, profileSeconds: 0, decideProfileSeconds: 0, decideRuns: 1, decideSeconds: 3, tiers: TIERS, twoNodeTiers: [TIERS[0]] }
      : { runs: 3, seconds: 10, warmup: 2, profileSeconds: 6, decideProfileSeconds: 5, decideRuns: 3, decideSeconds: 10, tiers: [100_000, 1_000_000], twoNodeTiers: [100_000, 1_000_000] },
  ),
);

// 100,000 runs waiting, a burst and a spread case on each store, and a profiled SQLite burst:
// about 15 minutes (PostgreSQL sends slower, so its spread window is longer); 1 minute quick (SQLite only).
await step('automations', () =>
  runAutomations(
    quick
      ? { quick: true, runs: 2_000, wait: 15, maxWindow: 60, stores: ['sqlite'], profileRuns: 0, ceilingSeconds: 2, drainLimitS: 120 }
      : { runs: 100_000, wait: 90, maxWindow: 900, stores: ['sqlite', 'postgres'], profileRuns: 20_000, ceilingSeconds: 5, drainLimitS: 1_200 },
  ),
);

// A split of a profile with 10,000 events, and the merges around it, on both stores: about 30 s.
await step('repair', () => runRepair(quick ? { quick: true, events: 2_000, runs: 1, stores: ['sqlite'] } : { events: 10_000, runs: 3, stores: ['sqlite', 'postgres'] }));

// Offline quality on a simulated shop, training at 1M orders, serving at 1,000/s: about 3 minutes; 30 s quick.
await step('recommendations', () =>
  runRecommendations(
    quick
      ? { quick: true, people: 5_000, streamOrders: 50_000, servePeople: 500, runs: 1, seconds: 3, warmupSeconds: 1, profileSeconds: 0 }
      : { people: 50_000, streamOrders: 1_000_000, servePeople: 5_000, runs: 3, seconds: 10, warmupSeconds: 2, profileSeconds: 5 },
  ),
);

run.seconds = (Date.now() - started) / 1000;
run.loadAverageAtEnd = os.loadavg();
if (only.length === STEPS.length) writeResult('run', run);
else {
  // A partial run keeps the step times of the last full run for the steps it skipped.
  const last = readResult('run');
  if (last) {
    run.steps = [...last.steps.filter((s) => !only.includes(s.name)), ...run.steps].sort((a, b) => STEPS.indexOf(a.name) - STEPS.indexOf(b.name));
    run.seconds = run.steps.reduce((a, s) => a + s.seconds, 0);
    run.startedAt = last.startedAt;
  }
  // Kept, so that the next partial run (or --render) still knows every step's time.
  writeResult('run', run);
}
const file = render(run);
log(`done in ${(run.seconds / 60).toFixed(1)} minutes; wrote ${path.relative(process.cwd(), file)}`);
