/** Token bucket limits: `rate` requests per second on average, bursts of up to `burst`. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/**
 * One token bucket per key (an IP, a site), in memory. Answers how many seconds to wait, or 0.
 * Idle buckets are forgotten so the map stays small under many distinct IPs.
 *
 * @example
 * const perIp = new RateLimiter({ rate: 20, burst: 100 });
 * const wait = perIp.take(ip); // 0, or the seconds for Retry-After
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSweep = now();
  }

  take(key: string): number {
    const now = this.now();
    this.sweep(now);
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

  private sweep(now: number) {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const full = (this.limit.burst / this.limit.rate) * 1000;
    for (const [key, bucket] of this.buckets) if (now - bucket.at > full) this.buckets.delete(key);
  }
}
