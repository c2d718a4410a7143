/**
 * A map for state kept per client (rate limit buckets, failed logins) that stays bounded
 * however many keys an attacker makes up: it holds at most `maxSize` keys, and forgets a key
 * that has not been used for `maxAgeMs` (within twice that). A key that is used is kept, unless
 * `maxSize / 2` other keys have been used since, the one case where it is forgotten early.
 *
 * Two generations instead of an LRU list: every operation is O(1) and walks nothing, whereas
 * trimming a JavaScript Map from its front gets slower with every key deleted there.
 *
 * @example
 * const buckets = new BoundedMap<number>(100_000, 60_000);
 * buckets.set(ip, (buckets.get(ip) ?? 0) + 1);
 */
export class BoundedMap<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();
  private startedAt: number;

  constructor(
    private readonly maxSize: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /** The value of `key`; a use of the key, which keeps it. */
  get(key: string): V | undefined {
    this.age();
    const value = this.current.get(key);
    if (value !== undefined || !this.previous.has(key)) return value;
    const kept = this.previous.get(key)!;
    this.previous.delete(key);
    this.store(key, kept);
    return kept;
  }

  set(key: string, value: V) {
    this.age();
    this.previous.delete(key);
    this.store(key, value);
  }

  delete(key: string) {
    this.current.delete(key);
    this.previous.delete(key);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private store(key: string, value: V) {
    this.current.set(key, value);
    if (this.current.size >= Math.max(1, this.maxSize / 2)) this.turn(false);
  }

  /** Every key of the current generation was used within `maxAgeMs` of its start. */
  private age() {
    const elapsed = this.now() - this.startedAt;
    if (elapsed >= this.maxAgeMs) this.turn(elapsed >= 2 * this.maxAgeMs);
  }

  private turn(bothStale: boolean) {
    this.previous = bothStale ? new Map() : this.current;
    this.current = new Map();
    this.startedAt = this.now();
  }
}
