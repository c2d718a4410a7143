export interface ThrottleOptions {
  /** Failed logins allowed per client within `windowMs`. @default 10 */
  max?: number;
  /** @default 60 seconds */
  windowMs?: number;
  now?: () => number;
}

/**
 * Failed console logins per client (IP address), in a sliding window: after `max` failures
 * within `windowMs`, every login from that client is refused, the right token included, until
 * the oldest failure leaves the window. Ten guesses a minute make a 128-bit token unguessable.
 * Behind a proxy, run the server with `trustProxy` so that clients are told apart.
 *
 * @example
 * const throttle = new LoginThrottle();
 * if (throttle.retryAfter(ip) > 0) refuse();
 * else if (!correct) throttle.fail(ip);
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: ThrottleOptions = {}) {
    this.max = options.max ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds the client must wait before trying again; 0 when it may try now. */
  retryAfter(client: string): number {
    const recent = this.recent(client, this.now());
    if (recent.length < this.max) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.max] + this.windowMs - this.now()) / 1000));
  }

  fail(client: string) {
    const now = this.now();
    if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) this.recent(key, now);
    const recent = this.recent(client, now);
    recent.push(now);
    this.failures.set(client, recent);
  }

  succeed(client: string) {
    this.failures.delete(client);
  }

  /** The failures of the window, forgetting older ones (and clients with none left). */
  private recent(client: string, now: number): number[] {
    const kept = (this.failures.get(client) ?? []).filter((at) => at > now - this.windowMs);
    if (kept.length) this.failures.set(client, kept);
    else this.failures.delete(client);
    return kept;
  }
}
