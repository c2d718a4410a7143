/**
 * A map that forgets everything when it grows past its size. User agents and referrers repeat
 * heavily, so even this crude policy keeps the hit rate high, at the cost of one branch.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): V {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, value);
    return value;
  }
}
