// A fixed-rate (open-loop) load generator in the manner of wrk2: request k goes out at
// start + k / rate whatever happened to the requests before it (it never waits for an answer
// before sending the next, so a server stall cannot slow the load down and hide itself: no
// coordinated omission). A request that finds all connections busy waits in the client's queue,
// and that wait counts in its latency. Latency is timed from the moment the generator sends (or
// queues) the request; how late that moment was against the schedule is reported apart, as
// `lagP99`: timers tick about once a millisecond, so a request can leave up to ~1 ms after it
// was due, which is the generator's granularity, not the server's time.
// autocannon's --overallRate is not used for this: it lets each connection send its share of
// the second in a burst and then idles until the next second.

import http from 'node:http';
import { percentile } from './stats.mjs';

/**
 * Sends `rate` requests per second for `seconds` over at most `connections` keep-alive
 * connections. Returns latency percentiles in milliseconds (from the due time, and the pure
 * service time from the send), the achieved rate, and the count of failures.
 */
export function paced({ url, path, method = 'POST', headers = {}, body, rate = 1000, seconds = 10, connections = 50, timeoutMs = 10_000 }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latency = new Float64Array(total);
  const lag = new Float64Array(total);
  let done = 0;
  let failed = 0;
  let non2xx = 0;
  let sent = 0;
  let lastEnd = 0;

  return new Promise((resolve) => {
    const start = performance.now() + 20;
    const finishIfDone = () => {
      if (done + failed < total) return;
      agent.destroy();
      const ok = latency.subarray(0, done);
      const elapsed = (lastEnd - start) / 1000;
      resolve({
        seconds: elapsed,
        requests: total,
        ok: done,
        okPerSec: done / elapsed,
        non2xx,
        errors: failed - non2xx,
        p50: percentile(ok, 50),
        p90: percentile(ok, 90),
        p99: percentile(ok, 99),
        p999: percentile(ok, 99.9),
        maxMs: percentile(ok, 100),
        meanMs: ok.reduce((a, b) => a + b, 0) / (ok.length || 1),
        lagP99: percentile(lag, 99),
      });
    };
    const fire = (index, due) => {
      const payload = body ? body() : undefined;
      const sentAt = performance.now();
      lag[index] = sentAt - due;
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path,
          method,
          agent,
          headers: { 'content-type': 'application/json', ...headers, ...(payload ? { 'content-length': Buffer.byteLength(payload) } : {}) },
          timeout: timeoutMs,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const end = performance.now();
            lastEnd = Math.max(lastEnd, end);
            if (res.statusCode >= 200 && res.statusCode < 300) {
              latency[done++] = end - sentAt;
            } else {
              non2xx++;
              failed++;
            }
            finishIfDone();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failed++;
        lastEnd = Math.max(lastEnd, performance.now());
        finishIfDone();
      });
      req.end(payload);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        fire(sent, start + sent * interval);
        sent++;
      }
      // Timers fire about once a millisecond: requests due in between go out together at the
      // next tick, still timed from their due time.
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
}
