import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../ids.js';
import type { RunRecord } from '../store/automations.js';
import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { createTestSite, openStoreAt, openTestStore, type TestStore } from '../test-support/store.js';
import { LATE_MS, Scheduler } from './scheduler.js';

let t: TestStore;
let store: Store;
let site: Site;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  t = await openTestStore();
  store = t.store;
  site = await createTestSite(store);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await t.close();
});

const T0 = Date.UTC(2026, 10, 1, 12);

function run(dueAt: number | null): RunRecord {
  return {
    id: newId(),
    siteId: site.id,
    automationId: 'aut_1',
    profileId: 'p1',
    triggerKey: newId(),
    holdout: false,
    status: 'active',
    position: '0',
    context: {},
    dueAt,
    waitingFor: null,
    attempts: 0,
    startedAt: T0,
    updatedAt: T0,
  };
}

/** A handler that finishes each run it gets, as a step that was the last would. */
function finishing(on: Store, holder: string, seen: string[]) {
  return async (r: RunRecord) => {
    seen.push(r.id);
    await on.automations.updateRun({ ...r, status: 'done', updatedAt: r.updatedAt + 1 }, holder);
  };
}

describe(`the automation scheduler (${process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'})`, () => {
  it('fires what is due, oldest first, once, and what falls due later when its time comes', async () => {
    let now = T0;
    const seen: string[] = [];
    const scheduler = new Scheduler({ store: store.automations, holder: 'node-a', handle: finishing(store, 'node-a', seen), now: () => now, batch: 2 });
    const [a, b, c, later] = [run(T0 - 3), run(T0 - 2), run(T0 - 1), run(T0 + 60_000)];
    await store.automations.startRuns([c, later, a, b]);
    expect(await scheduler.round()).toBe(3);
    expect(seen).toEqual([a.id, b.id, c.id]);
    expect(await scheduler.round()).toBe(0);
    now = T0 + 60_000;
    expect(await scheduler.round()).toBe(1);
    expect(seen.at(-1)).toBe(later.id);
    expect(scheduler.stats).toMatchObject({ claimed: 4, failed: 0, late: 0 });
  });

  it('counts the steps it claims late, after a stop, and catches up with at most a batch in hand', async () => {
    const now = T0 + 10 * 60_000;
    const seen: string[] = [];
    const batches: number[] = [];
    let inHand = 0;
    let most = 0;
    await store.automations.startRuns(Array.from({ length: 7 }, (_, i) => run(T0 + i)));
    const done = finishing(store, 'node-a', seen);
    const scheduler = new Scheduler({
      store: { ...store.automations, claimDueRuns: async (...args) => { const runs = await store.automations.claimDueRuns(...args); batches.push(runs.length); return runs; } } as typeof store.automations,
      holder: 'node-a',
      handle: async (r) => {
        most = Math.max(most, ++inHand);
        // Each step takes its own time: the window refills as they finish.
        await new Promise((resolve) => setTimeout(resolve, 5 + (r.dueAt! % 3) * 10));
        await done(r);
        inHand--;
      },
      now: () => now,
      batch: 3,
    });
    expect(await scheduler.round()).toBe(7);
    expect(batches[0]).toBe(3);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(7);
    expect(most).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect(scheduler.stats.late).toBe(7);
    expect(scheduler.stats.maxLatenessMs).toBeGreaterThan(LATE_MS);
  });

  it('goes on with the rest while one step is slow', async () => {
    const now = T0 + 60_000;
    const seen: string[] = [];
    const runs = Array.from({ length: 6 }, (_, i) => run(T0 + i));
    await store.automations.startRuns(runs);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const done = finishing(store, 'node-a', seen);
    const scheduler = new Scheduler({
      store: store.automations,
      holder: 'node-a',
      handle: async (r) => {
        if (r.id === runs[0].id) await slow;
        await done(r);
      },
      now: () => now,
      batch: 4,
    });
    const round = scheduler.round();
    // A batch of 4 holds the slow one; the other 5 are claimed and done around it.
    for (let i = 0; i < 100 && seen.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toHaveLength(5);
    expect(seen).not.toContain(runs[0].id);
    release();
    expect(await round).toBe(6);
  });

  it('leaves a step whose handler failed to be claimed again once its lease runs out', async () => {
    let fail = true;
    const seen: string[] = [];
    const handle = async (r: RunRecord) => {
      if (fail) throw new Error('receiver down');
      await finishing(store, 'node-a', seen)(r);
    };
    const errors = console.error;
    console.error = () => {};
    try {
      const scheduler = new Scheduler({ store: store.automations, holder: 'node-a', handle, leaseMs: 50, now: () => Date.now() });
      const r = run(Date.now() - 1);
      await store.automations.startRuns([r]);
      expect(await scheduler.round()).toBe(1);
      expect(scheduler.stats.failed).toBe(1);
      expect(await scheduler.round()).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 120));
      fail = false;
      expect(await scheduler.round()).toBe(1);
      expect(seen).toEqual([r.id]);
    } finally {
      console.error = errors;
    }
  });

  it('runs by itself: a step due in a moment fires within the poll interval of its time', async () => {
    const fired: number[] = [];
    const scheduler = new Scheduler({
      store: store.automations,
      holder: 'node-a',
      pollMs: 200,
      handle: async (r) => {
        fired.push(Date.now() - r.dueAt!);
        await store.automations.updateRun({ ...r, status: 'done' }, 'node-a');
      },
    });
    scheduler.start();
    cleanups.push(() => scheduler.stop());
    await store.automations.startRuns([run(Date.now() + 300)]);
    for (let i = 0; i < 50 && fired.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(0);
    expect(fired[0]).toBeLessThan(1_000);
  });

  it('never fires one step on two nodes sharing the store', async () => {
    const other = await openStoreAt(t.db);
    cleanups.push(() => other.close());
    await store.automations.startRuns(Array.from({ length: 60 }, (_, i) => run(Date.now() - 60 + i)));
    const seen: string[] = [];
    const slow = (on: Store, holder: string) => async (r: RunRecord) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await finishing(on, holder, seen)(r);
    };
    const a = new Scheduler({ store: store.automations, holder: 'node-a', handle: slow(store, 'node-a'), batch: 7 });
    const b = new Scheduler({ store: other.automations, holder: 'node-b', handle: slow(other, 'node-b'), batch: 7 });
    await Promise.all([a.round(), b.round(), a.round(), b.round()]);
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    expect(a.stats.claimed + b.stats.claimed).toBe(60);
  });
});
