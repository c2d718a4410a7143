import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { StoreUnavailableError } from '../store/store.js';
import type { IngestEvent, IngestResult, Site } from '../store/types.js';
import { ingestEvent } from '../test-support/events.js';
import { createTestSite } from '../test-support/store.js';
import { directIngester, openIngester, type Ingester } from './ingester.js';
import { WriterThread } from './writer-thread.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A SQLite file in a folder of its own, its main-thread store, and a site on it. */
async function fileStore() {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-writer-'));
  const file = path.join(dir, 'rapport.db');
  const store = SqliteStore.open(file);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  const site = await createTestSite(store);
  return { file, store, site };
}

function writerOn(file: string): WriterThread {
  const writer = new WriterThread(file, {});
  cleanups.push(() => writer.close());
  return writer;
}

/**
 * Random traffic of `people` people: anonymous visits, logins that merge a visitor into a
 * customer (some customers on two browsers), and repeats of earlier message ids.
 */
function traffic(people: number, calls: number, seed: number): IngestEvent[][] {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = (n: number) => Math.floor(random() * n);
  const sent: IngestEvent[] = [];
  return Array.from({ length: calls }, (_, call) => {
    const person = pick(people);
    const anonymousId = `anon-${person}-${pick(2)}`;
    const userId = random() < 0.4 ? `user-${person}` : null;
    const at = Date.UTC(2026, 10, 1) + call * 60_000;
    const batch = Array.from({ length: 1 + pick(4) }, (_, i) =>
      ingestEvent({
        messageId: `c${call}-${i}`,
        type: i === 0 && userId ? 'identify' : 'track',
        name: i === 0 && userId ? null : ['Product Viewed', 'Product Added'][pick(2)],
        anonymousId,
        userId,
        trust: 'trusted',
        traits: i === 0 && userId ? { plan: `p${pick(3)}` } : null,
        timestamp: at + i,
        receivedAt: at + i,
      }),
    );
    if (sent.length && random() < 0.2) batch.push(structuredClone(sent[pick(sent.length)]));
    sent.push(...batch);
    return batch;
  });
}

/** What the store holds, without the ids and times that differ from one run to the next. */
async function contents(store: SqliteStore, site: Site) {
  const people: Record<string, unknown> = {};
  await store.scanProfiles(site.id, (profile) => {
    if (profile.mergedInto) return;
    const identities = store.db
      .prepare("SELECT kind || ':' || value FROM identities WHERE site_id = ? AND profile_id = ? ORDER BY 1")
      .pluck()
      .all(site.id, profile.id) as string[];
    const messages = store.db
      .prepare('SELECT message_id FROM events WHERE site_id = ? AND profile_id = ? ORDER BY message_id')
      .pluck()
      .all(site.id, profile.id);
    people[identities.join(' ')] = { traits: profile.traits, eventCount: profile.computed.eventCount, events: profile.computed.events, messages };
  });
  return people;
}

