import { BoundedMap } from '../../http/bounded-map.js';

export interface ThrottleOptions {
  /** Failed logins allowed per client within `windowMs`. @default 10 */
  max?: number;
  /** @default 60 seconds */
  windowMs?: number;
  /**
   * Most clients remembered at once; past it, those seen least recently are forgotten first
   * (see `BoundedMap`). @default 10,000
   */
  maxClients?: number;
  now?: () => number;
}

/**
 * Failed logins per client (see `clientKey`), in a sliding window: after `max` failures within
 * `windowMs`, every login from that client is refused, the right token included, until the
 * oldest of those failures leaves the window. Ten guesses a minute make a 128-bit token
 * unguessable. Behind a proxy, run the server with `trustProxy` so that clients are told apart.
 *
 * Memory and work stay bounded however many addresses an attacker has: at most `maxClients`
 * clients, `max` timestamps each, and every call costs O(max).
 *
 * @example
 * const throttle = new LoginThrottle();
 * if (throttle.retryAfter(ip) > 0) refuse();
 * else if (!correct) throttle.fail(ip);
 */
export class LoginThrottle {
  private readonly failures: BoundedMap<number[]>;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: ThrottleOptions = {}) {
    this.max = options.max ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.failures = new BoundedMap(Math.max(2, options.maxClients ?? 10_000), this.windowMs, this.now);
  }

  /** Seconds the client must wait before trying again; 0 when it may try now. */
  retryAfter(client: string): number {
    const now = this.now();
    const recent = this.recent(client, now);
    if (recent.length < this.max) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.max] + this.windowMs - now) / 1000));
  }

  fail(client: string) {
    const now = this.now();
    const recent = this.recent(client, now);
    recent.push(now);
    // Only the last `max` failures decide when the client may try again.
    if (recent.length > this.max) recent.splice(0, recent.length - this.max);
    this.failures.set(client, recent);
  }

  succeed(client: string) {
    this.failures.delete(client);
  }

  /** Clients remembered now; for tests and monitoring. */
  get size(): number {
    return this.failures.size;
  }

  /** The client's failures within the window; a client with none left is forgotten. */
  private recent(client: string, now: number): number[] {
    const all = this.failures.get(client);
    if (!all) return [];
    const kept = all.filter((at) => at > now - this.windowMs);
    if (kept.length === 0) this.failures.delete(client);
    else if (kept.length !== all.length) this.failures.set(client, kept);
    return kept;
  }
}
