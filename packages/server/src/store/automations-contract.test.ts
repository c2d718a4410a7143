import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../collect/pipeline.js';
import { newId } from '../ids.js';
import { ingestEvent } from '../test-support/events.js';
import { createTestSite, openStoreAt, openTestStore, type TestStore } from '../test-support/store.js';
import type { AutomationRecord, RunRecord } from './automations.js';
import { ConflictError, type Store } from './store.js';
import type { Site } from './types.js';

// The automation part of the store contract, on every store (the vitest project `postgres` runs
// it on PostgreSQL): definitions, runs started once per trigger, and due steps claimed with a
// lease that fences out a holder whose time ran out.

let t: TestStore;
let store: Store;
let site: Site;

beforeEach(async () => {
  t = await openTestStore();
  store = t.store;
  site = await createTestSite(store);
});
afterEach(async () => {
  await t.close();
});

const T0 = Date.UTC(2026, 10, 1, 12);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function automation(overrides: Partial<AutomationRecord> = {}): AutomationRecord {
  return {
    id: newId(),
    siteId: site.id,
    name: 'Cart abandonment',
    status: 'active',
    definition: { trigger: { event: 'Product Added' }, steps: [{ wait: '1h' }, { webhook: { url: 'http://127.0.0.1:9/hook' } }] },
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function run(automationId: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: newId(),
    siteId: site.id,
    automationId,
    profileId: 'p1',
    triggerKey: newId(),
    holdout: false,
    status: 'active',
    position: '0',
    context: { cart: { total: 42 } },
    dueAt: T0,
    waitingFor: null,
    attempts: 0,
    startedAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

describe(`Automation store (${process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'})`, () => {
  describe('definitions', () => {
    it('saves, replaces, lists by name and deletes', async () => {
      const a = automation({ name: 'B' });
      await store.automations.saveAutomation(a);
      await store.automations.saveAutomation(automation({ name: 'A' }));
      await store.automations.saveAutomation({ ...a, status: 'paused', definition: { steps: [] }, updatedAt: T0 + 1 });
      expect(await store.automations.getAutomation(site.id, a.id)).toEqual({ ...a, status: 'paused', definition: { steps: [] }, updatedAt: T0 + 1 });
      expect((await store.automations.listAutomations(site.id)).map((x) => x.name)).toEqual(['A', 'B']);
      expect(await store.automations.deleteAutomation(site.id, a.id)).toBe(true);
      expect(await store.automations.deleteAutomation(site.id, a.id)).toBe(false);
      expect(await store.automations.getAutomation(site.id, a.id)).toBeNull();
    });

    it('refuses a second automation of the same name on a site, not on another site', async () => {
      await store.automations.saveAutomation(automation());
      await expect(store.automations.saveAutomation(automation())).rejects.toBeInstanceOf(ConflictError);
      const other = await createTestSite(store, {}, 'Other');
      await store.automations.saveAutomation(automation({ siteId: other.id }));
      expect(await store.automations.listAutomations(other.id)).toHaveLength(1);
    });

    it('cancels the active runs of a deleted automation and keeps their history', async () => {
      const a = automation();
      await store.automations.saveAutomation(a);
      const r = run(a.id);
      await store.automations.startRuns([r]);
      await store.automations.deleteAutomation(site.id, a.id);
      expect(await store.automations.getRun(site.id, r.id)).toMatchObject({ status: 'cancelled', dueAt: null });
      expect(await store.automations.claimDueRuns(T0 + 1, 'node-a', 30_000, 10)).toEqual([]);
    });
  });

  describe('runs', () => {
    it('starts one run per trigger, however often the trigger is seen', async () => {
      const a = automation();
      await store.automations.saveAutomation(a);
      const first = run(a.id, { triggerKey: 'anon-1:m1' });
      const repeat = run(a.id, { triggerKey: 'anon-1:m1' });
      const other = run(a.id, { triggerKey: 'anon-1:m2' });
      expect(await store.automations.startRuns([first, repeat, other])).toEqual([true, false, true]);
      expect(await store.automations.startRuns([run(a.id, { triggerKey: 'anon-1:m1' })])).toEqual([false]);
      expect(await store.automations.getRun(site.id, first.id)).toEqual(first);
      expect(await store.automations.getRun(site.id, repeat.id)).toBeNull();
    });

    it('arms a watch once, and wakes it only while it is dormant', async () => {
      const a = automation();
      await store.automations.saveAutomation(a);
      const watch = run(a.id, { triggerKey: 't:p1', position: 'watch', dueAt: T0 + 1000 });
      await store.automations.armRuns([watch, { ...watch, id: newId(), dueAt: T0 + 500 }]);
      const [armed] = (await store.automations.listRuns({ siteId: site.id, automationId: a.id, limit: 10 })).items;
      expect(armed).toMatchObject({ triggerKey: 't:p1', position: 'watch' });
      // Armed again while due: left as it is (the watch itself looks at the time when it comes).
      await store.automations.armRuns([{ ...watch, id: newId(), dueAt: T0 + 9000 }]);
      expect((await store.automations.getRun(site.id, armed.id))!.dueAt).toBe(armed.dueAt);
      const [claimed] = await store.automations.claimDueRuns(T0 + 1000, 'node-a', 30_000, 10);
      await store.automations.updateRun({ ...claimed, dueAt: null }, 'node-a');
      await store.automations.armRuns([{ ...watch, id: newId(), dueAt: T0 + 5000, updatedAt: T0 + 5 }]);
      expect(await store.automations.getRun(site.id, armed.id)).toMatchObject({ dueAt: T0 + 5000, status: 'active', position: 'watch' });
      // A finished one stays finished.
      const done = await store.automations.claimDueRuns(T0 + 5000, 'node-a', 30_000, 10);
      await store.automations.updateRun({ ...done[0], status: 'cancelled', dueAt: null }, 'node-a');
      await store.automations.armRuns([{ ...watch, id: newId(), dueAt: T0 + 7000 }]);
      expect(await store.automations.getRun(site.id, armed.id)).toMatchObject({ dueAt: null, status: 'cancelled' });
      expect((await store.automations.listRuns({ siteId: site.id, automationId: a.id, limit: 10 })).items).toHaveLength(1);
    });

    it('replays a failed run once, and nothing that is not failed', async () => {
      const a = automation();
      await store.automations.saveAutomation(a);
      const failed = run(a.id, { status: 'failed', dueAt: null, attempts: 3, context: { $error: { message: 'no' } } });
      const active = run(a.id);
      await store.automations.startRuns([failed, active]);
      const again = { ...failed, status: 'active' as const, dueAt: T0 + 10, attempts: 0, context: {}, updatedAt: T0 + 10 };
      expect(await store.automations.replayRun(again)).toBe(true);
      expect(await store.automations.replayRun(again)).toBe(false);
      expect(await store.automations.getRun(site.id, failed.id)).toEqual(again);
      expect(await store.automations.replayRun({ ...active, dueAt: T0 + 99 })).toBe(false);
      expect((await store.automations.getRun(site.id, active.id))!.dueAt).toBe(T0);
    });

    it('records sends once, marks opens and clicks, and counts them by automation and by person', async () => {
      const a = automation();
      await store.automations.saveAutomation(a);
      const runs = [run(a.id), run(a.id), run(a.id, { holdout: true }), run(a.id, { position: 'watch', triggerKey: 't:p1' })];
      await store.automations.startRuns(runs);
      const send = (r: RunRecord, position: string, at: number) =>
        store.automations.recordSend({ siteId: site.id, runId: r.id, position, automationId: a.id, profileId: r.profileId, kind: 'email', sentAt: at });
      await send(runs[0], '0', T0);
      await send(runs[0], '0', T0 + 5);
      await send(runs[0], '2', T0 + 10);
      await send(runs[1], '0', T0 + 20);
      expect(await store.automations.countSends(site.id, 'p1', T0)).toBe(3);
      expect(await store.automations.countSends(site.id, 'p1', T0 + 11)).toBe(1);
      expect(await store.automations.markSend(site.id, runs[0].id, '2', 'clicked', T0 + 30)).toBe(true);
      expect(await store.automations.markSend(site.id, runs[1].id, '0', 'opened', T0 + 30)).toBe(true);
      expect(await store.automations.markSend(site.id, runs[1].id, '9', 'opened', T0 + 30)).toBe(false);
      expect(await store.automations.sendCounts(site.id, a.id)).toEqual({ sent: 2, opened: 2, clicked: 1 });
      expect(await store.automations.runCounts(site.id, a.id)).toEqual([
        { holdout: false, status: 'active', runs: 2 },
        { holdout: true, status: 'active', runs: 1 },
      ]);
      const starts = await store.automations.runStarts(site.id, a.id, 10);
      expect(starts.map((s) => s.holdout).sort()).toEqual([false, false, true]);
      expect(await store.automations.runStarts(site.id, a.id, 2)).toHaveLength(2);
    });

    it('lists runs newest first by automation or by person, a page at a time', async () => {
      const a = automation();
      const b = automation({ name: 'Win-back' });
      const runs = Array.from({ length: 5 }, (_, i) => run(a.id, { startedAt: T0 + i, profileId: i % 2 ? 'p2' : 'p1' }));
      await store.automations.startRuns([...runs, run(b.id, { startedAt: T0 + 10 })]);
      const first = await store.automations.listRuns({ siteId: site.id, automationId: a.id, limit: 3 });
      expect(first.items.map((r) => r.startedAt)).toEqual([T0 + 4, T0 + 3, T0 + 2]);
      const second = await store.automations.listRuns({ siteId: site.id, automationId: a.id, limit: 3, cursor: first.nextCursor! });
      expect(second.items.map((r) => r.startedAt)).toEqual([T0 + 1, T0]);
      expect(second.nextCursor).toBeNull();
      const ofP2 = await store.automations.listRuns({ siteId: site.id, profileId: 'p2', limit: 10 });
      expect(ofP2.items.map((r) => r.startedAt)).toEqual([T0 + 3, T0 + 1]);
    });

    it('finds the active runs of a person waiting for an event', async () => {
      const a = automation();
      const waiting = run(a.id, { waitingFor: 'Order Completed', dueAt: T0 + 3_600_000 });
      await store.automations.startRuns([waiting, run(a.id, { waitingFor: 'Order Completed', profileId: 'p2' }), run(a.id)]);
      expect((await store.automations.runsWaitingFor(site.id, 'p1', 'Order Completed')).map((r) => r.id)).toEqual([waiting.id]);
      expect(await store.automations.runsWaitingFor(site.id, 'p1', 'Product Viewed')).toEqual([]);
    });

    it('cancels the active runs of a person', async () => {
      const a = automation();
      await store.automations.startRuns([run(a.id), run(a.id), run(a.id, { status: 'done', dueAt: null })]);
      expect(await store.automations.cancelRuns(site.id, 'p1')).toBe(2);
      expect(await store.automations.claimDueRuns(T0 + 1, 'node-a', 30_000, 10)).toEqual([]);
    });

    it('follow the person through a merge and go with them in an erasure', async () => {
      await ingest(store, site, [ingestEvent({ type: 'track', anonymousId: 'anon-1' })]);
      const anonymous = (await store.findProfileId(site.id, 'anonymous', 'anon-1'))!;
      await ingest(store, site, [ingestEvent({ type: 'identify', name: null, userId: 'u1', trust: 'trusted' })]);
      const customer = (await store.findProfileId(site.id, 'user', 'u1'))!;
      const a = automation();
      await store.automations.startRuns([run(a.id, { profileId: anonymous }), run(a.id, { profileId: customer })]);
      // The anonymous visitor logs in as u1: its profile merges into the customer's.
      await ingest(store, site, [ingestEvent({ type: 'identify', name: null, anonymousId: 'anon-1', userId: 'u1', trust: 'trusted' })]);
      expect(await store.findProfileId(site.id, 'anonymous', 'anon-1')).toBe(customer);
      const ofCustomer = await store.automations.listRuns({ siteId: site.id, profileId: customer, limit: 10 });
      expect(ofCustomer.items).toHaveLength(2);
      expect((await store.deleteProfile(site.id, customer)).runs).toBe(2);
      expect((await store.automations.listRuns({ siteId: site.id, limit: 10 })).items).toEqual([]);
    });
  });

  describe('due steps', () => {
    it('claims what is due, earliest first, and leases it to one holder only', async () => {
      const a = automation();
      const late = run(a.id, { dueAt: T0 + 2 });
      const early = run(a.id, { dueAt: T0 + 1 });
      const future = run(a.id, { dueAt: T0 + 60_000 });
      const waitingOnly = run(a.id, { dueAt: null, waitingFor: 'Order Completed' });
      await store.automations.startRuns([late, early, future, waitingOnly]);
      expect(await store.automations.nextDueAt()).toBe(T0 + 1);
      const claimed = await store.automations.claimDueRuns(T0 + 10, 'node-a', 30_000, 10);
      expect(claimed.map((r) => r.id)).toEqual([early.id, late.id]);
      // What a lease holds is not due for anyone until the lease runs out.
      expect(await store.automations.nextDueAt()).toBe(T0 + 60_000);
      expect(await store.automations.claimDueRuns(T0 + 10, 'node-b', 30_000, 10)).toEqual([]);
      expect(await store.automations.claimDueRuns(T0 + 60_000, 'node-b', 30_000, 10)).toEqual([{ ...future }]);
    });

    it('claims at most `limit`', async () => {
      const a = automation();
      await store.automations.startRuns(Array.from({ length: 5 }, (_, i) => run(a.id, { dueAt: T0 + i })));
      expect(await store.automations.claimDueRuns(T0 + 10, 'node-a', 30_000, 3)).toHaveLength(3);
      expect(await store.automations.claimDueRuns(T0 + 10, 'node-b', 30_000, 3)).toHaveLength(2);
    });

    it('writes a step outcome from the holder of the lease and lets the run go', async () => {
      const a = automation();
      const r = run(a.id);
      await store.automations.startRuns([r]);
      const [claimed] = await store.automations.claimDueRuns(T0, 'node-a', 30_000, 10);
      const next = { ...claimed, position: '1', dueAt: T0 + 3_600_000, context: { ...claimed.context, sent: true }, updatedAt: T0 + 5 };
      expect(await store.automations.updateRun(next, 'node-b')).toBe(false);
      expect(await store.automations.updateRun(next, 'node-a')).toBe(true);
      expect(await store.automations.getRun(site.id, r.id)).toEqual(next);
      // Released: it is claimed again when its next step falls due, and only then.
      expect(await store.automations.claimDueRuns(T0 + 1, 'node-b', 30_000, 10)).toEqual([]);
      expect((await store.automations.claimDueRuns(T0 + 3_600_000, 'node-b', 30_000, 10)).map((x) => x.id)).toEqual([r.id]);
      // A finished run is due for nothing.
      expect(await store.automations.updateRun({ ...next, status: 'done', dueAt: T0 }, 'node-b')).toBe(true);
      expect(await store.automations.getRun(site.id, r.id)).toMatchObject({ status: 'done', dueAt: null, waitingFor: null });
      expect(await store.automations.nextDueAt()).toBeNull();
    });

    it('lets another holder take over a run whose lease ran out, and fences the first one out', async () => {
      const a = automation();
      const r = run(a.id);
      await store.automations.startRuns([r]);
      const [stale] = await store.automations.claimDueRuns(T0, 'node-a', 50, 10);
      await sleep(120);
      const [taken] = await store.automations.claimDueRuns(T0, 'node-b', 30_000, 10);
      expect(taken.id).toBe(r.id);
      expect(await store.automations.updateRun({ ...stale, status: 'done' }, 'node-a')).toBe(false);
      expect(await store.automations.updateRun({ ...taken, status: 'done' }, 'node-b')).toBe(true);
    });

    it('claims one run, due or not, for the event it waits for, unless another holder has it', async () => {
      const a = automation();
      const waiting = run(a.id, { waitingFor: 'Order Completed', dueAt: T0 + 3_600_000 });
      const finished = run(a.id, { status: 'done', dueAt: null });
      await store.automations.startRuns([waiting, finished]);
      const claimed = await store.automations.claimRun(site.id, waiting.id, 'node-a', 30_000);
      expect(claimed).toMatchObject({ id: waiting.id, position: waiting.position, waitingFor: 'Order Completed' });
      expect(await store.automations.claimRun(site.id, waiting.id, 'node-b', 30_000)).toBeNull();
      expect(await store.automations.claimDueRuns(T0 + 7_200_000, 'node-b', 30_000, 10)).toEqual([]);
      expect(await store.automations.claimRun(site.id, finished.id, 'node-b', 30_000)).toBeNull();
      expect(await store.automations.claimRun('another-site', waiting.id, 'node-b', 30_000)).toBeNull();
      expect(await store.automations.updateRun({ ...claimed!, waitingFor: null, dueAt: T0 }, 'node-b')).toBe(false);
      expect(await store.automations.updateRun({ ...claimed!, waitingFor: null, dueAt: T0 }, 'node-a')).toBe(true);
      expect(await store.automations.claimRun(site.id, waiting.id, 'node-b', 30_000)).toMatchObject({ dueAt: T0, waitingFor: null });
    });

    it('never gives one due run to two stores claiming at once', async () => {
      const a = automation();
      await store.automations.startRuns(Array.from({ length: 40 }, (_, i) => run(a.id, { dueAt: T0 + i })));
      // Another store on the same database: another node, or (SQLite) another process's view.
      const second = await openStoreAt(t.db);
      try {
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? second : store).automations.claimDueRuns(T0 + 100, `node-${i}`, 30_000, 7)),
        );
        const ids = claims.flat().map((r) => r.id);
        expect(ids).toHaveLength(40);
        expect(new Set(ids).size).toBe(40);
      } finally {
        await second.close();
      }
    });
  });
});
