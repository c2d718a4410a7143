/**
 * The compact structures training counts with: string ids interned to small integers, pair
 * counts in one Map per product (a single JS Map holds at most 2^24 entries, far fewer than the
 * pairs of a large catalog), bounded top-N lists, and the groups (baskets, sessions) still open
 * while interactions stream in.
 */

/**
 * Gives each distinct string a dense integer id, so that counts live in arrays and Maps keyed by
 * small integers (which V8 stores far more compactly than strings).
 *
 * @example
 * const ids = new Interner();
 * ids.id('p-1'); // 0
 * ids.id('p-2'); // 1
 * ids.id('p-1'); // 0
 * ids.name(1); // 'p-2'
 */
export class Interner {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  // A person's events often come in a row (an order's lines, a burst of views): the last answer
  // saves a lookup in a Map of hundreds of thousands of strings, which costs cache misses.
  private lastName: string | null = null;
  private lastId = -1;

  get size(): number {
    return this.names.length;
  }

  /** The id of `name`, a new one if unseen. */
  id(name: string): number {
    if (name === this.lastName) return this.lastId;
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    this.lastName = name;
    this.lastId = id;
    return id;
  }

  name(id: number): string {
    return this.names[id];
  }
}

/** A typed array of counts that grows as slots are handed out. */
class GrowableCounts {
  private data = new Uint32Array(1024);
  length = 0;

  /** A new slot holding 0. */
  allocate(): number {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    return this.length++;
  }

  increment(slot: number): void {
    this.data[slot]++;
  }

  get(slot: number): number {
    return this.data[slot];
  }
}

/**
 * Counts unordered pairs of product ids, each pair once under its lower id. A row maps the higher
 * id to a slot of one shared typed array, so that counting an already seen pair is a Map lookup
 * and an array increment, with no Map write.
 *
 * @example
 * const pairs = new PairCounts();
 * pairs.addGroup([3, 1, 2]); // pairs 1-3, 2-3, 1-2
 * pairs.addGroup([1, 3]);
 * pairs.forEach((a, b, count) => console.log(a, b, count)); // 1 3 2, 1 2 1, 2 3 1
 */
export class PairCounts {
  private readonly rows: Array<Map<number, number> | undefined> = [];
  private readonly counts = new GrowableCounts();

  /** Counts every pair of a group of distinct ids. */
  addGroup(items: readonly number[]): void {
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) this.add(items[i], items[j]);
    }
  }

  private add(x: number, y: number): void {
    const lo = x < y ? x : y;
    const hi = x < y ? y : x;
    let row = this.rows[lo];
    if (row === undefined) {
      row = new Map();
      this.rows[lo] = row;
    }
    let slot = row.get(hi);
    if (slot === undefined) {
      slot = this.counts.allocate();
      row.set(hi, slot);
    }
    this.counts.increment(slot);
  }

  /** Every counted pair once, `a < b`. */
  forEach(visit: (a: number, b: number, count: number) => void): void {
    for (let a = 0; a < this.rows.length; a++) {
      const row = this.rows[a];
      if (row === undefined) continue;
      for (const [b, slot] of row) visit(a, b, this.counts.get(slot));
    }
  }
}

export interface Scored {
  item: number;
  score: number;
  count: number;
}

/**
 * The best `n` of the items offered: higher score first, then higher count, then the item's name
 * ascending, so that equal scores come out the same whatever order they were offered in.
 *
 * @example
 * const top = new TopN(2, ['a', 'b', 'c']);
 * top.offer(0, 0.5, 1); top.offer(1, 0.9, 1); top.offer(2, 0.5, 3);
 * top.items; // [{ item: 1, ... }, { item: 2, ... }]
 */
export class TopN {
  readonly items: Scored[] = [];

  constructor(
    private readonly n: number,
    private readonly names: readonly string[],
  ) {}

  offer(item: number, score: number, count: number): void {
    const items = this.items;
    // Most offers lose to a full list's last item: decide that before allocating anything.
    if (items.length >= this.n && !this.beats(item, score, count, items[items.length - 1])) return;
    let at = items.length;
    while (at > 0 && this.beats(item, score, count, items[at - 1])) at--;
    items.splice(at, 0, { item, score, count });
    if (items.length > this.n) items.pop();
  }

  private beats(item: number, score: number, count: number, other: Scored): boolean {
    if (score !== other.score) return score > other.score;
    if (count !== other.count) return count > other.count;
    return this.names[item] < this.names[other.item];
  }
}

/** A basket or a session still receiving interactions. */
export interface OpenGroup {
  lastAt: number;
  items: number[];
  /**
   * The person of the group's last interaction and their interned id: the Map of open groups is
   * small and hot, the Map of all people large and cold, so the group remembers who it was.
   */
  profileId: string | null;
  person: number;
}

/**
 * Groups keyed by a string, closed once idle for `idleMs` of event time. Interactions arrive
 * oldest first, so a group untouched for longer than a session (or an order's lines) can last
 * will receive nothing more: closing it frees its memory, and training never holds more than the
 * groups of the last stretch of time.
 *
 * Idle groups are looked for once every quarter of `idleMs` (of event time), by a walk over the
 * open groups: a group closes between 1 and 1.25 × `idleMs` after its last touch, and the walks
 * cost about 4 visits per group over a whole training. (Keeping the Map in order of last touch,
 * by deleting and re-adding a group on each touch, would let a walk stop early, but V8's Map
 * keeps deleted entries as holes that every walk then steps over: far slower.)
 *
 * @example
 * const sessions = new OpenGroups(3_600_000, (items) => countPairs(items));
 * sessions.touch('s-1', at).items.push(productId);
 * sessions.closeIdle(laterAt); // closes 's-1' if laterAt - at > 1 h (and a walk is due)
 */
export class OpenGroups {
  private readonly open = new Map<string, OpenGroup>();
  private lastKey: string | null = null;
  private lastGroup: OpenGroup | null = null;
  private nextWalk = -Infinity;

  constructor(
    private readonly idleMs: number,
    private readonly onClose: (items: number[]) => void,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** The group of `key`, opened if needed. */
  touch(key: string, at: number): OpenGroup {
    // Consecutive touches of one group (an order's lines, a burst of views) skip the lookup.
    let group = key === this.lastKey ? this.lastGroup : this.open.get(key);
    if (group == null) {
      group = { lastAt: at, items: [], profileId: null, person: -1 };
      this.open.set(key, group);
    } else if (at > group.lastAt) {
      group.lastAt = at;
    }
    this.lastKey = key;
    this.lastGroup = group;
    return group;
  }

  /** Closes the groups untouched since `now - idleMs`, when a walk is due. */
  closeIdle(now: number): void {
    if (now < this.nextWalk) return;
    this.nextWalk = now + this.idleMs / 4;
    for (const [key, group] of this.open) {
      if (group.lastAt < now - this.idleMs) this.close(key, group);
    }
  }

  closeAll(): void {
    for (const [key, group] of this.open) this.close(key, group);
  }

  private close(key: string, group: OpenGroup): void {
    this.open.delete(key);
    if (this.lastGroup === group) {
      this.lastKey = null;
      this.lastGroup = null;
    }
    this.onClose(group.items);
  }
}

/**
 * Sets `record[key]` as an own property, even for keys such as `__proto__` that a plain
 * assignment would treat specially: product ids are whatever the site sends.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** `record[key]` when it is the record's own property (never `constructor`, `toString`, ...). */
export function getOwn<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
