import { describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import type { RankingInput } from '../store/types.js';
import { decodeRankings, encodeRankings, RankingCache, RANKINGS_TTL_MS } from './ranking-cache.js';
import { computeRankings, packRankings, unpackRankings } from './rankings.js';

function fakeStore(inputs: () => RankingInput[]) {
  let calls = 0;
  let release: () => void = () => {};
  const store = {
    rankings: async (_site: string, now: number) => {
      calls++;
      if (calls > 1) await new Promise<void>((r) => (release = r));
      return packRankings(inputs(), now);
    },
  } as unknown as Store;
  return { store, calls: () => calls, release: () => release() };
}

/** Lets a computation in the background finish: the rankings take a few turns of the event loop. */
const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('RankingCache', () => {
  it('computes once, then serves stale rankings while it recomputes', async () => {
    let revenue = 100;
    let now = 0;
    const fake = fakeStore(() => [{ id: 'p', orders: 1, revenue, lastOrderAt: 0 }]);
    const cache = new RankingCache(fake.store, () => now);
    const first = await cache.get('s');
    expect(first.abc.get('p')).toBe('A');
    expect(await cache.get('s')).toBe(first);
    expect(fake.calls()).toBe(1);
    now = RANKINGS_TTL_MS + 1;
    revenue = 0;
    expect(await cache.get('s')).toBe(first); // stale, served at once
    expect(fake.calls()).toBe(2);
    fake.release();
    await turns();
    const fresh = await cache.get('s');
    expect(fresh).not.toBe(first);
    expect(fresh.abc.get('p')).toBe('C');
  });

  it('forgets a site on invalidate', async () => {
    const fake = fakeStore(() => []);
    const cache = new RankingCache(fake.store);
    await cache.get('s');
    cache.invalidate('s');
    const pending = cache.get('s');
    fake.release();
    await pending;
    expect(fake.calls()).toBe(2);
  });

  it('answers a peek at once: null until the first count is done, then the rankings', async () => {
    const fake = fakeStore(() => [{ id: 'p', orders: 1, revenue: 10, lastOrderAt: 0 }]);
    const cache = new RankingCache(fake.store);
    expect(cache.peek('s')).toBeNull();
    await turns();
    expect(cache.peek('s')?.abc.get('p')).toBe('A');
    expect(fake.calls()).toBe(1);
  });
});

describe('RankingCache shared by nodes', () => {
  /** A store of several nodes: leases and published results in memory, rankings counted. */
  function sharedStore(inputs: RankingInput[]) {
    const meta = new Map<string, string>();
    const leases = new Map<string, { holder: string; until: number }>();
    let counts = 0;
    let clock = 0;
    const store = {
      rankings: async (_site: string, now: number) => (counts++, packRankings(inputs, now)),
      lease: async (name: string, holder: string, ms: number) => {
        const held = leases.get(name);
        if (held && held.holder !== holder && held.until > clock) return false;
        leases.set(name, { holder, until: clock + ms });
        return true;
      },
      getMeta: async (key: string) => meta.get(key) ?? null,
      setMeta: async (key: string, value: string) => void meta.set(key, value),
    } as unknown as Store;
    return { store, counts: () => counts, tick: (ms: number) => (clock += ms), now: () => clock };
  }

  const customers: RankingInput[] = [
    { id: 'big', orders: 9, revenue: 9000, lastOrderAt: 0 },
    { id: 'mid', orders: 3, revenue: 300, lastOrderAt: 0 },
    { id: 'small', orders: 1, revenue: 10, lastOrderAt: 0 },
  ];

  it('counts once for all nodes: the lease holder counts and publishes, the others read it', async () => {
    const shared = sharedStore(customers);
    const [a, b, c] = ['a', 'b', 'c'].map((holder) => new RankingCache(shared.store, shared.now, { holder }));
    const first = await a.get('s');
    const [fromB, fromC] = await Promise.all([b.get('s'), c.get('s')]);
    expect(shared.counts()).toBe(1);
    for (const other of [fromB, fromC]) {
      expect(Object.fromEntries(other.abc)).toEqual(Object.fromEntries(first.abc));
      expect(Object.fromEntries(other.rfm)).toEqual(Object.fromEntries(first.rfm));
    }
  });

  it('lets another node take over once the holder stops renewing', async () => {
    const shared = sharedStore(customers);
    const a = new RankingCache(shared.store, shared.now, { holder: 'a' });
    const b = new RankingCache(shared.store, shared.now, { holder: 'b' });
    await a.get('s');
    shared.tick(RANKINGS_TTL_MS + 1);
    await b.get('s');
    expect(shared.counts()).toBe(2);
  });
});

describe('rankings as the store keeps them', () => {
  it('packs, encodes and decodes to the classes and scores of a count in place', async () => {
    // More customers than one slice of unpacking (10,000), so that slices meet.
    const inputs: RankingInput[] = Array.from({ length: 25_003 }, (_, i) => ({
      id: `p${i}`,
      orders: 1 + (i % 7),
      revenue: (i * 37) % 1000,
      lastOrderAt: i * 1000,
    }));
    const now = 40_000_000;
    const inPlace = await computeRankings(inputs, now);
    const decoded = decodeRankings(encodeRankings(packRankings(inputs, now), now))!;
    expect(decoded.computedAt).toBe(now);
    const unpacked = await unpackRankings(decoded.packed, now);
    expect(unpacked.abc.size).toBe(inputs.length);
    expect(unpacked.abc).toEqual(inPlace.abc);
    expect(unpacked.rfm).toEqual(inPlace.rfm);
    expect(unpacked.summary).toEqual(inPlace.summary);
  });

  it('reads nothing from a text of the earlier form, so that the node counts for itself', () => {
    const earlier = JSON.stringify({ computedAt: 1, summary: { a: 1 }, ids: ['p'], abc: 'AQ==', r: 'AA==', f: 'AA==', m: 'AA==' });
    expect(decodeRankings(earlier)).toBeNull();
  });
});