describe('the writer thread', () => {
  it('stores what the pipeline on the main thread would, however many calls are in flight', async () => {
    const calls = traffic(12, 150, 7);
    const threaded = await fileStore();
    const writer = writerOn(threaded.file);
    const direct = await fileStore();
    const here = directIngester(direct.store);

    // All at once through the thread (its group commit takes them in the order they were posted),
    // one after the other on this thread.
    const results = await Promise.all(calls.map((events) => writer.ingest(threaded.site, events)));
    const expected = [];
    for (const events of calls) expected.push(await here.ingest(direct.site, events));

    // Profile ids are made afresh in each store: what must match is which messages got one.
    const shape = (r: IngestResult) => ({ ...r, profileIds: r.profileIds.map((id) => id !== null) });
    expect(results.map(shape)).toEqual(expected.map(shape));
    expect(results.flatMap((r) => r.outcomes)).toContain('duplicate');
    const stored = await contents(threaded.store, threaded.site);
    expect(Object.keys(stored).length).toBeGreaterThan(5);
    expect(stored).toEqual(await contents(direct.store, direct.site));
  });

  it('answers once committed, so the main thread reads what it stored', async () => {
    const { file, store, site } = await fileStore();
    const writer = writerOn(file);
    const { outcomes } = await writer.ingest(site, [ingestEvent({ type: 'identify', name: null, userId: 'u1', anonymousId: 'a1', trust: 'trusted', traits: { plan: 'pro' } })]);
    expect(outcomes).toEqual(['stored']);
    const id = await store.findProfileId(site.id, 'user', 'u1');
    expect((await store.getProfile(site.id, id!))?.traits).toEqual({ plan: 'pro' });
  });

  it('returns, when asked, each changed profile before and after, with the message that changed it last', async () => {
    const { file, site } = await fileStore();
    const writer = writerOn(file);
    const first = await writer.ingest(site, [ingestEvent({ type: 'identify', name: null, userId: 'u1', anonymousId: 'a1', trust: 'trusted', traits: { plan: 'free' } })]);
    expect(first.changed).toBeUndefined();
    const last = ingestEvent({ type: 'identify', name: null, userId: 'u1', anonymousId: 'a1', trust: 'trusted', traits: { plan: 'pro' } });
    const { changed, profileIds } = await writer.ingest(site, [ingestEvent({ anonymousId: 'a1' }), last], { profiles: true });
    expect(changed).toHaveLength(1);
    expect(changed![0].before?.traits).toEqual({ plan: 'free' });
    expect(changed![0].after).toMatchObject({ id: first.profileIds[0], traits: { plan: 'pro' } });
    expect(changed![0].last).toEqual({ sender: 'a1', messageId: last.messageId });
    expect(profileIds).toEqual([first.profileIds[0], first.profileIds[0]]);
  });

  it('shares the file with writes of the main thread without either failing', async () => {
    const { file, store, site } = await fileStore();
    const writer = writerOn(file);
    const ingests = Array.from({ length: 40 }, (_, i) => writer.ingest(site, [ingestEvent({ anonymousId: `a${i % 7}` })]));
    const mains = Array.from({ length: 40 }, (_, i) => store.setMeta(`key${i}`, String(i)));
    await Promise.all([...ingests, ...mains]);
    expect(store.db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(40);
    expect(await store.getMeta('key39')).toBe('39');
  });

  it('finishes every call in flight before it closes', async () => {
    const { file, store, site } = await fileStore();
    const writer = new WriterThread(file, {});
    const ingests = Array.from({ length: 30 }, (_, i) => writer.ingest(site, [ingestEvent({ anonymousId: `a${i}` })]));
    await writer.close();
    expect((await Promise.all(ingests)).every((r) => r.outcomes[0] === 'stored')).toBe(true);
    expect(store.db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(30);
    await expect(writer.ingest(site, [ingestEvent({ anonymousId: 'late' })])).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('fails the calls in flight as unavailable when the thread dies, and starts a new one for the next', async () => {
    const { file, store, site } = await fileStore();
    const writer = writerOn(file);
    await writer.ingest(site, [ingestEvent({ anonymousId: 'warm' })]);
    // Large enough that the thread is still at it when it is stopped.
    const inFlight = writer.ingest(site, Array.from({ length: 2000 }, () => ingestEvent({ anonymousId: 'lost' })));
    await (writer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(inFlight).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await writer.ingest(site, [ingestEvent({ anonymousId: 'after' })])).outcomes).toEqual(['stored']);
    expect(await store.findProfileId(site.id, 'anonymous', 'after')).not.toBeNull();
  });

  it('passes a failure of the pipeline back as an error, and keeps working', async () => {
    const { file, site } = await fileStore();
    const writer = writerOn(file);
    // No such site: the rows break the foreign key, and nothing of the call is stored.
    const ghost = { ...site, id: 'no-such-site' };
    await expect(writer.ingest(ghost, [ingestEvent({ anonymousId: 'a' })])).rejects.toThrow(/FOREIGN KEY/);
    expect((await writer.ingest(site, [ingestEvent({ anonymousId: 'a' })])).outcomes).toEqual(['stored']);
  });
});

describe('openIngester', () => {
  it('runs a writer thread for a SQLite file unless told not to, and the pipeline here otherwise', async () => {
    const { file, store } = await fileStore();
    const threaded: Ingester = openIngester(store, { db: file });
    cleanups.push(() => threaded.close());
    expect(threaded).toBeInstanceOf(WriterThread);
    expect(openIngester(store, { db: file, writerThread: false })).not.toBeInstanceOf(WriterThread);
    const memory = SqliteStore.open(':memory:');
    cleanups.push(() => memory.close());
    expect(openIngester(memory, { db: ':memory:' })).not.toBeInstanceOf(WriterThread);
  });
});
