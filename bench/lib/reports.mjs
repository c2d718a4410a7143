// The reports that read events rather than rollups (funnels and retention cohorts), timed on a
// running server: what a marketer waits for when opening them in the console. Each is asked a
// few times, one at a time, and its time is the whole HTTP round trip.

import { admin } from './server.mjs';

/** Funnels answer within this at the largest tier (issue 13: "under 5 s at 1M profiles"); retention is timed beside them. */
export const REPORT_TARGET_MS = 5_000;

const FUNNEL = [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Order Completed' }];

/** The reports timed, each a request of the console's own. */
export function reportCases(ds, segmentId) {
  // The ranges end on the dataset's last day: its history is written up to the moment it was made.
  const to = new Date(ds.now).toISOString().slice(0, 10);
  const days = (n) => ({ from: new Date(ds.now - (n - 1) * 86_400_000).toISOString().slice(0, 10), to });
  const cases = [
    { name: 'funnel, 3 steps, 30 days', method: 'POST', path: '/api/reports/funnel', body: { site: ds.siteId, steps: FUNNEL, withinDays: 7, ...days(30) } },
    { name: 'funnel, 90 days, by first-touch medium', method: 'POST', path: '/api/reports/funnel', body: { site: ds.siteId, steps: FUNNEL, withinDays: 7, by: 'medium', ...days(90) } },
    { name: 'retention, 90 days', method: 'GET', path: `/api/reports/retention?site=${ds.siteId}&days=90` },
    { name: 'retention, 90 days, by first-touch source', method: 'GET', path: `/api/reports/retention?site=${ds.siteId}&days=90&by=source` },
  ];
  if (segmentId) {
    cases.splice(1, 0, { name: 'funnel, 30 days, by segment', method: 'POST', path: '/api/reports/funnel', body: { site: ds.siteId, steps: FUNNEL, withinDays: 7, by: `segment:${segmentId}`, ...days(30) } });
  }
  return cases;
}

/**
 * Times each report case `repeats` times on the server at `url`: `{ cases: [{ name, ms, medianMs,
 * maxMs, counted }], slowestMedianMs }`, `counted` being the people in the funnel's first step
 * or in the cohorts. A report that fails throws: a figure of an
 * error answer would mean nothing.
 */
export async function timeReports(url, ds, { repeats = 3, log = () => {} } = {}) {
  const { segments } = await admin(url, 'GET', `/api/segments?site=${ds.siteId}`);
  const cases = reportCases(ds, segments[0]?.id);
  const out = [];
  for (const c of cases) {
    const ms = [];
    let answer = null;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      answer = await admin(url, c.method, c.path, c.body);
      ms.push(performance.now() - t0);
    }
    const sorted = [...ms].sort((a, b) => a - b);
    const figure = {
      name: c.name,
      ms,
      medianMs: sorted[Math.floor(sorted.length / 2)],
      maxMs: sorted.at(-1),
      // What the report counted, so that a fast answer over nothing shows as such.
      counted: c.path.includes('funnel') ? (answer.steps?.[0]?.people ?? null) : (answer.cohorts ?? []).reduce((n, x) => n + x.people, 0),
    };
    out.push(figure);
    log(`  ${c.name}: median ${(figure.medianMs / 1000).toFixed(2)} s (max ${(figure.maxMs / 1000).toFixed(2)} s), ${figure.counted} people`);
  }
  return { cases: out, slowestMedianMs: Math.max(...out.map((c) => c.medianMs)) };
}

/**
 * The funnel target over the timed tiers (`{ label, reports }`): the slowest funnel of each store
 * against REPORT_TARGET_MS; null when none was timed.
 */
export function funnelTarget(timed, profiles) {
  if (timed.length === 0) return null;
  const funnels = (x) => x.reports.cases.filter((c) => c.name.startsWith('funnel'));
  const slowest = (x) => funnels(x).reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  return {
    ms: REPORT_TARGET_MS,
    profiles,
    stores: timed.map((x) => ({ label: x.label, slowest: slowest(x) })),
    met: timed.every((x) => slowest(x).medianMs < REPORT_TARGET_MS),
  };
}
