import { BoundedMap } from './bounded-map.js';

/** Token bucket limits: `rate` requests per second on average, bursts of up to `burst`. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/**
 * One token bucket per key (an IP, a site), in memory. Answers how many seconds to wait, or 0.
 * Idle buckets are forgotten, and at most `maxKeys` are kept (see `BoundedMap`), so that memory
 * and work per call stay bounded under any number of distinct IPs: a forgotten bucket starts
 * full again, which gives a key no more than it had when it was idle.
 *
 * @example
 * const perIp = new RateLimiter({ rate: 20, burst: 100 });
 * const wait = perIp.take(ip); // 0, or the seconds for Retry-After
 */
export class RateLimiter {
  private readonly buckets: BoundedMap<{ tokens: number; at: number }>;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    maxKeys = 100_000,
  ) {
    // A bucket idle for this long is full again: forgetting it changes nothing.
    const refillMs = (limit.burst / limit.rate) * 1000;
    this.buckets = new BoundedMap(maxKeys, refillMs, now);
  }

  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.rate));
  }

  /** Buckets held now; for tests and monitoring. */
  get size(): number {
    return this.buckets.size;
  }
}
