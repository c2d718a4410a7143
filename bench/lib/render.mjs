// Turns the results of the benchmark scripts (bench/results/*.json) into BENCHMARKS.md. Every
// figure comes from the results; nothing here is typed in by hand, so the file cannot drift from
// what was measured.

import { fmt, mmm, percentile, summary as summaryOf } from './stats.mjs';

/** "median (min–max)" of a summary: times with 2 decimals, counts with none. */
const ms = (s, d = 2) => mmm(s, d);
const n = (s, d = 0) => mmm(s, d);
const pct = (s) => (s && Number.isFinite(s.median) ? `${fmt(100 * s.median, 0)}% (${fmt(100 * s.min, 0)}–${fmt(100 * s.max, 0)}%)` : '–');
const mb = (v) => (Number.isFinite(v) ? `${fmt(v)} MB` : '–');
const kb = (b) => `${fmt(b / 1024, 1)} KB`;
const runs = (k) => `${k} run${k === 1 ? '' : 's'}`;
const status = (met) => (met ? '**met**' : '**missed**');

/** A profile summary as markdown: areas, then the hottest functions with their hottest lines. */
function profileMd(p, title) {
  if (!p) return '';
  const out = [`<details><summary>${title}</summary>`, '', `Busy ${fmt(p.busySeconds, 1)} s of CPU in the profiled run (idle ${fmt(p.idleSeconds, 1)} s). Shares are of the busy time.`, ''];
  out.push('| area | share |', '| --- | ---: |', ...p.areas.slice(0, 8).map((a) => `| ${a.area} | ${fmt(a.share, 1)}% |`), '');
  out.push('| function (self time) | where | share | hottest lines |', '| --- | --- | ---: | --- |');
  for (const f of p.topFunctions.slice(0, 10)) {
    const lines = f.hotLines.map((l) => `${l.where} ${fmt(l.share, 1)}%: \`${l.code.replace(/\|/g, '\\|').replace(/`/g, "'")}\``).join('<br>');
    out.push(`| \`${f.name}\` | ${f.where} | ${fmt(f.share, 1)}% | ${lines} |`);
  }
  const inc = Object.entries(p.inclusive ?? {}).filter(([, v]) => v > 0);
  if (inc.length) out.push('', `Inclusive (self + callees): ${inc.map(([k, v]) => `\`${k}\` ${fmt(v, 1)}%`).join(', ')}.`);
  out.push('', '</details>', '');
  return out.join('\n');
}

/** The figures of bench/sdk-peers.mjs, with the unit and the way each is shown. */
const PEER_FIGURES = [
  ['evalMs', 'evaluation', (r) => `${fmt(r.evalMs, 1)} ms`],
  ['startUpMs', 'start-up', (r) => `${fmt(r.startUpMs, 1)} ms`],
  ['mainThreadMs', '20 tracks + delivery', (r) => `${fmt(r.mainThreadMs, 2)} ms`],
  ['trackUsP50', 'one track() p50', (r) => `${fmt(r.trackUsP50, 1)} µs`],
  ['longTaskMs', 'long tasks', (r) => `${fmt(r.longTasks, 0)} (${fmt(r.longTaskMs, 0)} ms)`],
];
const ratio = (f) => (Number.isFinite(f.ratio) ? `${fmt(f.ratio, 2)}×` : f.ours === 0 ? '0 and 0' : '∞');

/** Section 5b: the SDK against its peers in one browser run. */
function peersMd(p) {
  const out = ['### The SDK against its peers, one Chromium', ''];
  out.push(`Each SDK's script-tag build inlined in a page, minified as above, each page in a fresh browser context of one headless Chromium ${p.chromium}, the SDKs taking turns (${fmt(p.pages)} pages each, ${fmt(p.rounds)} rounds of 20 \`track()\` calls a page; medians). A local stub answers every SDK's backend at once (Segment's settings, RudderStack's source config, PostHog's flags, every collect call) and counts the events it receives. Method and settings: bench/sdk-peers.mjs.`, '');
  out.push(`| SDK | ${PEER_FIGURES.map(([, label]) => label).join(' | ')} |`, `| --- | ${PEER_FIGURES.map(() => '---:').join(' | ')} |`);
  for (const r of p.rows) out.push(`| ${r.name === 'Rapport' ? '**Rapport**' : r.name} ${r.version} | ${PEER_FIGURES.map(([, , show]) => show(r)).join(' | ')} |`);
  out.push(`| **Rapport ÷ best peer** | ${PEER_FIGURES.map(([key]) => `${ratio(p.figures[key])} ${p.figures[key].met ? '(met)' : '(missed)'}`).join(' | ')} |`, '');
  out.push(
    '- evaluation: from before the script to the end of the snippet\'s start call (load, init, first page view): what a loading page waits for. Rapport starts as it is evaluated.',
    `- start-up: the main thread's busy time (Chrome's TaskDuration) from before the navigation until the SDK is ready and 500 ms have passed, less the same page without an SDK (${fmt(p.blankStartUpMs, 1)} ms): all it did to start, deferred work included.`,
    '- 20 tracks + delivery: busy time from before 20 `track()` calls until the stub has received the 20 events. Rapport batches and is flushed; Segment and RudderStack send each event on its own; PostHog batches on a timer set to its minimum, 250 ms.',
    '- one track() p50: each call timed on its own in a cross-origin-isolated page (5 µs timer resolution): how long the page\'s code waits for it.',
    '- long tasks: tasks of 50 ms or more over the whole page (load, start, every round), by PerformanceObserver.',
    '',
  );
  return out;
}

/** The ingest configurations of section 7, in the order of their rows. */
const INGEST_KINDS = [['sqlite', 'SQLite, 1 node'], ['postgres', 'PostgreSQL, 1 node'], ['postgres-2', 'PostgreSQL, 2 nodes behind nginx']];

