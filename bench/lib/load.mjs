// The load generator: autocannon, driven from the benchmark's own process (the server under test
// is always another process). Each request's body comes from `body()`, so that every batch has
// fresh message ids and every decision a visitor of its own.

import autocannon from 'autocannon';

/**
 * Runs one load and returns its figures. Closed loop (as fast as `connections` allow) unless
 * `rate` is given: then autocannon paces requests at `rate` per second over all connections and
 * corrects latencies for coordinated omission (a late request is timed from when it should
 * have been sent, as wrk2 does).
 */
export async function load({ url, path, method = 'POST', headers = {}, body, connections = 50, seconds = 10, rate, timeoutS = 10 }) {
  const result = await autocannon({
    url: url + path,
    connections,
    duration: seconds,
    timeout: timeoutS,
    ...(rate ? { overallRate: rate } : {}),
    requests: [
      {
        method,
        path,
        headers: { 'content-type': 'application/json', ...headers },
        setupRequest: (request) => {
          if (body) request.body = body();
          return request;
        },
      },
    ],
  });
  const ok = result['2xx'];
  return {
    seconds: result.duration,
    requests: result.requests.total,
    ok,
    okPerSec: ok / result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    maxMs: result.latency.max,
    meanMs: result.latency.average,
  };
}

/** A load whose figures are thrown away: JIT, caches and connection pools warm up. */
export const warmUp = (options, seconds = 2) => load({ ...options, seconds });

/** Makes sure a load ran clean: every answer a 2xx, no socket errors or timeouts. */
export function checkClean(name, r) {
  const problems = [];
  if (r.non2xx) problems.push(`${r.non2xx} non-2xx answers`);
  if (r.errors) problems.push(`${r.errors} errors`);
  if (r.timeouts) problems.push(`${r.timeouts} timeouts`);
  return problems.length ? `${name}: ${problems.join(', ')}` : null;
}