/** One sentence on a profile for a missed target: the biggest areas and functions. */
function profileLine(p) {
  if (!p) return 'no profile was taken.';
  const areas = p.areas.slice(0, 3).map((a) => `${a.area} ${fmt(a.share, 0)}%`).join(', ');
  const fns = p.topFunctions
    .filter((f) => !f.name.startsWith('('))
    .slice(0, 3)
    .map((f) => `\`${f.name}\` (${f.where}${f.code && !f.hotLines[0] ? `: \`${f.code}\`` : ''}) ${fmt(f.share, 0)}%${f.hotLines[0] ? `, mostly \`${f.hotLines[0].code}\` (${f.hotLines[0].where})` : ''}`)
    .join('; ');
  return `by area ${areas}; by function ${fns}.`;
}

export function renderBenchmarks({ machine, ingest, decide, growth, identity, sdk, postgres, automations, repair, recommendations, worstCase, worstCaseBefore, run }) {
  const out = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`npm run bench\` (\`bench/run.mjs\`) on ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC; the whole run took **${fmt(run.seconds / 60, 1)} minutes**${run.reusedData ? ' (with datasets reused from an earlier run)' : ', dataset generation included'}. ` +
      'Do not edit by hand: every figure below comes from `bench/results/*.json`. Each figure is the **median of the runs, with the minimum and maximum in brackets**. ' +
      'Every script in `bench/` can be run alone (`node bench/ingest.mjs`, ...); `node bench/run.mjs --render` rewrites this file from the last results.',
    '',
  );

  // Targets first.
  out.push('## Targets', '', '| target | measured | status |', '| --- | --- | --- |');
  if (ingest?.targets) {
    const t = ingest.targets;
    out.push(`| Ingest ≥ ${fmt(100 * t.hono.ratio)}% of the bare Hono ceiling | ${pct(ingest.ratioToHono)} | ${status(t.hono.met)} |`);
    out.push(`| Ingest ≥ ${fmt(100 * t.group.ratio)}% of the group-commit ceiling (raw SQLite, one fsync per group) | ${pct(ingest.ratioToGroup)} | ${status(t.group.met)} |`);
    out.push(`| Ingest p99 < ${fmt(t.p99.ms)} ms at that load (60% of the group-commit ceiling, paced) | p99 ${ms(ingest.atLoad.p99)} ms | ${status(t.p99.met)} |`);
  } else if (ingest) out.push(`| Ingest ≥ 60% of the lower ceiling | ${pct(ingest.ratioToLower)} of the ${ingest.lowerCeiling === 'sqlite' ? 'raw SQLite' : 'bare Hono'} ceiling (the lower one) | ${status(ingest.target.met)} |`);
  if (decide) out.push(`| Decide p99 < 10 ms at 1,000 requests/s, ${fmt(decide.settings.profiles)} profiles | p99 ${ms(decide.fixed.p99)} ms | ${status(decide.target.met)} |`);
  if (growth) out.push(`| Decide p99 at ${fmt(growth.target.to)} profiles within 1.5× of ${fmt(growth.target.from)} | ${fmt(growth.target.measured, 2)}× | ${status(growth.target.met)} |`);
  if (growth?.reportsTarget) {
    const t = growth.reportsTarget;
    out.push(`| Console overview p95 < ${fmt(t.p95Ms)} ms at ${fmt(t.profiles)} profiles | p95 ${fmt(t.measured, 1)} ms | ${status(t.met)} |`);
  }
  if (sdk) out.push(`| SDK script tag ≤ 6 KB min+gzip | ${kb(sdk.budget.gzipBytes)} | ${status(sdk.budget.met)} |`);
  if (sdk?.peers) {
    const f = sdk.peers.figures;
    const ratios = PEER_FIGURES.map(([key, label]) => `${label} ${ratio(f[key])}`).join(', ');
    out.push(`| SDK lowest of Rapport, Segment, PostHog and RudderStack on every browser figure (ratio to the best peer) | ${ratios} | ${status(sdk.peers.met)} |`);
  }
  if (postgres?.ingest) {
    const target = postgres.ingest.target.ratio;
    out.push(`| PostgreSQL ingest ≥ ${fmt(100 * target)}% of SQLite's, 1 node each | ${pct(postgres.ingest.ratioPostgresToSqlite)} | ${status(postgres.ingest.target.met)} |`);
    for (const x of postgres.ingestAtScale?.tiers ?? []) {
      out.push(`| the same into ${fmt(x.profiles)} profiles | ${pct(x.ratioPostgresToSqlite)} | ${status(x.ratioPostgresToSqlite.median >= target)} |`);
    }
  }
  if (postgres?.decide) {
    const t = postgres.decide.target;
    out.push(`| PostgreSQL decide p99 < ${fmt(t.p99Ms)} ms at 1,000 requests/s, ${fmt(t.profiles)} profiles | ${t.skipped ? 'not measured (see section 7)' : `p99 ${fmt(t.measured, 2)} ms`} | ${t.skipped ? '**not measured**' : status(t.met)} |`);
  }
  if (postgres?.decide?.reportsTarget) {
    const t = postgres.decide.reportsTarget;
    out.push(`| Funnels < ${secs(t.ms)} at ${fmt(t.profiles)} profiles, slowest funnel on each store | ${t.stores.map((x) => `${x.label} ${secs(x.slowest.medianMs)} (${x.slowest.name})`).join('; ')} | ${status(t.met)} |`);
  }
  if (automations?.target) {
    const t = automations.target;
    const m = automations.stores[t.store];
    out.push(`| Automation step p99 lateness < ${fmt(t.ms / 1000)} s, ${fmt(m.spread.runs)} runs waiting, due spread at ${fmt(m.spread.due.meanPerSec)}/s (below the send rate), ${storeName(t.store)} | p99 ${secs(t.measured)} | ${status(t.met)} |`);
    out.push(`| … the same ${fmt(m.burst.runs)} runs all due within ${fmt(m.burst.due.seconds, 0)} s (a burst beyond the send rate), ${storeName(t.store)} | p99 ${secs(t.burstMeasured)} | ${status(t.burstMet)} |`);
    for (const [store, r] of Object.entries(automations.stores)) {
      if (store === t.store) continue;
      out.push(`| … on ${storeName(store)} (1 node), ${fmt(r.spread.runs)} runs due spread at ${fmt(r.spread.due.meanPerSec)}/s | p99 ${secs(r.spread.latenessMs.p99)} | ${status(r.spread.latenessMs.p99 < t.ms && r.spread.delivered === r.spread.runs)} |`);
    }
  }
  if (recommendations?.targets) {
    const t = recommendations.targets;
    const r = recommendations;
    out.push(`| Recommendations: bought-together finds ≥ ${fmt(100 * t.planted.recallAt5)}% of the ${fmt(r.planted.pairs)} planted pairs in its top 5 (offline, simulated shop) | ${fmt(100 * t.planted.measured, 1)}% (${fmt(r.planted.found)} of ${fmt(r.planted.pairs)}) | ${status(t.planted.met)} |`);
    out.push(`| Recommendations: for-you hit rate@10 ≥ ${fmt(t.forYou.ratio)}× the popularity baseline's (offline, time split) | ${fmt(t.forYou.measured, 2)}× (${fmt(100 * t.forYou.forYou, 1)}% against ${fmt(100 * t.forYou.popularity, 1)}%) | ${status(t.forYou.met)} |`);
    out.push(`| Recommendations p99 < ${fmt(t.p99.ms)} ms at ${fmt(t.p99.rate)} requests/s (\`POST /v1/recommendations\`, mixed strategies) | p99 ${ms(r.serving.fixed.p99)} ms | ${status(t.p99.met)} |`);
  }
  out.push('');

  if (machine) {
    const la = (l) => l.map((v) => v.toFixed(2)).join(', ');
    out.push('## Machine', '');
    out.push(`| | |`, `| --- | --- |`);
    out.push(`| CPU | ${machine.cpu}, ${machine.cores} cores |`);
    out.push(`| memory | ${machine.memoryGb} GB |`);
    out.push(`| Node | ${machine.node} |`);
    out.push(`| OS | ${machine.os} |`);
    if (machine.disk) out.push(`| disk | ${machine.disk.device} (${machine.disk.type} on ${machine.disk.mount}) |`);
    out.push(`| fsync latency (4 KB write + fdatasync, ${machine.fsync.samples} samples) | p50 ${fmt(machine.fsync.p50Us)} µs, p99 ${fmt(machine.fsync.p99Us)} µs |`);
    out.push(`| durable SQLite commit (WAL, synchronous=FULL, one small row) | p50 ${fmt(machine.sqliteCommit.p50Us)} µs, p99 ${fmt(machine.sqliteCommit.p99Us)} µs |`);
    out.push(`| load average (1, 5, 15 min) at the start / the end of the run | ${la(machine.loadAverage)} / ${la(run.loadAverageAtEnd)} |`);
    out.push('');
    out.push('A load average above the 2 cores means other processes were running on this machine during the run and took CPU from the benchmark; the figures are then lower, and noisier, than on an idle machine.', '');
  }

  out.push('## How it is measured', '');
  out.push(
    '- The server under test is the built one (`npm run build`\'s `tsc -b`; `run.mjs` builds first), started as `node packages/server/bin/rapport.js serve --host 127.0.0.1 --port 0 --rate-limit-ip 0 --rate-limit-site 0 --synchronous full`: a process of its own, on the default durability (a 200 only once the batch is fsynced).',
    '- The load comes from another process (the benchmark script itself), over keep-alive connections to 127.0.0.1: [autocannon](https://github.com/mcollina/autocannon) for closed loops (50 connections, each sends its next request when the last is answered), and `bench/lib/paced.mjs` for fixed rates: an open loop in the manner of wrk2 that sends each request on schedule whatever happened to the earlier ones, so a stall cannot hide itself (autocannon\'s `--overallRate` sends each second\'s share in a burst, which is why it is not used). Both share the 2 cores with the server, as they would on this machine in any case.',
    '- Bodies are what the SDK sends: batches of 20 messages from one visitor (page views and e-commerce track calls with about 100 bytes of properties and the SDK\'s context: page, referrer, user agent, locale, library, session), fresh message ids each time; decisions for the 3 slots of a page.',
    '- Datasets (`bench/lib/dataset.mjs`, `bench/lib/history.mjs`): simulated visitors of a shop, 35% known customers who logged in once, 55% single visits; sessions from search (with keywords), social, email campaigns, paid clicks, referrals and direct; page views, product views, cart adds, orders with revenue, identifies with traits: about 4.3 events per visitor. They are generated through the real write path, `SqliteStore.ingest` (identity resolution, computed attributes, the same rows a collect call stores; no HTTP, validation or fsync), in chunks of 2,000 visitors by two worker threads into in-memory databases, appended to the dataset file with the secondary indexes dropped and then rebuilt with the product\'s own `CREATE INDEX` statements. Each tier extends the previous one, so 10k, 100k and 1M are made in one pass. Bulk-built indexes are packed tighter than indexes grown by random inserts, so the files are somewhat smaller than a live database with the same rows.',
    '- Each benchmark warms up before it measures (JIT, caches, connection pools); warm-up requests are not counted. CPU profiles come from one extra run under `node --cpu-prof`, never from a measured run.',
    '',
  );

  if (ingest) {
    const s = ingest.settings;
    out.push('## 1. Ingest', '');
    out.push(`\`POST /v1/batch\`, ${s.eventsPerBatch} events per batch, ${s.connections} connections, ${s.seconds} s per run after ${s.warmup} s of warm-up, ${runs(s.runs)} interleaved (Rapport, then each ceiling, in every run). Each Rapport run starts on a fresh database; 80% of the batches come from a pool of ${fmt(s.visitorPool)} returning visitors, 20% from new ones.`, '');
    out.push('| | events/s | batches/s | p50 latency | p99 latency | server CPU (cores) |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    out.push(`| **Rapport** (writer thread, the default) | ${n(ingest.rapport.eventsPerSec)} | ${n(ingest.rapport.batchesPerSec)} | ${n(ingest.rapport.p50)} ms | ${n(ingest.rapport.p99)} ms | ${ms(ingest.rapport.serverCpuCores)} |`);
    if (ingest.oneThread) out.push(`| Rapport, \`--writer-thread off\` (everything on the main thread) | ${n(ingest.oneThread.eventsPerSec)} | ${n(ingest.oneThread.batchesPerSec)} | ${n(ingest.oneThread.p50)} ms | ${n(ingest.oneThread.p99)} ms | ${ms(ingest.oneThread.serverCpuCores)} |`);
    out.push(`| ceiling (a): bare Hono route, same adapter, parse only | ${n(ingest.hono.eventsPerSec)} | ${n(ingest.hono.batchesPerSec)} | ${n(ingest.hono.p50)} ms | ${n(ingest.hono.p99)} ms | ${ms(ingest.hono.serverCpuCores)} |`);
    out.push(`| ceiling (b): raw better-sqlite3 inserts, 20 per durable transaction | ${n(ingest.sqlite.eventsPerSec)} | ${n(ingest.sqlite.batchesPerSec)} | ${ms(ingest.sqlite.p50)} ms | ${ms(ingest.sqlite.p99)} ms | 1 (one thread, no HTTP) |`);
    if (ingest.group) out.push(`| ceiling (c): raw better-sqlite3 inserts, ${s.connections} batches in flight, Rapport's group commit, one fsync per group | ${n(ingest.group.eventsPerSec)} | ${n(ingest.group.batchesPerSec)} | ${ms(ingest.group.p50)} ms | ${ms(ingest.group.p99)} ms | 1 (one thread, no HTTP) |`);
    out.push('');
    if (ingest.targets) {
      const t = ingest.targets;
      out.push(`Ratio of Rapport to the bare Hono ceiling: **${pct(ingest.ratioToHono)}** (target ≥ ${fmt(100 * t.hono.ratio)}%: ${status(t.hono.met)}); to the group-commit ceiling (c): **${pct(ingest.ratioToGroup)}** (target ≥ ${fmt(100 * t.group.ratio)}%: ${status(t.group.met)}); to ceiling (b): ${pct(ingest.ratioToSqlite)}; the writer thread against none: ${fmt(ingest.ratioToOneThread.median, 2)}× (ratios run by run).`, '');
      out.push(`At the load of the group-commit target, paced (open loop, \`bench/lib/paced.mjs\`) at 60% of each run's ceiling (c): ${n(ingest.atLoad.eventsPerSec)} events/s served, p50 ${ms(ingest.atLoad.p50)} ms, **p99 ${ms(ingest.atLoad.p99)} ms** (target < ${fmt(t.p99.ms)} ms, keeping up with the rate: ${status(t.p99.met)}).`, '');
      if (!t.hono.met) out.push(`**Missed: ≥ ${fmt(100 * t.hono.ratio)}% of bare Hono.** On this machine the durable-insert limit itself, ceiling (c), is ${pct(summaryOf(ingest.group.runs.map((g, i) => g.eventsPerSec / ingest.hono.runs[i].eventsPerSec)))} of bare Hono: raw inserts of the same rows, with nothing else to do, cannot reach the target, and Rapport writes profiles, identities and rollups besides the events. The writer thread is busy all the time (see its profile): what bounds ingest is SQLite's commit and row writes, not HTTP.`, '');
    } else {
      out.push(`Ratio of Rapport to the bare Hono ceiling: **${pct(ingest.ratioToHono)}**; to the raw SQLite ceiling: **${pct(ingest.ratioToSqlite)}** (ratios run by run). Target ≥ 60% of the lower ceiling (${ingest.lowerCeiling === 'sqlite' ? 'raw SQLite' : 'bare Hono'}): ${status(ingest.target.met)}.`, '');
    }
    out.push(
      '- Latency is autocannon\'s (whole milliseconds) for one batch under the full closed-loop load, so it is mostly queueing: 50 connections each waiting for their previous batch.',
      '- Ceiling (a) (`bench/ceiling-hono.mjs`): a Hono app on the same `@hono/node-server` adapter whose only route JSON-parses the body and answers `{"success":true}`: the price of HTTP and parsing alone.',
      `- Ceiling (b) (\`bench/ceiling-sqlite.mjs\`): the same rows Rapport writes to its \`events\` table for the same batches (every column, the \`data\` JSON of message and enrichment), 20 per transaction, in a database opened by Rapport's own \`SqliteStore.open\` (same schema and pragmas), each transaction durable before the next (${ingest.sqlite.runs?.[0]?.synchronous ?? 'see the script'}), one thread, no HTTP. Rapport's group commit lets concurrent batches share one fsync, which this ceiling (one transaction per batch, as the issue defines it) does not.`,
      ...(ingest.group ? [`- Ceiling (c) (\`bench/ceiling-sqlite.mjs --mode group\`): the same rows, ${s.connections} batches in flight at once, written through Rapport's own \`GroupCommit\` and \`WalSync\` (each batch a savepoint, each group one transaction and one fsync; ${fmt(ingest.group.batchesPerGroup.median, 1)} batches per group), one thread, no HTTP, SQLite's own checkpoints: the limit for durable inserts of this load. Rapport can come close to it or pass it, although it writes more, because its checkpoints run on a thread of their own (\`store/sqlite/checkpointer.ts\`) while the ceiling's stall its commits.`] : []),
      '- The writer thread (`collect/writer-thread.ts`) runs the ingest pipeline and its SQLite writes beside the main thread, which keeps HTTP, parsing, validation and enrichment; a third thread checkpoints the WAL (`store/sqlite/checkpointer.ts`).',
      `- Every Rapport run checks that what it acknowledged is in the file: ${ingest.problems.length ? `**problems: ${ingest.problems.join('; ')}**` : 'all acknowledged events were stored, no errors, no non-2xx answers'}.`,
      '',
    );
    if (ingest.target && !ingest.target.met) out.push(`**Missed.** The profile of an extra Rapport run shows where the server's time goes: ${profileLine(ingest.profile)}`, '');
    out.push(profileMd(ingest.profile, 'Profile of the Rapport server under this load: its main thread'));
    if (ingest.profile?.writer) out.push(profileMd(ingest.profile.writer, 'Profile of the writer thread under this load'));
  }

  if (decide) {
    const s = decide.settings;
    out.push('## 2. Decide', '');
    out.push(`\`POST /v1/decide\` for a page with ${s.slots} slots, ${fmt(s.profiles)} profiles (${fmt(s.events)} events), ${s.segments} segments and ${s.offers} offers; ${runs(s.runs)} of ${s.seconds} s at a fixed ${fmt(s.rate)} requests/s, each followed by ${s.maxSeconds} s closed loop for the maximum throughput.`, '');
    out.push(`| at ${fmt(s.rate)} requests/s | p50 | p90 | p99 | p99.9 | max | achieved rate | server CPU (cores) |`, '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    out.push(`| latency, ms | ${ms(decide.fixed.p50)} | ${ms(decide.fixed.p90)} | **${ms(decide.fixed.p99)}** | ${ms(decide.fixed.p999)} | ${ms(decide.fixed.maxMs, 1)} | ${n(decide.fixed.okPerSec)}/s | ${ms(decide.fixed.serverCpuCores)} |`);
    out.push('');
    if (decide.max) out.push(`Maximum throughput (closed loop, 50 connections): **${n(decide.max.okPerSec)} requests/s**, p50 ${n(decide.max.p50)} ms, p99 ${n(decide.max.p99)} ms (autocannon, whole ms), server CPU ${ms(decide.max.serverCpuCores)} cores.`, '');
    out.push(`Target p99 < 10 ms at 1,000 requests/s: ${status(decide.target.met)}. p99 of each run: ${decide.runs.map((r) => `${fmt(r.fixed.p99, 2)} ms`).join(', ')}; the slowest request of each run: ${decide.runs.map((r) => `${fmt(r.fixed.maxMs, 0)} ms`).join(', ')}. At this rate a single stall of the server of a few tens of milliseconds delays enough requests to move the p99 of a 10 s run. While it served these 1,000 requests/s, the server's main thread was preempted (involuntary context switches, /proc) ${n(decide.fixed.preemptionsPerSec)} times a second: on 2 cores it shares the CPU with its own V8 helper threads (concurrent GC, compiler) and with the load generator. The generator sent on schedule to within ${ms(decide.fixed.lagP99)} ms (p99 of its lateness, the timer granularity).`, '');
    out.push(
      `- The first decision after the server starts took ${fmt(decide.firstDecisionMs, 1)} ms: it compiles the site's rules and computes its ABC/RFM rankings (one segment uses \`computed.abc\`), which are then cached; it is not part of the figures above.`,
      '- Rules (`bench/lib/catalog.mjs`): search keyword of this visit, first/last/current referral medium and campaign, computed counters and sums (orders, revenue, visits, page views, average order value, days since first/last seen and last order), event counts in windows of 3 to 30 days, traits (tier, country, newsletter, email), device type/OS/browser, pages visited, the current page, identified or not, ABC class; all, any and not. Offers: 8 on `home-hero`, 7 on `sidebar`, 5 on `footer`, by priority, each with its segment (one per slot for everyone), 10% control groups, a frequency cap and a goal on some.',
      '- Visitors: 85% returning (a profile of the dataset; known customers send their user id half of the time), 15% new; 40% of the page views arrive from a search, campaign, social or referral link, the rest move within the shop.',
      '',
    );
    if (decide.problems.length) out.push(`Problems: ${decide.problems.join('; ')}`, '');
    if (!decide.target.met) {
      out.push(`**Missed.** The p99 is set by a few stalls per run, not by the cost of a decision (p50 ${ms(decide.fixed.p50)} ms, ${ms(decide.fixed.serverCpuCores)} cores of server CPU at 1,000/s). What one decision costs, from the profile of an extra closed-loop run: ${profileLine(decide.profile)}`, '');
    }
    out.push(profileMd(decide.profile, 'Profile of the server answering decisions (the whole life of an extra server process: start, first decision with its rankings, warm-up, closed loop)'));
  }

  if (growth) {
    out.push('## 3. Growth', '');
    out.push(`Decide (fixed ${fmt(growth.settings.rate)}/s for ${growth.settings.seconds} s, then closed loop for ${growth.settings.maxSeconds} s) and ingest (closed loop, ${growth.settings.ingestSeconds} s; 80% of batches from the tier's visitors) at each size, ${runs(growth.settings.runs)} each, interleaved.`, '');
    out.push('| profiles | events | database | generated in | decide p50 at 1,000/s | decide p99 at 1,000/s | decide max | ingest | first decision | server RSS at rest / peak |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const t of growth.tiers) {
      out.push(`| ${fmt(t.profiles)} | ${fmt(t.events)} | ${fmt(t.bytes / 1e6)} MB | ${fmt(t.generationSeconds, 1)} s | ${ms(t.decide.fixed.p50)} ms | **${ms(t.decide.fixed.p99)} ms** | ${n(t.decide.max?.okPerSec)}/s | ${n(t.ingest.eventsPerSec)} events/s | ${fmt(t.firstDecisionMs)} ms | ${mb(t.rssAtRestMb)} / ${mb(t.rssPeakMb)} |`);
    }
    out.push('', '![Decide latency and throughput against the number of profiles](bench/results/growth.svg)', '');
    if (growth.tiers.every((t) => t.reports)) {
      out.push(`Reports (\`GET /api/reports/overview\` of 30 days, what the console's first page reads, and \`GET /api/reports/attribution\` by keyword, first and last touch in turn), ${fmt(growth.tiers[0].reports.requests)} requests of each, one at a time, before the loads above; both read the rollups kept at ingest, so their cost follows the number of days and keywords, not of events or profiles:`, '');
      out.push('| profiles | events in the 30 days | overview p50 | overview p95 | overview max | attribution p50 | attribution p95 |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const t of growth.tiers) {
        const r = t.reports;
        out.push(`| ${fmt(t.profiles)} | ${fmt(r.eventsIn30Days)} | ${fmt(r.overview.p50, 1)} ms | **${fmt(r.overview.p95, 1)} ms** | ${fmt(r.overview.max, 1)} ms | ${fmt(r.attribution.p50, 1)} ms | ${fmt(r.attribution.p95, 1)} ms |`);
      }
      out.push('', `Before rollups, the overview scanned the 30 days of events on every view: 39–95 s at 1,000,000 profiles.`, '');
    }
    out.push(`Decide p99 at ${fmt(growth.target.to)} profiles is ${fmt(growth.target.measured, 2)}× the figure at ${fmt(growth.target.from)} (target ≤ 1.5×): ${status(growth.target.met)}.`, '');
    out.push(`- "generated in" is the cumulative time of the one generating pass up to that tier (${!growth.generation.cached.length ? 'all generated by the growth step' : run.steps.some((st) => st.name === 'datasets') && !run.reusedData ? 'made by the datasets step of this run, before decide and identity' : `datasets of ${growth.generation.cached.map((c) => fmt(c)).join(', ')} visitors were reused from an earlier run`}). "first decision" is the first request after the server starts (rules compiled, ABC/RFM rankings computed over all profiles). The ingest runs add their events to the tier, as live traffic would.`, '');
    const big = growth.tiers.at(-1);
    if (big.problems?.length) out.push(`Problems: ${big.problems.join('; ')}`, '');
    const small = growth.tiers[0];
    const perRun = (t) => t.decide.runs.map((r) => `${fmt(r.fixed.p99, 1)}`).join(', ');
    const slowest = (t) => t.decide.runs.map((r) => `${fmt(r.fixed.maxMs, 0)}`).join(', ');
    out.push(`p99 of each run at ${fmt(small.profiles)} profiles: ${perRun(small)} ms (slowest requests ${slowest(small)} ms); at ${fmt(big.profiles)}: ${perRun(big)} ms (slowest ${slowest(big)} ms). The cost of a decision hardly moves with the number of profiles (p50 ${ms(small.decide.fixed.p50)} → ${ms(big.decide.fixed.p50)} ms, maximum throughput ${n(small.decide.max?.okPerSec)} → ${n(big.decide.max?.okPerSec)} requests/s); the p99 of a 10 s run is set by a few stalls of the server, so it moves from run to run more than it moves with size.`, '');
    if (!growth.target.met) out.push(`**Missed.** Profile at ${fmt(big.profiles)} profiles: ${profileLine(big.profile)}`, '');
    out.push(profileMd(big.profile, `Profile of decisions at ${fmt(big.profiles)} profiles (the whole life of an extra server process: start, first decision with the ABC/RFM rankings over all profiles, warm-up, closed loop)`));
  }

  if (identity) {
    const s = identity.settings;
    out.push('## 4. Identity', '');
    out.push(`On a copy of the ${fmt(s.profiles)}-profile dataset (${fmt(s.events)} events).`, '');
    out.push('| | per second | p50 | p99 | server CPU per operation |', '| --- | ---: | ---: | ---: | ---: |');
    out.push(`| identify with merge (${s.connections} at a time) | ${n(identity.merges.mergesPerSec, 1)} merges | ${ms(identity.merges.p50)} ms | ${ms(identity.merges.p99)} ms | ${ms(identity.merges.cpuMsPerMerge)} ms |`);
    out.push(`| profile read with its timeline (one at a time) | ${n(identity.reads.readsPerSec)} reads | ${ms(identity.reads.p50)} ms | ${ms(identity.reads.p99)} ms | ${ms(identity.reads.cpuMsPerRead)} ms |`);
    out.push('');
    out.push(
      `- A merge: one \`identify\` (in a batch, as the SDK sends it after a login) whose anonymous id belongs to an anonymous profile with its history and whose user id belongs to another, known customer: the server folds the first profile into the second (events, identities, counters move; the merge is recorded). Every pair is used once (${fmt(s.pairsUsed)} of ${fmt(s.pairsAvailable)} available). Each run sends for ${s.seconds} s, then waits for the answers in flight; merges per second are the merges found in the database over the time until the last answer.`,
      `- A read: \`GET /api/profiles/:id\` (identities, traits, computed attributes, segments, merges) then \`GET /api/profiles/:id/events?limit=50\`, for known customers' profiles (${fmt(identity.reads.eventsPerTimeline.median, 1)} events per timeline on average); p50 of the two parts: ${ms(identity.reads.profileP50)} ms and ${ms(identity.reads.timelineP50)} ms.`,
      '',
    );
    if (identity.problems.length) out.push(`Problems: ${identity.problems.join('; ')}`, '');
    out.push(`Profile of an extra run of merges then reads: ${profileLine(identity.profile)}`, '');
    out.push(profileMd(identity.profile, 'Profile of the server merging and reading profiles'));
  }

  if (sdk) {
    out.push('## 5. SDK', '');
    out.push('Script-tag bundles, each measured by the same code in this run: the file as shipped, minified by terser with our build\'s settings (compress, 2 passes, no comments), then gzip -9 and brotli -q 11.', '');
    out.push('| SDK | file measured | shipped | minified | min + gzip | min + brotli | what it covers |', '| --- | --- | ---: | ---: | ---: | ---: | --- |');
    for (const r of sdk.sizes) out.push(`| ${r.name === 'Rapport' ? '**Rapport**' : r.name} ${r.version} | \`${r.package === '@rapport/sdk' ? r.file : `${r.package}/${r.file.split(`${r.package}/`)[1] ?? r.file}`}\` | ${kb(r.shippedBytes)} | ${kb(r.minBytes)} | **${kb(r.gzipBytes)}** | ${kb(r.brotliBytes)} | ${r.covers} |`);
    out.push('', `Budget: ${kb(sdk.budget.bytes)} min+gzip for ours: ${status(sdk.budget.met)}.`, '');
    const m = sdk.mainThread;
    out.push(`Main-thread cost in headless Chromium ${m.chromium} (${m.rounds} rounds per run, ${runs(m.runs.length)}), page served from a local stub that answers at once:`, '');
    out.push('| | p50 | p99 |', '| --- | ---: | ---: |');
    out.push(`| one \`track()\` call (19 calls timed together, per call) | ${ms(m.trackUsP50, 1)} µs | ${ms(m.trackUsP99, 1)} µs |`);
    out.push(`| the 20th \`track()\` and \`flush()\` of the 20 queued events, until its promise resolves (fetch to 127.0.0.1 included) | ${ms(m.flushMsP50)} ms | ${ms(m.flushMsP99)} ms |`);
    out.push('');
    out.push(`Main thread busy per round of 20 \`track()\` calls and their flush (Chrome's TaskDuration): **${ms(m.mainThreadMsPerRound)} ms** (wall time ${ms(m.wallMsPerRound)} ms).`, '');
    out.push(`Profile of the SDK in the page (one more round of the loop under the CPU profiler, names from the source map): ${profileLine(m.profile)}`, '');
    out.push(profileMd(m.profile, 'Profile of the SDK in Chromium'));
    if (sdk.peers) out.push(...peersMd(sdk.peers));
  }

  out.push('## 6. Memory', '', 'Resident set size (RSS) of the server process, from /proc. The SQLite page cache (64 MB) and memory-mapped reads (up to 256 MB of the file) count in it.', '');
  out.push('| state | RSS |', '| --- | ---: |');
  if (ingest) {
    out.push(`| at rest, empty database, just started | ${mb(ingest.rapport.rssAtRestMb.median)} |`);
    out.push(`| under the ingest load (peak) | ${mb(ingest.rapport.rssUnderLoadMb.median)} |`);
  }
  if (decide) out.push(`| ${fmt(decide.settings.profiles)} profiles, at rest / under the decide loads (peak) | ${mb(decide.rssAtRestMb)} / ${mb(decide.rssUnderLoadMb)} |`);
  if (growth) for (const t of growth.tiers) out.push(`| ${fmt(t.profiles)} profiles, at rest / peak under decide and ingest loads | ${mb(t.rssAtRestMb)} / ${mb(t.rssPeakMb)} |`);
  out.push('');

  if (postgres) out.push(...renderPostgres(postgres));
  if (automations) out.push(...renderAutomations(automations));
  if (repair) out.push(...renderRepair(repair));
  if (recommendations) out.push(...renderRecommendations(recommendations));

  out.push('## Run', '', '| step | seconds |', '| --- | ---: |', ...run.steps.map((s) => `| ${s.name} | ${fmt(s.seconds, 1)} |`), `| **total** | **${fmt(run.seconds, 1)}** |`, '');
  if (worstCase || worstCaseBefore) out.push(...renderWorstCase(worstCase, worstCaseBefore));
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

/** A time in ms with the digits its size deserves. */
const msAuto = (v) => (Number.isFinite(v) ? `${fmt(v, v < 0.1 ? 4 : v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0)} ms` : '–');
const bytes = (b) => (!Number.isFinite(b) ? '–' : b < 10_000 ? `${fmt(b)} B` : b < 1_000_000 ? `${fmt(b / 1024, 1)} KB` : `${fmt(b / 1_048_576, 1)} MB`);
const times = (r) => (!Number.isFinite(r) ? '' : r < 1 ? `×${r.toPrecision(2)}` : `×${fmt(r, r < 10 ? 2 : r < 1000 ? 1 : 0)}`);
const statusList = (counts) => Object.entries(counts ?? {}).map(([k, v]) => (Object.keys(counts).length > 1 ? `${k} ×${v}` : k)).join(', ') || '–';

/**
 * The worst-case inputs of the security issue (bench/worst-case.mjs), end to end on the built
 * server: the figures of the old code (bench/results/worst-case-before.json, recorded once from a
 * checkout of the commit before the fixes) beside the current ones, each against its own baseline.
 */
function renderWorstCase(now, before) {
  const columns = [before && ['before', before], now && ['now', now]].filter(Boolean);
  const label = ([name, w]) => `${name} (\`${w.server.commit?.slice(0, 7) ?? '?'}\`${w.server.changedFiles?.length ? ' + uncommitted changes' : ''})`;
  // Each row: [what, (w) => cell]; a cell is the worst input's figure, then its baseline of the same run.
  const vs = (worst, base, fmtv = msAuto, baseLabel = 'ordinary') => (worst === undefined ? '–' : `**${fmtv(worst)}** (${baseLabel} ${fmtv(base)}; ${times(worst / base)})`);
  const inProc = (kind) => (w) => {
    const r = w.referrer?.inProcess;
    if (!r?.[kind]) return '–';
    const x = r[kind];
    const figure = x.timedOut ? `**> ${fmt(x.limitMs / 1000)} s** (ended; one call outlasted the limit)` : x.error ? `error: ${x.error.slice(0, 80)}` : vs(x.medianMs, r.ordinary.medianMs);
    return x.timedOut ? figure : `${figure}, ${fmt(x.calls)} call${x.calls === 1 ? '' : 's'}`;
  };
  const e2e = (w) => w.referrer?.endToEnd;
  const page = (field) => (w) => {
    const e = e2e(w);
    if (!e) return '–';
    const [a, b] = [e[field].worst, e[field].ordinary];
    return `${vs(a.answer.p50, b.answer.p50)}; max ${msAuto(a.answer.maxMs)}; ${fmt(a.requests)} request${a.requests === 1 ? '' : 's'}, status ${statusList(a.statuses)}`;
  };
  const health = (field) => (w) => {
    const e = e2e(w);
    if (!e) return '–';
    const [a, b] = [e[field].worst.health, e[field].ordinary.health];
    return `p50 ${vs(a.p50, b.p50)}, max ${vs(a.maxMs, b.maxMs)}; ${fmt(a.count)} probes`;
  };
  const ctx = (w) => w.context?.sharedContext && w.context;
  const prof = (w) => w.profile?.sizes && w.profile;
  const labels = (now ?? before).referrer?.endToEnd?.labels ?? (now ?? before).settings?.e2eLabels;
  const rows = [
    ['**4. Referrer host labels**', () => ''],
    ['`parseReferrer`, 600-label host, ms per call (ordinary: a Google search referrer)', inProc('labels600')],
    ['… 1,000-label host', inProc('labels1000')],
    ['… the longest referrer the wire keeps (4,096 characters)', inProc('longest4096')],
    [`page view (\`/v1/batch\`) whose referrer host has ${fmt(labels)} labels: time to answer, p50`, page('pageView')],
    ['`/healthz` while those page views are in flight', health('pageView')],
    ['`/v1/decide` with that referrer: time to answer, p50', page('decide')],
    ['`/healthz` while those decisions are in flight', health('decide')],
    ['**5. Shared batch context**', () => ''],
    ['500 tiny messages under a 2,000-key batch `context`: bytes stored (events\' `data`) per request byte (ordinary: a batch of the same size)', (w) => {
      const c = ctx(w);
      if (!c) return '–';
      const s = c.sharedContext;
      return `${vs(s.amplification.median, c.ordinary.amplification.median, (v) => `${fmt(v, v < 10 ? 2 : 1)}×`)}: ${bytes(s.storedBytes)} stored of a ${bytes(s.requestBytes)} request`;
    }],
    ['… its answer', (w) => {
      const c = ctx(w);
      if (!c) return '–';
      const s = c.sharedContext;
      return `status ${statusList(s.statuses)}, ${fmt(s.accepted)} accepted, ${fmt(s.rejected)} rejected${Object.keys(s.rejectedCodes ?? {}).length ? ` (${Object.entries(s.rejectedCodes).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})` : ''}, in ${vs(s.ms.median, c.ordinary.ms.median)}`;
    }],
    ['… bytes the request wrote to the WAL (pages and indexes) per request byte', (w) => {
      const c = ctx(w);
      if (!c?.sharedContext.walAmplification) return '–';
      return `${vs(c.sharedContext.walAmplification.median, c.ordinary.walAmplification.median, (v) => `${fmt(v, v < 10 ? 2 : 1)}×`)}: ${bytes(c.sharedContext.walBytes)}`;
    }],
    ['**6. Per-profile state**', () => ''],
    ['profile after N distinct 150-character event names, 100 per batch: `GET /api/profiles/:id` bytes (ordinary: as many events, repeating names)', (w) => {
      const p = prof(w);
      if (!p) return '–';
      const [a, b] = [p.sizes.uniqueNames, p.sizes.ordinary];
      return `N = ${fmt(p.growth.uniqueNames.events)}: ${vs(a.apiBytes, b.apiBytes, bytes)}; stored row ${bytes(a.storedBytes)}; ${fmt(a.eventNamesKept)} names kept${a.dropped?.events ? ` (${fmt(a.dropped.events)} dropped, counted)` : ''}`;
    }],
    ['… time to send the N names (one batch at a time)', (w) => {
      const p = prof(w);
      if (!p) return '–';
      const [a, b] = [p.growth.uniqueNames, p.growth.ordinary];
      return `${vs(a.seconds * 1000, b.seconds * 1000, (v) => `${fmt(v / 1000, 1)} s`)}; slowest batch ${msAuto(a.batch.maxMs)}; status ${statusList(a.statuses)}`;
    }],
    ['decide for that visitor, p50 (ordinary: the ordinary profile\'s visitor)', (w) => {
      const p = prof(w);
      return p ? `${vs(p.decideSelf.uniqueNames.p50, p.decideSelf.ordinary.p50)}; max ${msAuto(p.decideSelf.uniqueNames.maxMs)}` : '–';
    }],
    ['other visitors\' decide at a fixed rate while writers send new names to the big profile: p50 (ordinary: the writers send repeating names to the ordinary profile)', (w) => {
      const p = prof(w);
      return p ? vs(p.load.uniqueNames.decideP50.median, p.load.ordinary.decideP50.median) : '–';
    }],
    ['… p99', (w) => {
      const p = prof(w);
      return p ? vs(p.load.uniqueNames.decideP99.median, p.load.ordinary.decideP99.median) : '–';
    }],
    ['… max', (w) => {
      const p = prof(w);
      return p ? vs(p.load.uniqueNames.decideMax.median, p.load.ordinary.decideMax.median) : '–';
    }],
    ['… the writers\' batches per second', (w) => {
      const p = prof(w);
      return p ? vs(p.load.uniqueNames.writerBatchesPerSec.median, p.load.ordinary.writerBatchesPerSec.median, (v) => fmt(v, 0)) : '–';
    }],
  ];
  const s = (now ?? before).settings;
  const out = ['## Worst-case inputs, end to end', ''];
  out.push(
    `\`node bench/worst-case.mjs\`: the inputs of the security issue's findings 4 to 6 sent to the built server (a process of its own, as in every benchmark here), each beside an ordinary input of the same kind measured in the same run: **bold** is the worst input, in brackets its baseline and the ratio of the two. ` +
      'The "before" column is the old code, measured once from a checkout of the commit before the fixes (`node bench/worst-case.mjs --server-root <checkout> --out worst-case-before`, kept as `bench/results/worst-case-before.json`); "now" is this run. Any answer counts, 4xx included: a fixed server may refuse or cut these inputs.',
    '',
  );
  out.push(`| input | ${columns.map(label).join(' | ')} |`, `| --- | ${columns.map(() => '---').join(' | ')} |`);
  for (const [what, cell] of rows) out.push(`| ${what} | ${columns.map(([, w]) => cell(w)).join(' | ')} |`);
  out.push('');
  out.push(
    `- Referrers: in process on the package's \`dist/\`, each call with a host of its own (no cache hit), in a worker thread that is ended when a case outlasts ${fmt(s.referrerLimitSeconds)} s; up to ${fmt(s.referrerCalls)} calls per kind, fewer once they pass ${fmt(s.referrerBudgetSeconds)} s. \`parseReferrer\` looks at the first 2,048 characters of a referrer (MAX_URL_LENGTH of packages/referrer/src/decode.ts), so the 4,096-character referrer is cut there before its host is read.`,
    `- End to end: page views of about 2 KB and decisions for 3 slots, one after the other (at least ${fmt(s.worstRequests)} with the worst referrer and ${fmt(s.ordinaryRequests)} with an ordinary one, each kind for at least ${fmt(s.phaseSeconds)} s), while a \`/healthz\` probe goes out every ${fmt(s.healthzEveryMs)} ms whether or not the earlier ones were answered, timed from its scheduled moment.`,
    '- Shared context: the bytes of the `data` column of the events the request stored, summed in the database file; the WAL bytes are the size of the WAL after the request, emptied just before it by a TRUNCATE checkpoint (every page the request wrote, indexes included, plus the WAL\'s frame headers).',
    `- Per-profile state: ${fmt(s.others)} other visitors with ordinary histories and the 50 segments and 20 offers of the decide benchmark; their decisions at ${fmt(s.decideRate)} requests/s (open loop, \`bench/lib/paced.mjs\`) for ${fmt(s.loadSeconds)} s while ${fmt(s.writers)} clients send batches of ${fmt(s.writerBatch)} track calls, one after the other, ${s.loadRuns > 1 ? `${fmt(s.loadRuns)} runs of each load interleaved (median of the runs)` : 'one run of each load'}. The decisions are an open loop: when the writers keep the server's main thread busy, the queue of decisions grows for the whole run, so the worst figures grow with its length.`,
  );
  for (const [name, w] of columns) {
    const failed = (w.problems ?? []).concat(['referrer', 'context', 'profile'].filter((c) => w[c]?.error).map((c) => `${c} failed`));
    if (failed.length) out.push(`- Problems in the ${name} run: ${[...new Set(failed)].join('; ')}.`);
  }
  for (const [name, w] of columns) out.push(`- ${name[0].toUpperCase()}${name.slice(1)}: commit \`${w.server.commit?.slice(0, 7) ?? '?'}\` ("${(w.server.subject ?? '').replace(/\|/g, '\\|').slice(0, 120)}${(w.server.subject ?? '').length > 120 ? '…' : ''}"), measured ${w.finishedAt?.slice(0, 16).replace('T', ' ') ?? '?'} UTC in ${fmt(w.seconds, 0)} s${w.settings?.quick ? ', quick settings' : ''}.`);
  out.push('');
  return out;
}

const cores = (s) => ms(s, 2);
const share = (part, whole) => (whole > 0 ? `${fmt((100 * part) / whole, 0)}%` : '–');

/** The statements a PostgreSQL database spent its execution time in (pg_stat_statements), as a collapsed table. */
function statementsMd(st, title) {
  if (!st?.statements?.length) return '';
  const out = [`<details><summary>${title}</summary>`, '', `Execution time inside PostgreSQL over the run (pg_stat_statements): ${fmt(st.totalExecMs / 1000, 2)} s in all.`, ''];
  out.push('| statement | calls | mean ms | max ms | rows per call | share of the time |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const q of st.statements) out.push(`| \`${q.query.replace(/\|/g, '\\|').replace(/`/g, "'").slice(0, 160)}${q.query.length > 160 ? '…' : ''}\` | ${fmt(q.calls)} | ${fmt(q.meanMs, 3)} | ${fmt(q.maxMs, 1)} | ${fmt(q.rowsPerCall, 1)} | ${fmt(100 * q.share, 1)}% |`);
  out.push('', '</details>', '');
  return out.join('\n');
}

/** The postgres step (bench/postgres.mjs): the same server on SQLite and on PostgreSQL, side by side. */
function renderPostgres(p) {
  const out = ['## 7. PostgreSQL beside SQLite', ''];
  const s = p.settings;
  const pg = p.postgres.settings;
  out.push(
    `\`node bench/postgres.mjs\`: the same built server on its two stores, in the same run, the configurations interleaved run by run (SQLite, PostgreSQL, PostgreSQL with 2 nodes, then again), so that each PostgreSQL figure is read against the SQLite figure measured beside it${s.quick ? ' (quick settings: tiny tiers, one short run each)' : ''}. The step took ${fmt(p.seconds / 60, 1)} minutes${Object.values(p.decide?.copies ?? {}).some((c) => !c.cached) ? ', copies of the datasets included' : ''}, and ended ${p.finishedAt?.slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    `- PostgreSQL ${pg.server_version?.split(' ')[0] ?? '?'} (Debian's binaries), a cluster of its own (\`bench/lib/postgres.mjs\`, data in \`${p.postgres.dataDir}/\`) on 127.0.0.1, **durable as in production**: fsync ${pg.fsync}, synchronous_commit ${pg.synchronous_commit}, full_page_writes ${pg.full_page_writes} (wal_sync_method ${pg.wal_sync_method}); shared_buffers ${pg.shared_buffers}, max_connections ${pg.max_connections}, max_wal_size ${pg.max_wal_size}, work_mem ${pg.work_mem}, jit ${pg.jit}; everything else as initdb makes it. It runs on the same 2 cores as the nodes and the load generator.`,
    `- Nodes: \`rapport serve --db postgres://…\` (pool size: ${s.poolSize}), like every server here rate limits off; SQLite: synchronous=FULL (the default). Two nodes: both on the same database behind Debian's nginx (${p.nginx?.source ? `\`${p.nginx.source}\` as shipped, with these changes for one machine: ${p.nginx.changes.join('; ')}` : 'a minimal upstream config'}; in a main config of \`daemon off\`, \`worker_processes auto\`), so nginx's CPU is on these 2 cores too.`,
    '- CPU: user + system seconds from `/proc/<pid>/stat` over the measured window, for the node processes, for the whole postgres server (postmaster, every backend and helper process, and the backends that exited, through the postmaster\'s cutime/cstime), for nginx (master and workers) and for the load generator (this process); "machine" is the busy time of all cores from `/proc/stat`, which includes other processes of this shared machine. Given in cores (CPU seconds per second).',
    '',
  );
  const i = p.ingest;
  if (i) {
    out.push('### Ingest', '');
    out.push(`The load of section 1: \`POST /v1/batch\`, batches of ${s.eventsPerBatch} messages from a pool of ${fmt(s.visitorPool)} visitors, ${s.connections} connections, ${runs(s.runs)} of ${s.seconds} s per configuration, each on a fresh database.`, '');
    out.push('| configuration | events/s | events/s per node | p50 ms | p99 ms | node CPU | postgres CPU | nginx CPU | load generator | machine busy (of 2) | events per CPU-second (node + postgres) |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [k, label] of INGEST_KINDS) {
      const r = i[k];
      if (!r) continue;
      out.push(`| ${label} | **${n(r.eventsPerSec)}** | ${n(r.eventsPerSecPerNode)} | ${n(r.p50)} | ${n(r.p99)} | ${cores(r.cpu.node)} | ${cores(r.cpu.postgres)} | ${cores(r.cpu.nginx)} | ${cores(r.cpu.loadGenerator)} | ${cores(r.cpu.machineBusy)} | ${n(r.eventsPerServerCpuSecond)} |`);
    }
    out.push('');
    out.push(
      `PostgreSQL, 1 node, over SQLite, run by run: **${pct(i.ratioPostgresToSqlite)}** of its events/s (target ≥ ${fmt(100 * i.target.ratio)}%: ${status(i.target.met)}); per CPU-second of the server side ${pct(i.ratioPerCpuPostgresToSqlite)}. Two PostgreSQL nodes behind nginx: ${pct(i.ratioTwoNodesToOne)} of one node's events/s, ${pct(i.ratioTwoNodesToSqlite)} of SQLite's.`,
      '',
    );
    const pgr = i.postgres;
    const busy = pgr.cpu.machineBusy.median;
    const machine = pgr.cpu.machineCores?.median ?? 2;
    const parts = `node ${share(pgr.cpu.node.median, machine)}, postgres ${share(pgr.cpu.postgres.median, machine)}, load generator ${share(pgr.cpu.loadGenerator.median, machine)}, other processes of the machine ${share(pgr.cpu.others.median, machine)}`;
    out.push(
      `Where the CPU went in the PostgreSQL 1-node runs (shares of the machine's ${fmt(machine, 0)} cores): ${parts}; ` +
        `the postgres server was ${pct(pgr.cpu.postgresShare)} of the server side's CPU (node + postgres). ` +
        (busy >= 0.9 * machine
          ? `The cores were saturated (${fmt(busy, 2)} of ${fmt(machine, 0)} busy)${pgr.cpu.others.median > 0.2 ? `, ${fmt(pgr.cpu.others.median, 2)} cores of it by other processes of this shared machine, which the benchmark does not control: the absolute figures are lower than on an idle machine, and every figure here is to be read against the SQLite one of the same run` : ''}.`
          : `The cores were not saturated (${fmt(busy, 2)} of ${fmt(machine, 0)} busy): the limit is the wait between the node and the database (round trips, commits), not CPU.`),
      '',
    );
    if (i.profile?.run) {
      const c = i.profile.run.cpu;
      out.push(`Profiled run (one more PostgreSQL 1-node run under \`--cpu-prof\`, not counted: ${fmt(i.profile.run.eventsPerSec)} events/s): node ${fmt(c.node, 2)} cores, postgres ${fmt(c.postgres, 2)} cores (${share(c.postgres, c.server)} of node + postgres), machine ${fmt(c.machineBusy, 2)} of ${fmt(c.machineCores, 0)} busy. In the node: ${profileLine(i.profile.summary)}`, '');
      out.push(profileMd(i.profile.summary, 'Profile of a PostgreSQL node under the ingest load'));
    }
    out.push(statementsMd(i.postgres.runs.at(-1)?.statements, 'Where PostgreSQL spent its time in the last PostgreSQL 1-node ingest run'));
    out.push(`- Every run checks that what it acknowledged is in the database: ${i.problems.length ? `**problems: ${i.problems.join('; ')}**` : 'all acknowledged events were stored, no errors, no non-2xx answers'}.`);
    const spread = i['postgres-2']?.runs?.map((r) => r.upstreams).filter(Boolean) ?? [];
    if (spread.length) out.push(`- nginx spread the requests over the two nodes (its access log, per run): ${spread.map((u) => Object.values(u).join(' / ')).join('; ')}.`);
    out.push('');
  }
  const d = p.decide;
  if (d) {
    out.push('### Decide', '');
    out.push(`\`POST /v1/decide\` at a fixed ${fmt(s.rate)} requests/s (open loop, \`bench/lib/paced.mjs\`), the request mix, 3 slots, 50 segments and 20 offers of section 2; ${runs(s.decideRuns)} of ${s.decideSeconds} s per configuration, all servers started before the first run and kept for the whole part. No recommendation training runs during the runs: a server trains a site whose model is missing or stale 5 s after it starts, then hourly, and that training is waited for first (a model that would fall due within half an hour is trained on request instead)${d.tiers.some((t) => t.firstTrainingMs != null) ? ` (${d.tiers.filter((t) => t.firstTrainingMs != null).map((t) => `${t.label} at ${fmt(t.profiles)}: waited ${fmt(t.firstTrainingMs / 1000, 0)} s`).join('; ')})` : ''}, so that they measure decisions between trainings.`, '');
    out.push('| configuration | profiles | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | achieved rate | non-2xx / errors | node CPU | postgres CPU | CPU ms per decision (node + postgres) | first decision ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const t of d.tiers) {
      const f = t.fixed;
      out.push(`| ${t.label} | ${fmt(t.profiles)} | ${ms(f.p50)} | ${ms(f.p90)} | **${ms(f.p99)}** | ${ms(f.p999)} | ${ms(f.maxMs, 1)} | ${n(f.okPerSec)}/s | ${fmt(f.non2xx.max)} / ${fmt(f.errors.max)} | ${cores(f.cpu.node)} | ${cores(f.cpu.postgres)} | ${ms(f.serverCpuMsPerDecision)} | ${fmt(t.firstDecisionMs, 0)} |`);
    }
    out.push('');
    // What a decision costs in CPU, and what 1,000 of them a second ask of the 2 cores.
    const perDecision = (x, k) => (1000 * x.fixed.cpu[k].median) / x.fixed.okPerSec.median;
    const costs = d.tiers.map((x) => {
      const need = (s.rate * perDecision(x, 'server')) / 1000 + x.fixed.cpu.loadGenerator.median + x.fixed.cpu.nginx.median;
      return `${x.label} at ${fmt(x.profiles)}: node ${fmt(perDecision(x, 'node'), 2)} ms${x.name === 'sqlite' ? '' : ` + postgres ${fmt(perDecision(x, 'postgres'), 2)} ms`}, so ${fmt(need, 2)} of the ${fmt(x.fixed.cpu.machineCores?.median ?? 2, 0)} cores at ${fmt(s.rate)}/s with the load generator${x.fixed.cpu.nginx.median > 0 ? ' and nginx' : ''}`;
    });
    out.push(`CPU per decision (median run): ${costs.join('; ')}. Other processes of the machine took ${d.tiers.map((x) => fmt(x.fixed.cpu.others.median, 2)).join(', ')} cores in these runs (same order). An open loop whose server side needs most of the machine queues: once the cores are short, latency is the queue, not the query.`, '');
    const t = d.target;
    const aloneTier = d.tiers.find((x) => x.name === 'postgres-alone');
    const interleaved = d.tiers.find((x) => x.name === 'postgres' && x.profiles === t.profiles);
    const how = aloneTier
      ? ` The target is read from the runs of the PostgreSQL node alone: after the interleaved runs and the reports, every other server of the part is stopped, postgres writes its dirty pages out (\`CHECKPOINT\`) and the node gets 5 s of warm-up; ${interleaved ? `interleaved with the other configurations (five more servers and nginx on the same 2 cores), its p99 was ${ms(interleaved.fixed.p99)} ms.` : ''}`
      : '';
    out.push(`PostgreSQL decide p99 at ${fmt(s.rate)} requests/s with ${fmt(t.profiles)} profiles: ${t.skipped ? '**not measured**' : `**${fmt(t.measured, 2)} ms**`} (target < ${fmt(t.p99Ms)} ms: ${t.skipped ? 'not measured' : status(t.met)}).${how}`, '');
    const copies = Object.entries(d.copies ?? {});
    if (copies.length) {
      out.push('Datasets: the SQLite tiers of section 3, copied to PostgreSQL by `rapport copy --from <file> --to <url>`, then `ANALYZE`d:', '');
      out.push('| tier | rows (all tables) | copy time | rows/s | SQLite file | PostgreSQL database |', '| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const [tier, c] of copies) out.push(`| ${fmt(Number(tier))} visitors | ${fmt(c.rows)} | ${fmt(c.seconds, 1)} s | **${fmt(c.rowsPerSec)}** | ${mb(c.source.bytes / 1e6)} | ${mb(c.bytes / 1e6)} |`);
      out.push('');
      const mism = copies.filter(([, c]) => c.mismatch?.length);
      if (mism.length) out.push(`Copies that do not match their source: ${mism.map(([tier, c]) => `${fmt(Number(tier))}: ${c.mismatch.join(', ')}`).join('; ')}.`, '');
    }
    if (d.profile?.run) {
      const r = d.profile.run;
      out.push(`Profiled run (one more PostgreSQL node, ${fmt(r.profiles)} profiles, closed loop of 50 connections under \`--cpu-prof\`, not counted): ${fmt(r.okPerSec)} decisions/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms; node ${fmt(r.cpu.node, 2)} cores, postgres ${fmt(r.cpu.postgres, 2)} cores (${share(r.cpu.postgres, r.cpu.server)} of node + postgres), load generator ${fmt(r.cpu.loadGenerator, 2)}, machine ${fmt(r.cpu.machineBusy, 2)} of ${fmt(r.cpu.machineCores, 0)} busy. In the node: ${profileLine(d.profile.summary)}`, '');
      out.push(profileMd(d.profile.summary, 'Profile of a PostgreSQL node answering decisions'));
      out.push(statementsMd(r.statements, 'Where PostgreSQL spent its time in that run'));
    }
    const pgTop = [...d.tiers].reverse().find((x) => x.name === 'postgres');
    if (pgTop) out.push(statementsMd(pgTop.runs.at(-1)?.statements, `Where PostgreSQL spent its time in the last decide run at ${fmt(pgTop.profiles)} profiles, 1 node, 1,000/s`));
    for (const sk of d.skipped ?? []) out.push(`- Not measured: ${sk}.`);
    if (d.problems?.length) out.push(`- Problems: ${d.problems.join('; ')}.`);
    const spread = d.tiers.find((x) => x.name === 'postgres-2')?.runs?.map((r) => r.upstreams).filter(Boolean) ?? [];
    if (spread.length) out.push(`- nginx spread the decisions over the two nodes (per run): ${spread.map((u) => Object.values(u).join(' / ')).join('; ')}.`);
    out.push('');
    const timed = d.tiers.filter((x) => x.reports);
    if (timed.length) {
      const repeats = timed[0].reports.cases[0].ms.length;
      out.push('### Funnels and retention', '');
      out.push(
        `The reports that read events, not rollups, on the same servers after their decide runs: each asked ${repeats} times, one at a time, through the admin API as the console asks them (\`POST /api/reports/funnel\` with the steps Product Viewed → Product Added → Order Completed within 7 days; \`GET /api/reports/retention\`, weekly cohorts and the 12 weeks after). Median of the ${repeats} (maximum in brackets), and the people counted (the funnel's first step, the cohorts' people):`,
        '',
      );
      const cases = timed[0].reports.cases.map((c) => c.name);
      out.push(`| report | ${timed.map((x) => `${x.label}, ${fmt(x.profiles)} profiles`).join(' | ')} |`, `| --- |${timed.map(() => ' ---: |').join('')}`);
      for (const name of cases) {
        const cells = timed.map((x) => {
          const c = x.reports.cases.find((y) => y.name === name);
          return c ? `**${secs(c.medianMs)}** (${secs(c.maxMs)}), ${fmt(c.counted)} people` : '–';
        });
        out.push(`| ${name} | ${cells.join(' | ')} |`);
      }
      const t = d.reportsTarget;
      if (t) out.push('', `The slowest funnel (target < ${secs(t.ms)} at ${fmt(t.profiles)} profiles): ${t.stores.map((x) => `${x.label} ${secs(x.slowest.medianMs)} (${x.slowest.name})`).join('; ')}: ${status(t.met)}. Retention has no target of its own; it is timed beside them.`);
      out.push('');
    }
  }
  const scale = p.ingestAtScale;
  if (scale?.tiers?.length || scale?.skipped?.length) {
    out.push('### Ingest at 100,000 and 1,000,000 profiles', '');
    out.push(
      `The ingest load above, after the decide part, into each tier: every configuration on a clone of the tier (the SQLite file copied, the PostgreSQL database made from the tier's copy as a template; both removed afterwards), for the tier's site, 80% of the batches from the tier's people and 20% from new visitors, so that identities and profiles are looked up and updated among the tier's rows. ${runs(s.runs)} of ${s.seconds} s per configuration, interleaved; the runs of one configuration add to the same clone.`,
      '',
    );
    out.push('| profiles | configuration | events/s | events/s per node | p50 ms | p99 ms | node CPU | postgres CPU | machine busy (of 2) | events per CPU-second (node + postgres) |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const x of scale.tiers) {
      for (const [k, label] of INGEST_KINDS) {
        const r = x[k];
        out.push(`| ${fmt(x.profiles)} | ${label} | **${n(r.eventsPerSec)}** | ${n(r.eventsPerSecPerNode)} | ${n(r.p50)} | ${n(r.p99)} | ${cores(r.cpu.node)} | ${cores(r.cpu.postgres)} | ${cores(r.cpu.machineBusy)} | ${n(r.eventsPerServerCpuSecond)} |`);
      }
    }
    out.push('');
    for (const x of scale.tiers) {
      out.push(`- ${fmt(x.profiles)} profiles: PostgreSQL, 1 node, over SQLite, run by run: **${pct(x.ratioPostgresToSqlite)}**; two nodes over one: ${pct(x.ratioTwoNodesToOne)}; clones made in ${fmt(x.cloneSeconds, 0)} s.`);
    }
    for (const sk of scale.skipped ?? []) out.push(`- Not measured: ${sk}.`);
    out.push(`- Every run checks that what it acknowledged is in the database: ${scale.problems?.length ? `**problems: ${scale.problems.join('; ')}**` : 'all acknowledged events were stored, no errors, no non-2xx answers'}.`, '');
  }
  return out;
}

/**
 * A burst's drain in two parts, from its timeline (deliveries and claims each second): while wait
 * ends were still being claimed, and after the last of them, when only webhooks were left.
 */
function burstPhases(c) {
  if (!(c.claimsPerRun > 1.5)) return null;
  const tl = c.timeline?.filter((x) => x.claimed !== null) ?? [];
  // Claims = wait ends + webhook claims; a webhook claimed and not yet delivered is in flight (at most a batch).
  const done = tl.find((x) => x.claimed - x.delivered >= c.runs - 50);
  const last = tl.at(-1);
  if (!done || !last || last.t - done.t < 2 || done.t < 2) return null;
  const after = tl.filter((x) => x.t > done.t);
  const mean = (k) => (after.length && after[0][k] !== undefined ? after.reduce((a, x) => a + x[k], 0) / after.length : null);
  return {
    waitEndsDoneS: done.t,
    claimsPerSecBefore: done.claimed / done.t,
    sendsPerSecBefore: done.delivered / done.t,
    sendsPerSecAfter: (last.delivered - done.delivered) / (last.t - done.t),
    serverCoresAfter: mean('server'),
    postgresCoresAfter: mean('postgres'),
  };
}

const storeName = (store) => (store === 'postgres' ? 'PostgreSQL' : 'SQLite');
/** A lateness in seconds: two decimals below 10 s, one above. */
const secs = (msValue) => (Number.isFinite(msValue) ? `${fmt(msValue / 1000, msValue < 10_000 ? 2 : 1)} s` : '–');

/** The automations step (bench/automations.mjs): 100,000 runs waiting at once, then their webhooks. */
function renderAutomations(a) {
  const s = a.settings;
  const out = ['## 8. Automations', ''];
  out.push(
    `\`node bench/automations.mjs\`: ${fmt(s.runs)} runs of "trigger event → \`{ wait }\` → webhook" waiting at once, then falling due, on the built server${s.quick ? ' (quick settings)' : ''}; one run of each case, each on a fresh database. The trigger events are ingested as fast as the server takes them (\`POST /v1/batch\`, ${s.perBatch} messages from as many new visitors per batch, ${s.connections} connections), so every run has started and waits before the first falls due; the webhooks go to a receiver on 127.0.0.1 in the benchmark's process that answers 204 at once. The step took ${fmt(a.seconds / 60, 1)} minutes and ended ${a.finishedAt?.slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    `- **burst**: one automation, \`{ wait: "${s.wait}s" }\`: all the runs fall due within the span of the ingest, far more a second than can be sent.`,
    `- **spread**: as many runs, their due times spread over a window at ${fmt(100 * s.spreadFraction)}% of the rate the burst case sent in the same run: automations whose waits step through the window, the trigger events dealt round-robin among them. This is the load the 5 s promise is about: one the server can keep up with.`,
    '- CPU over the drain, from /proc: the server process, the postgres server (every backend), and "other processes": the machine\'s busy time less those and the benchmark\'s own process (the receiver), i.e. what else ran on this shared 2-core machine meanwhile. A case with other processes taking a core has figures that the machine, not Rapport, made worse.',
    `- Lateness of a delivery: when the receiver got the first request with its \`webhook-id\`, minus the step's due time (the run's \`startedAt\` in the payload plus its automation's wait: the time the server computes). "until the runner" is the payload's \`timestamp\` (when the runner took the step) minus the due time; the rest is the HTTP request. Sends/s: deliveries over the time from the first to the last; drain: from the first due time to the last delivery. "scheduler" is \`GET /healthz\`'s \`automations\` after the drain: claims counted late (over 5 s after their due time) and the latest claim, as the scheduler sees them.`,
    '',
  );
  out.push('| store | case | runs waiting at once | due over | peak due/s | ingest | sends/s | p50 | p95 | p99 | max | over 5 s | until the runner, p99 | drain | scheduler: late / max | claims per run | server CPU (cores) | other processes (cores) |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [store, r] of Object.entries(a.stores)) {
    for (const c of [r.burst, r.spread]) {
      const kind = c.name.endsWith('burst') ? 'burst' : `spread (${fmt(c.automations)} automations, waits ${fmt(c.waits.first)}–${fmt(c.waits.last)} s)`;
      const cpu = `${fmt(c.serverCpuCores, 2)}${c.postgresCpuCores !== null && c.postgresCpuCores !== undefined ? ` + postgres ${fmt(c.postgresCpuCores, 2)}` : ''}`;
      out.push(
        `| ${storeName(store)} | ${kind} | ${fmt(c.waitingAtOnce)}${c.allWaitingAtOnce ? '' : ' (not all)'} | ${fmt(c.due.seconds, 1)} s | ${fmt(c.due.peakPerSec)} | ${fmt(c.ingest.seconds, 1)} s (${fmt(c.ingest.eventsPerSec)}/s) | **${fmt(c.sendsPerSec)}** | ${secs(c.latenessMs.p50)} | ${secs(c.latenessMs.p95)} | **${secs(c.latenessMs.p99)}** | ${secs(c.latenessMs.max)} | ${fmt(c.lateOver5s)} | ${secs(c.untilRunnerMs.p99)} | ${fmt(c.drainSeconds, 1)} s | ${fmt(c.scheduler?.late)} / ${secs(c.scheduler?.maxLatenessMs)} | ${fmt(c.claimsPerRun, 2)} | ${cpu} | ${c.machine ? fmt(c.machine.otherCores, 2) : '–'} |`,
      );
    }
  }
  out.push('');
  const c = a.ceiling;
  if (c) {
    const ratios = Object.entries(a.stores).map(([store, r]) => `${storeName(store)} burst ${fmt(100 * r.ratioToCeiling, 0)}%, spread ${fmt(100 * r.spread.sendsPerSec / c.perSec, 0)}% (at its lower due rate)`);
    const other = a.ceilingFetch ?? a.ceilingHttp;
    const how = (x) => (x.client === 'fetch' ? "Node's fetch" : 'node:http over a keep-alive agent');
    out.push(`Ceiling: the receiver accepted **${fmt(c.perSec)} deliveries/s** from a plain client loop in a process of its own (\`bench/lib/webhook-client.mjs\`: ${how(c)}, as the server sends, signed bodies of ${fmt(c.bytes)} bytes like the server's, ${c.concurrency} in flight like the scheduler's batch, ${fmt(c.seconds, 1)} s after ${fmt(c.warmupSeconds ?? 0)} s of warm-up), with no store, claims or runs behind it${other ? `; the same loop with ${how(other)}: ${fmt(other.perSec)}/s` : ''}. Sends/s against the ceiling: ${ratios.join('; ')}.`, '');
  }
  const t = a.target;
  const m = a.stores[t.store];
  out.push(
    `Target p99 lateness < ${fmt(t.ms / 1000)} s when the due rate is below the send rate (spread, ${storeName(t.store)}: ${fmt(m.spread.due.meanPerSec)} due a second on average, ${fmt(m.spread.due.peakPerSec)} in the busiest second, against ${fmt(m.burst.sendsPerSec)} sends/s in the burst): **${secs(t.measured)}**, ${status(t.met)}. With all ${fmt(m.burst.runs)} due within ${fmt(m.burst.due.seconds, 0)} s (burst) the p99 is ${secs(t.burstMeasured)} (${status(t.burstMet)}): a backlog of that size drains at the send rate, ${fmt(m.burst.drainSeconds, 0)} s for all of it, so lateness grows with a run's place in it.`,
    '',
  );
  for (const [store, r] of Object.entries(a.stores)) {
    const b = r.burst;
    const ph = burstPhases(b);
    const split = ph
      ? ` Until the last wait end was claimed (${fmt(ph.waitEndsDoneS, 0)} s after the first due time, ${fmt(ph.claimsPerSecBefore)} claims/s) the webhooks went out at ${fmt(ph.sendsPerSecBefore)}/s; after it, with nothing but webhooks left, at ${fmt(ph.sendsPerSecAfter)}/s${ph.serverCoresAfter !== null ? ` (server ${fmt(ph.serverCoresAfter, 2)} cores${store === 'postgres' ? `, postgres ${fmt(ph.postgresCoresAfter, 2)}` : ''})` : ''}.`
      : '';
    const twice = b.claimsPerRun > 1.5;
    const claims = twice
      ? `${fmt(b.claimsPerRun, 2)} claims per run (the scheduler claims a run once when its wait ends and once more for the webhook, which the runner makes due at the moment it moved the run past the wait, so the webhook step queues behind every wait end still due before it, oldest first).${split} The scheduler's own \`maxLatenessMs\` (${secs(b.scheduler?.maxLatenessMs)}) is measured from that second due time, not from the wait's end, so it understates what receivers see (max ${secs(b.latenessMs.max)}).`
      : `${fmt(b.claimsPerRun, 2)} claims per run: the wait's end and the webhook after it go under one claim. The scheduler's own \`maxLatenessMs\` is ${secs(b.scheduler?.maxLatenessMs)}, the receiver's latest ${secs(b.latenessMs.max)}; the difference is the step's handling and its HTTP request (p99 ${secs(b.afterRunnerMs.p99)} after the runner took it).`;
    out.push(`- ${storeName(store)}, burst: the first delivery came ${fmt(b.firstDeliveryAfterDueS, 1)} s after the first due time; ${claims}`);
  }
  for (const [store, r] of Object.entries(a.stores)) {
    const w = r.spread.worstSecond;
    if (!w) continue;
    out.push(
      `- ${storeName(store)}, spread: the latest deliveries came ${fmt(w.t)} s after the first due time, up to ${secs(w.maxLatenessMs)} late; in the 10 s before them the server used ${fmt(w.serverCoresBefore, 2)} cores${store === 'postgres' ? `, postgres ${fmt(w.postgresCoresBefore, 2)}` : ''}, and other processes of the machine ${fmt(w.otherCoresBefore, 2)} of its ${fmt(r.spread.machine?.cores ?? 2, 0)}.`,
    );
  }
  if (a.problems?.length) out.push(`- **Problems**: ${a.problems.join('; ')}.`);
  else out.push('- Every run was delivered once (no `webhook-id` twice, every signature valid) and ended `done` in the database.');
  out.push('');
  if (a.profile) {
    const p = a.profile;
    out.push(`Profiled run (one more SQLite burst of ${fmt(p.run.runs)} runs under \`--cpu-prof\`, not counted; the profile covers the server's whole life, ingest of ${fmt(p.run.ingestSeconds, 1)} s included, most of it the drain of ${fmt(p.run.drainSeconds, 1)} s at ${fmt(p.run.sendsPerSec)} sends/s, server CPU ${fmt(p.run.serverCpuCores, 2)} cores): ${profileLine(p)}`, '');
    out.push(profileMd(p, 'Profile of the server draining a burst of due automation steps: its main thread (scheduler, runner, store, webhooks)'));
  }
  return out;
}

/** The identity repair step (bench/repair.mjs): a split of a profile with many events, and the merges around it. */
function renderRepair(r) {
  const s = r.settings;
  const out = [
    '## 9. Identity repair: split and merge',
    '',
    `\`node bench/repair.mjs\`: on the built server, per run a fresh site with an anonymous visitor of ${fmt(s.events)} events (page and product views, an order every 200) and a customer of 20; the visitor logs in as the customer (a merge at ingest, one \`identify\`), an operator splits the visitor out again (\`POST /api/profiles/:id/split\`: identities and ${fmt(s.events)} events moved back, both profiles recounted from their events, offer events rebuilt), then merges the two by hand (\`POST /api/profiles/:id/merge\`). Each is one request timed at the client; ${fmt(s.runs)} runs${s.quick ? ' (quick settings)' : ''}. A split holds the store's write transaction while it works: on SQLite, ingest waits that long.`,
    '',
    '| store | split | merge at ingest | operator merge |',
    '| --- | ---: | ---: | ---: |',
  ];
  const cell = (values) => `${fmt(percentile(values, 50))} ms (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
  for (const [store, m] of Object.entries(r.stores)) out.push(`| ${storeName(store)} | ${cell(m.split)} | ${cell(m.ingestMerge)} | ${cell(m.operatorMerge)} |`);
  out.push('');
  return out;
}

/** The recommendations step (bench/recommendations.mjs): offline quality on a simulated shop, training at 1M orders, serving latency. */
function renderRecommendations(r) {
  const d = r.dataset;
  const sh = r.shop;
  const pcent = (v) => `${fmt(100 * v, 1)}%`;
  const out = ['## 10. Recommendations', ''];
  out.push(
    `\`node bench/recommendations.mjs\`${r.settings.quick ? ' (quick settings)' : ''}: the built recommendation models (\`packages/server/src/recommendations/models/\`, untouched by the benchmark) on a simulated shop with planted structure (\`bench/lib/shop-generator.mjs\`, seeded: its header gives every parameter): ${fmt(sh.products)} products in ${fmt(sh.categories)} categories (${sh.consumableCategories.map((c) => `"${c}"`).join(' and ')} bought again), ${fmt(sh.clusters)} taste clusters (each person has one or two and mostly views and buys in them), ${fmt(sh.pairs)} planted complementary pairs A → B (B joins an order with A with probability ${fmt(sh.pairProbability, 1)}, and is otherwise rare). The step took ${fmt(r.seconds / 60, 1)} minutes and ended ${r.finishedAt?.slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    `### Offline quality, time split`,
    '',
    `${fmt(d.people)} people over ${fmt(sh.days)} days: ${fmt(d.interactions)} interactions (${fmt(d.views)} views, ${fmt(d.carts)} carts, ${fmt(d.orderLines)} order lines: ${fmt(d.viewsPerOrderLine, 1)} views per line), ${fmt(d.orders)} orders of ${fmt(d.linesPerOrder, 2)} lines. The models are trained on the ${fmt(sh.splitDay)} days before the split (${fmt(d.trainInteractions)} interactions, ${fmt(d.trainOrders)} orders; ${fmt(r.timings.trainSeconds, 1)} s) and scored on the ${fmt(sh.days - sh.splitDay)} days after it (${fmt(d.testOrders)} orders, ${fmt(d.testSessions)} sessions), asking \`recommend()\` of the built models directly (${fmt(r.timings.microsecondsPerRequest)} µs a request). Relevance is binary; NDCG@10 divides by the best order of the relevant products.`,
    '',
    '| list | asked for | relevant | cases | hit rate@10 | NDCG@10 |',
    '| --- | --- | --- | ---: | ---: | ---: |',
  );
  const row = (name, what, relevant, s, bold = false) => out.push(`| ${name} | ${what} | ${relevant} | ${fmt(s.cases)} | ${bold ? '**' : ''}${pcent(s.hitRate)}${bold ? '**' : ''} | ${fmt(s.ndcg, 3)} |`);
  const people = 'each person with a training interaction and a test purchase (history: their training interactions, newest first)';
  const p = r.perPerson;
  row('**for-you**', people, 'what they bought after the split', p.forYou, true);
  row('trending', 'the same people', 'the same', p.trending);
  row('popularity baseline', 'the 10 most bought products of the training days, less what the person bought (as for-you leaves it out)', 'the same', p.popularity);
  row('… without leaving anything out', 'the 10 most bought products', 'the same', p.popularityUnfiltered);
  row('**bought-together**', "each test order of 2+ products: its first product's page", "the order's other products", r.baskets.boughtTogether, true);
  row('most bought', 'the same orders: the 10 most bought, less the query', 'the same', r.baskets.popularity);
  row('**viewed-together**', "each test session of 2+ distinct views: its first viewed product's page", "the session's other views", r.sessions.viewedTogether, true);
  row('most viewed', 'the same sessions: the 10 most viewed, less the query', 'the same', r.sessions.popularity);
  out.push('');
  const pl = r.planted;
  const t = r.targets;
  out.push(
    `Planted pairs: bought-together has B in A's top 5 for **${fmt(pl.found)} of ${fmt(pl.pairs)}** pairs (${pcent(pl.recallAt5)}; ${fmt(pl.foundFirst)} at rank 1); target ≥ ${fmt(100 * t.planted.recallAt5)}%: ${status(t.planted.met)}. ${fmt(pl.findable)} pairs had at least 2 training orders with both A and B (the models' minimum support), and ${fmt(pl.foundFindable)} of those were found${pl.findable < pl.pairs ? ": a pair with a rare A (the A's are spread from the head to the tail of their cluster's popularity) may not be in 2 baskets before the split" : ''}.`,
    '',
    `For-you against the popularity baseline: hit rate@10 ${pcent(t.forYou.forYou)} against ${pcent(t.forYou.popularity)}, **${fmt(t.forYou.measured, 2)}×** (target ≥ ${fmt(t.forYou.ratio)}×: ${status(t.forYou.met)}); ${pcent(r.forYouSources.similarShare)} of its items came from similar products${r.forYouSources.fallback > 0 ? `, ${fmt(r.forYouSources.fallback)} from its popularity fill-up` : ''}. Model of the evaluation: ${fmt(r.model.stats.products)} products, coverage bought-together ${pcent(r.model.stats.coverage.boughtTogether)}, viewed-together ${pcent(r.model.stats.coverage.viewedTogether)}, similar ${pcent(r.model.stats.coverage.similar)}; ${bytes(r.model.bytes)} serialized.`,
    '',
  );
  const st = r.stream;
  out.push(
    `### Training at ${fmt(st.counts.orders)} orders`,
    '',
    `The same shop's generator streams ${fmt(st.people)} people's ${fmt(sh.days)} days, a day at a time, oldest first, into \`ModelTrainer.add\` (never held whole), in a child process of its own; then \`finish()\` and \`serializeModel\`. Training time is the time spent in \`add()\` and \`finish()\`; generating the stream (${fmt(st.generateSeconds, 1)} s) is not counted in it, but its memory is in the RSS (the schedule of ${fmt(st.counts.sessions)} sessions and a day's interactions at a time; ${mb(st.rssBeforeFirstDayMb)} before the first day).`,
    '',
    '| orders | interactions | people | training (add + finish) | interactions/s | peak RSS | model (serialized JSON) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${fmt(st.counts.orders)} | ${fmt(st.counts.interactions)} (${fmt(st.counts.views)} views, ${fmt(st.counts.carts)} carts, ${fmt(st.counts.orderLines)} lines) | ${fmt(st.people)} | **${fmt(st.seconds, 1)} s** (${fmt(st.addSeconds, 1)} + ${fmt(st.finishSeconds, 1)}) | ${fmt(st.interactionsPerSec)} | **${mb(st.peakRssMb)}** (VmHWM ${mb(st.vmHwmMb)}) | ${bytes(st.modelBytes)} (${fmt(st.serializeSeconds, 2)} s) |`,
    '',
    `Peak RSS: \`process.memoryUsage().rss\` sampled every 65,536 interactions, after every day and around \`finish()\` (${fmt(st.rssSamples)} samples); VmHWM is the kernel's high-water mark of the child process. The model: ${fmt(st.modelStats.products)} products, ${fmt(st.modelStats.people)} people, ${fmt(st.modelStats.sessions)} sessions; coverage bought-together ${pcent(st.modelStats.coverage.boughtTogether)}, viewed-together ${pcent(st.modelStats.coverage.viewedTogether)}, similar ${pcent(st.modelStats.coverage.similar)}.`,
    '',
  );
  const s = r.serving;
  const ss = s.settings;
  const mix = Object.entries(ss.mix).map(([k, v]) => `${fmt(100 * v)}% ${k}`).join(', ');
  out.push(
    '### Serving',
    '',
    `The built server (\`rapport serve\`, a fresh SQLite database), a site made through the admin API, the training events of the first ${fmt(ss.people)} people of the evaluation (${fmt(s.events)} events: product views, cart adds, orders) sent through \`POST /v1/batch\` in ${fmt(s.ingestSeconds, 1)} s, then \`POST /api/recommendations/train\` (${fmt(s.trainMs)} ms: ${fmt(s.trained.stats.products)} products, ${fmt(s.trained.stats.orders)} orders). Then \`POST /v1/recommendations\` with the write key, ${fmt(ss.limit)} items, paced at ${fmt(ss.rate)} requests/s (open loop, \`bench/lib/paced.mjs\`, up to ${fmt(ss.connections)} connections) for ${fmt(ss.seconds)} s a run, ${runs(ss.runs)} after ${fmt(ss.warmupSeconds)} s of warm-up; ${mix}, each for a random person of the ${fmt(ss.people)} by anonymous id. The load generator shares the 2 cores with the server.`,
    '',
    '| | served/s | p50 | p90 | p99 | p99.9 | max | server CPU (cores) | load generator (cores) | other processes (cores) | failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| \`POST /v1/recommendations\` at ${fmt(ss.rate)}/s | ${n(s.fixed.okPerSec)} | ${ms(s.fixed.p50)} ms | ${ms(s.fixed.p90)} ms | **${ms(s.fixed.p99)} ms** | ${ms(s.fixed.p999)} ms | ${ms(s.fixed.maxMs, 1)} ms | ${ms(s.fixed.serverCpuCores)} | ${ms(s.fixed.loadGeneratorCores)} | ${ms(s.fixed.otherCores)} | ${fmt(s.failed)} |`,
    '',
    `Per run (p99, other processes): ${s.runs.map((x) => `${fmt(x.p99, 2)} ms, ${fmt(x.otherCores, 2)} cores`).join('; ')}. "Other processes" is the machine's busy time (/proc/stat) less the server's and the load generator's: what else ran on this shared ${fmt(s.runs[0]?.machineCores ?? 2, 0)}-core machine during the run. A run with other processes taking a core has a p99 that the machine, not the server, made worse.`,
    '',
    `Target p99 < ${fmt(t.p99.ms)} ms at ${fmt(t.p99.rate)} requests/s: ${status(t.p99.met)}. Before the paced runs, 400 requests one at a time (the first, which loads the model, took ${fmt(s.firstRequestMs, 1)} ms): ${Object.entries(s.answers).map(([k, a]) => `${k} p50 ${fmt(a.p50, 2)} ms, ${pcent(a.nonEmptyShare)} with items (${fmt(a.meanItems, 1)} on average)`).join('; ')}. A bought- or viewed-together answer is empty when the page's product has no neighbour in a model of ${fmt(ss.people)} people; a for-you answer is filled up with popularity. Load average of the machine at the end of the step: ${(r.loadAverage ?? []).map((v) => fmt(v, 2)).join(', ')}.`,
    '',
  );
  if (s.profile) {
    const pr = s.profile;
    out.push(`Profiled run (a server of its own on the same database under \`--cpu-prof\`, paced at ${fmt(s.settings.rate)}/s, not counted; the profile covers the server's whole life, start-up and 1 s of warm-up included: p50 ${fmt(pr.run.p50, 2)} ms, p99 ${fmt(pr.run.p99, 2)} ms): ${profileLine(pr.summary)}`, '');
    out.push(profileMd(pr.summary, 'Profile of the server answering POST /v1/recommendations'));
  }
  if (r.problems?.length) out.push(`- **Problems**: ${r.problems.join('; ')}.`, '');
  return out;
}
