import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli.js';
import { ingest } from '../collect/pipeline.js';
import type { Offer, Segment } from '../decisions/types.js';
import { ingestEvent } from '../test-support/events.js';
import { createTestDatabase, describePostgres, testPostgresUrl } from '../test-support/postgres.js';
import { createTestSite } from '../test-support/store.js';
import { copyDatabase, formatCopyReport, type CopyOptions, type CopyResult } from './copy.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { CohortQuery, Store } from './store.js';
import type { IngestEvent, MergeRecord, Site, StoredEvent } from './types.js';
import { captureConsole } from '../test-support/console-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-copy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const capture = captureConsole;

const DAY = 86_400_000;
/** Three months of event time: before the target's first partition, the current month, a later one made on demand. */
const MONTHS = [Date.UTC(2025, 4, 10, 9), Date.now() - DAY, Date.UTC(2027, 5, 3, 12)];

interface Source {
  file: string;
  sites: Site[];
  offers: Offer[];
  /** A message the source stored, to send again to the target. */
  stored: IngestEvent;
}

let sources = 0;

const searchTouch = (at: number): IngestEvent['enrichment'] => ({
  ...ingestEvent().enrichment,
  firstTouch: { medium: 'search', source: 'Google', term: 'boots', campaign: null, referrer: 'https://www.google.com/', landingPage: null, at },
});

/** A SQLite database filled through the real pipeline: two sites, merges, segments, offers, offer events. */
async function buildSource(): Promise<Source> {
  const file = path.join(dir, `source-${++sources}.db`);
  const store = SqliteStore.open(file);
  try {
    const shop = await createTestSite(store, {}, 'Shop');
    const other = await createTestSite(store, {}, 'Other shop');
    await store.setMeta('admin_token', 'admin-token-of-the-source');
    const at = MONTHS[0];
    const segment: Segment = {
      id: 'seg_buyers',
      siteId: shop.id,
      name: 'Buyers',
      description: 'ordered at least once',
      rule: { field: 'computed.orders', op: 'gte', value: 1 },
      createdAt: at,
      updatedAt: at + 1,
    };
    await store.saveSegment(segment);
    await store.saveSegment({ ...segment, id: 'seg_all', name: 'Everyone', description: null, rule: { all: [] } });
    const offers: Offer[] = [
      {
        id: 'off_welcome',
        siteId: shop.id,
        name: 'Welcome back',
        slot: 'hero',
        segmentId: segment.id,
        priority: 5,
        status: 'active',
        content: { title: 'Hi {{traits.firstName}}', link: 'https://shop.example/sale' },
        startsAt: at,
        endsAt: null,
        cap: { count: 3, days: 7 },
        controlPercent: 12.5,
        goal: { event: 'Order Completed', withinDays: 7 },
        createdAt: at,
        updatedAt: at,
      },
      {
        id: 'off_banner',
        siteId: shop.id,
        name: 'Banner',
        slot: 'top',
        segmentId: null,
        priority: 1,
        status: 'paused',
        content: { text: 'Free shipping' },
        startsAt: null,
        endsAt: null,
        cap: null,
        controlPercent: 0,
        goal: null,
        createdAt: at,
        updatedAt: at,
      },
    ];
    for (const offer of offers) await store.saveOffer(offer);
    await store.saveSegment({ ...segment, siteId: other.id, id: 'seg_other' });
    const definition = { trigger: { event: 'Product Added' }, steps: [{ wait: '1h' }] };
    await store.automations.saveAutomation({ id: 'aut_cart', siteId: shop.id, name: 'Cart', status: 'active', definition, createdAt: at, updatedAt: at });
    const run = { siteId: shop.id, automationId: 'aut_cart', profileId: 'p1', holdout: true, status: 'active' as const, position: '0', context: { n: 1 } };
    await store.automations.startRuns([
      { ...run, id: 'run_1', triggerKey: 'a:1', dueAt: at + 1, waitingFor: null, attempts: 0, startedAt: at, updatedAt: at },
      { ...run, id: 'run_2', triggerKey: 'a:2', dueAt: null, waitingFor: 'Order Completed', attempts: 2, startedAt: at, updatedAt: at },
    ]);

    const events = (site: Site, batch: Array<Partial<IngestEvent>>) => ingest(store, site, batch.map((e) => ingestEvent(e)));
    let stored: IngestEvent | null = null;
    for (const [m, month] of MONTHS.entries()) {
      for (let v = 0; v < 8; v++) {
        const anonymousId = `anon-${m}-${v}`;
        const batch = [
          // Half of them came from a search: reports split by first touch read it (copied into columns of its own).
          { type: 'page' as const, name: 'Home', anonymousId, timestamp: month + v * 1000, ...(v % 2 ? {} : { enrichment: searchTouch(month) }) },
          { type: 'track' as const, name: 'Product Viewed', anonymousId, timestamp: month + v * 1000 + 1, properties: { sku: `sku-${v}` } },
          { type: 'track' as const, name: 'Offer Viewed', anonymousId, timestamp: month + v * 1000 + 2, properties: { offerId: 'off_welcome' } },
        ];
        const built = batch.map((e) => ingestEvent(e));
        await ingest(store, shop, built);
        stored ??= built[1];
        await events(other, [{ type: 'track', name: 'Signed Up', anonymousId: `other-${m}-${v}`, timestamp: month + v }]);
      }
    }
    // A known customer on two devices: the second identify merges the second device's profile into the first.
    const t = MONTHS[1];
    await events(shop, [
      { type: 'identify', anonymousId: 'laptop', userId: 'u-vera', timestamp: t, traits: { firstName: 'Vera', email: 'vera@example.com' } },
      { type: 'track', name: 'Offer Clicked', anonymousId: 'laptop', userId: 'u-vera', timestamp: t + 1, properties: { offerId: 'off_welcome' } },
      { type: 'track', name: 'Order Completed', anonymousId: 'laptop', userId: 'u-vera', timestamp: t + 2, properties: { revenue: 99.5 } },
    ]);
    await events(shop, [
      { type: 'page', name: 'Cart', anonymousId: 'phone', timestamp: t + 10 },
      { type: 'track', name: 'Offer Control Exposed', anonymousId: 'phone', timestamp: t + 11, properties: { offerId: 'off_welcome' } },
    ]);
    await events(shop, [{ type: 'identify', anonymousId: 'phone', userId: 'u-vera', timestamp: t + 20, traits: { plan: 'gold' } }]);
    // A shared computer: the anonymous id moves to the second user.
    await events(shop, [{ type: 'identify', anonymousId: 'kiosk', userId: 'u-bob', timestamp: t + 30 }]);
    await events(shop, [{ type: 'identify', anonymousId: 'kiosk', userId: 'u-alice', timestamp: t + 40 }]);
    return { file, sites: await store.listSites(), offers, stored: stored! };
  } finally {
    await store.close();
  }
}

/** Every event of a site, newest first, read in small pages (so the cursors are exercised too). */
async function allEvents(store: Store, siteId: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listEvents({ siteId, limit: 7, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** What the store answers about a site, through the Store interface only. */
async function readSite(store: Store, site: Site, offers: Offer[]) {
  const events = await allEvents(store, site.id);
  const live = (await store.listProfiles({ siteId: site.id, limit: 1000 })).items;
  const ids = new Set(live.map((p) => p.id));
  const merges = new Map<string, unknown>();
  for (const id of [...ids]) {
    const history = await store.profileMerges(site.id, id);
    merges.set(id, history);
    for (const m of history) if (m.from) ids.add(m.from);
  }
  // A merge's id is its row number, which a copy into a database that serves other sites gives anew.
  const withoutIds = (records: MergeRecord[]) => records.map(({ id: _, ...m }) => m);
  const profiles = [];
  for (const id of [...ids].sort()) {
    const exported = await store.exportProfile(site.id, id);
    profiles.push({
      profile: await store.getProfile(site.id, id),
      identities: await store.profileIdentities(site.id, id),
      merges: withoutIds(await store.profileMerges(site.id, id)),
      events: (await store.profileEvents(site.id, id, 1000)).items,
      export: exported && { ...exported, merges: withoutIds(exported.merges) },
    });
  }
  const offerEvents = [];
  for (const offer of offers) offerEvents.push(await store.offerEvents(site.id, offer.id));
  return {
    events,
    live,
    profiles,
    segments: await store.listSegments(site.id),
    offers: await store.listOffers(site.id),
    offerEvents,
    rankings: await store.rankingInputs(site.id),
    // Groups in key order: the stores give them in an order of their own.
    retentionBySource: await store.cohorts(site.id, cohortsOfMonths(true)).then((c) => ({ ...c, groups: c.groups?.sort((a, b) => a.key.localeCompare(b.key)) })),
    vera: await store.findProfileId(site.id, 'user', 'u-vera'),
  };
}

/** Weekly cohorts of the three months, in UTC. */
function cohortsOfMonths(bySource: boolean): CohortQuery {
  const day = Math.floor(MONTHS[0] / DAY);
  const from = day - ((day + 3) % 7);
  const cohortWeeks = 14;
  return { from, dayStarts: Array.from({ length: 7 * (cohortWeeks + 12) + 1 }, (_, i) => (from + i) * DAY), cohortWeeks, weeks: 12, metric: 'return', bySource };
}

async function readAll(store: Store, source: Source) {
  const out: Record<string, unknown> = { sites: await store.listSites(), admin: await store.getMeta('admin_token') };
  for (const site of source.sites) out[site.id] = await readSite(store, site, source.offers);
  return out;
}

const quiet: Partial<CopyOptions> = { progress: () => {} };

describePostgres('rapport copy (SQLite to PostgreSQL)', () => {
  let source: Source;
  let expected: Awaited<ReturnType<typeof readAll>>;
  const opened: Store[] = [];

  beforeAll(async () => {
    source = await buildSource();
    const sqlite = SqliteStore.open(source.file);
    try {
      expected = await readAll(sqlite, source);
    } finally {
      await sqlite.close();
    }
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  async function openTarget(url: string): Promise<Store> {
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    const store = await PostgresStore.open(url, { poolSize: 3 });
    opened.push(store);
    return store;
  }

  const copyCounts = (result: CopyResult) => Object.fromEntries(result.tables.map((t) => [t.table, t.copied]));
  const verified = (result: CopyResult) => Object.fromEntries(result.tables.map((t) => [t.table, [t.source, t.target]]));

  it('copies every table, reads back what SQLite answers, and a second run copies nothing', async () => {
    expect(source.sites).toHaveLength(2);
    const shop = expected[source.sites[0].id] as Awaited<ReturnType<typeof readSite>>;
    // The data is what the test means it to be: merges of both kinds, offer events, three months.
    expect(shop.profiles.some((p) => p.profile?.mergedInto)).toBe(true);
    expect(shop.profiles.flatMap((p) => p.merges).map((m) => (m as { rule: string }).rule)).toEqual(
      expect.arrayContaining(['identify', 'anonymous-moved']),
    );
    expect(shop.offerEvents[0].map((e) => e.kind).sort()).toEqual(expect.arrayContaining(['click', 'control', 'impression']));
    expect(shop.retentionBySource.groups?.map((g) => [g.key, g.cohorts.reduce((n, c) => n + c.people, 0)])).toEqual([['', 4], ['Google', 4]]);

    const url = await createTestDatabase(testPostgresUrl());
    const progress: string[] = [];
    const first = await copyDatabase({ from: source.file, to: url, batch: 7, progress: (line) => progress.push(line), progressEveryMs: 0 });
    // Every chunk says how far it got (every few seconds, but 0 here).
    expect(progress.every((line) => /^rapport copy: \w+: [\d,]+ of [\d,]+ rows, [\d,]+ rows\/s, about \d+ s to go$/.test(line))).toBe(true);
    const eventsRead = first.tables.find((t) => t.table === 'events')!.source;
    expect(progress.filter((line) => line.startsWith('rapport copy: events: '))[0]).toMatch(new RegExp(`^rapport copy: events: 7 of ${eventsRead} rows`));
    expect(first.finished).toBe(true);
    expect(first.ok).toBe(true);
    for (const table of first.tables) {
      expect(table.mismatches, table.table).toEqual([]);
      expect(table.source, table.table).toBe(table.target);
      expect(table.copied, table.table).toBe(table.source);
    }
    expect(verified(first)).toMatchObject({ meta: [1, 1], sites: [2, 2], segments: [3, 3], offers: [2, 2], automations: [1, 1], automation_runs: [2, 2] });
    const events = first.tables.find((t) => t.table === 'events')!;
    expect(events.source).toBeGreaterThan(7 * 10);
    expect(first.tables.find((t) => t.table === 'message_keys')!.target).toBe(events.source);

    const target = await openTarget(url);
    expect(await readAll(target, source)).toEqual(expected);

    const second = await copyDatabase({ from: source.file, to: url, batch: 7, ...quiet });
    expect(second.ok).toBe(true);
    expect(Object.values(copyCounts(second)).every((n) => n === 0)).toBe(true);
    expect(Object.values(verified(second))).toEqual(Object.values(verified(first)));
    expect(formatCopyReport(second)).toMatch(/copied and verified/);
    expect(await readAll(target, source)).toEqual(expected);
  });

  it('keeps the order of events and their dedupe keys: new messages come first, a copied one is a duplicate', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    expect((await copyDatabase({ from: source.file, to: url, ...quiet })).ok).toBe(true);
    const target = await openTarget(url);
    const shop = source.sites[0];

    const again = await ingest(target, shop, [{ ...source.stored, receivedAt: Date.now() }]);
    expect(again.outcomes).toEqual(['duplicate']);
    const fresh = ingestEvent({ type: 'track', name: 'After the move', anonymousId: source.stored.anonymousId, timestamp: MONTHS[0] });
    expect((await ingest(target, shop, [fresh])).outcomes).toEqual(['stored']);
    const events = await allEvents(target, shop.id);
    // Newest first by seq: the message stored after the copy is first, although its time is the oldest.
    expect(events[0].messageId).toBe(fresh.messageId);
    expect(events.slice(1)).toEqual((expected[shop.id] as Awaited<ReturnType<typeof readSite>>).events);
    expect(Number(events[0].id)).toBeGreaterThan(Number(events[1].id));

    // The target now has a row the source lacks: the copy says so and fails.
    const result = await copyDatabase({ from: source.file, to: url, ...quiet });
    expect(result.ok).toBe(false);
    expect(result.tables.find((t) => t.table === 'events')!.mismatches).toEqual([
      { siteId: shop.id, source: expect.any(Number), target: expect.any(Number) },
    ]);
    expect(formatCopyReport(result)).toMatch(/events of site \S+: source \d+, target \d+: the target has rows the source lacks/);
  });

  it('resumes an interrupted copy where it stopped, and ends equal', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    const keys: Record<string, string[]> = {
      meta: ['key'],
      sites: ['id'],
      profiles: ['site_id', 'id'],
      identities: ['site_id', 'kind', 'value'],
      events: ['seq'],
      merges: ['seq'],
      segments: ['site_id', 'id'],
      offers: ['site_id', 'id'],
      offer_events: ['seq'],
    };
    const client = new pg.Client({ connectionString: url });
    const sqlite = SqliteStore.open(source.file);
    await client.connect();
    const count = async (sql: string, values: unknown[] = []) => Number((await client.query<{ n: string }>(sql, values)).rows[0].n);
    const progress = async () =>
      Object.fromEntries(
        (await client.query<{ key: string; value: string }>(`SELECT key, value FROM meta WHERE key LIKE 'copy:%'`)).rows.map((r) => [
          r.key.slice('copy:'.length),
          JSON.parse(r.value) as unknown[],
        ]),
      );
    /** Whole chunks only: the target holds exactly the source's rows up to each progress row, and every dedupe key. */
    const consistent = async () => {
      const saved = await progress();
      for (const [table, last] of Object.entries(saved)) {
        const key = keys[table].join(', ');
        const upTo = sqlite.db
          .prepare(`SELECT count(*) FROM ${table} WHERE (${key}) <= (${keys[table].map(() => '?').join(', ')})`)
          .pluck()
          .get(...last);
        const there = await count(`SELECT count(*) AS n FROM ${table}${table === 'meta' ? ` WHERE key NOT LIKE 'copy:%'` : ''}`);
        expect(there, table).toBe(upTo);
      }
      expect(await count('SELECT count(*) AS n FROM message_keys')).toBe(await count('SELECT count(*) AS n FROM events'));
      return saved;
    };
    try {
      // Stopped in the middle of the events (after meta 1 chunk, sites 1, profiles 11, identities 11).
      const stopped = await copyDatabase({ from: source.file, to: url, batch: 5, maxChunks: 30, ...quiet });
      expect(stopped.finished).toBe(false);
      expect(stopped.ok).toBe(false);
      expect(formatCopyReport(stopped)).toMatch(/run the copy again to resume/);
      const first = await consistent();
      expect(Object.keys(first).sort()).toEqual(['events', 'identities', 'meta', 'profiles', 'sites']);
      expect(await count('SELECT count(*) AS n FROM events')).toBe(6 * 5);

      // A failure inside a chunk's transaction, after its writes: that chunk and its progress row roll back.
      let eventChunks = 0;
      const failing = copyDatabase({
        from: source.file,
        to: url,
        batch: 5,
        ...quiet,
        onChunk: ({ table }) => {
          if (table === 'events' && ++eventChunks === 3) throw new Error('injected failure');
        },
      });
      await expect(failing).rejects.toThrow('injected failure');
      const second = await consistent();
      expect(await count('SELECT count(*) AS n FROM events')).toBe(8 * 5);
      expect(second.events).not.toEqual(first.events);
    } finally {
      await client.end();
      await sqlite.close();
    }

    const resumed = await copyDatabase({ from: source.file, to: url, batch: 5, ...quiet });
    expect(resumed.ok, formatCopyReport(resumed)).toBe(true);
    const events = resumed.tables.find((t) => t.table === 'events')!;
    expect(events.copied).toBe(events.source - 8 * 5);
    const again = await copyDatabase({ from: source.file, to: url, batch: 5, ...quiet });
    expect(again.tables.every((t) => t.copied === 0)).toBe(true);
    expect(again.ok).toBe(true);
    // Every row once over the runs: none twice, none lost.
    const target = await openTarget(url);
    expect(await readAll(target, source)).toEqual(expected);
  });

  it('copies into a database that already serves other sites, counting per site', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    const target = await openTarget(url);
    const resident = await createTestSite(target, {}, 'Resident');
    // Merges (anonymous profiles turned known, a second device) and offer events, numbered from 1 as the source's are.
    const send = (e: Partial<IngestEvent>) => ingest(target, resident, [ingestEvent({ timestamp: MONTHS[1], ...e })]);
    await send({ type: 'page', name: 'Home', anonymousId: 'r-1' });
    await send({ type: 'identify', anonymousId: 'r-1', userId: 'r-user' });
    await send({ type: 'track', name: 'Offer Viewed', anonymousId: 'r-1', properties: { offerId: 'x' } });
    await send({ type: 'page', name: 'Home', anonymousId: 'r-2' });
    await send({ type: 'identify', anonymousId: 'r-2', userId: 'r-user' });
    const residentBefore = await allEvents(target, resident.id);

    const result = await copyDatabase({ from: source.file, to: url, batch: 7, ...quiet });
    expect(result.ok, formatCopyReport(result)).toBe(true);
    // The resident site's merges and offer events hold seqs that the source uses too.
    expect(result.tables.find((t) => t.table === 'merges')!.renumbered).toBeGreaterThan(0);
    expect(result.tables.find((t) => t.table === 'offer_events')!.renumbered).toBeGreaterThan(0);
    expect(result.tables.find((t) => t.table === 'sites')).toMatchObject({ source: 2, target: 2 });

    const { listSites, ...rest } = { listSites: await target.listSites(), ...(await readAll(target, source)) };
    expect(listSites.map((s) => s.id).sort()).toEqual([resident.id, ...source.sites.map((s) => s.id)].sort());
    const { sites: _sites, ...expectedRest } = expected;
    const { sites: _readSites, ...readRest } = rest;
    expect(readRest).toEqual(expectedRest);
    expect(await allEvents(target, resident.id)).toEqual(residentBefore);
    // New rows after the copy still come after every copied one.
    await ingest(target, resident, [ingestEvent({ type: 'track', name: 'Later', anonymousId: 'r-1', timestamp: MONTHS[1] })]);
    const shopEvents = await allEvents(target, source.sites[0].id);
    expect(Number((await allEvents(target, resident.id))[0].id)).toBeGreaterThan(Number(shopEvents[0].id));
  });

  it('runs from the command line: prints the verified counts, exits with 1 when they differ', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    const io = capture();
    await main(['copy', '--from', source.file, '--to', url, '--batch', '20']);
    expect(process.exitCode).toBeUndefined();
    expect(io.out()).toMatch(/^table +copied +source +target/);
    expect(io.out()).toMatch(/^events +\d+ +(\d+) +\1 /m);
    expect(io.out()).toMatch(/^profiles +\d+ +(\d+) +\1 /m);
    expect(io.out()).toMatch(/copied and verified in/);
    expect(io.err()).toContain(`${source.file} -> ${url}`);

    const target = await openTarget(url);
    await ingest(target, source.sites[1], [ingestEvent({ type: 'track', name: 'Extra', anonymousId: 'x', timestamp: MONTHS[1] })]);
    await main(['copy', '--from', source.file, '--to', url]);
    expect(process.exitCode).toBe(1);
    expect(io.err()).toMatch(/counts of the source and the target differ/);
    expect(io.out()).toMatch(/DIFFERS/);
  });

  it('refuses a file that is not a Rapport database, or an old one, with exit code 1', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { migrate, MIGRATIONS } = await import('./sqlite/migrations.js');
    const file = path.join(dir, 'not-rapport.db');
    new Database(file).exec('CREATE TABLE t (x)');
    const old = path.join(dir, 'version-1.db');
    const db = new Database(old);
    migrate(db, MIGRATIONS.slice(0, 1));
    db.close();
    const url = await createTestDatabase(testPostgresUrl());
    const io = capture();
    await main(['copy', '--from', file, '--to', url]);
    expect(io.err()).toMatch(/not-rapport.db is not a Rapport SQLite database/);
    expect(process.exitCode).toBe(1);
    await main(['copy', '--from', old, '--to', url]);
    expect(io.err()).toMatch(/version-1.db is at schema version 1 and lacks segments, offers, offer_events, automations, automation_runs, automation_sends, rollup_days, rollup_touches: bring it up to date first \(rapport migrate --db \S+version-1.db\)/);
    expect(io.err()).not.toMatch(/run the same command again/);
  });
});

describe('rapport copy usage', () => {
  let file: string;
  beforeAll(() => {
    file = path.join(dir, 'usage.db');
    SqliteStore.open(file).db.close();
  });

  it.each([
    [[], /copy needs --from <sqlite file>/],
    [['--to', 'postgres://db/rapport'], /copy needs --from/],
    [['--from', 'postgres://db/rapport', '--to', 'postgres://db/x'], /--from must be a SQLite file, not a URL/],
    [['--from', '/nonexistent/rapport.db', '--to', 'postgres://db/x'], /--from: there is no SQLite file at "\/nonexistent\/rapport.db"/],
    [['--from', '<file>'], /copy needs --to <postgres url>/],
    [['--from', '<file>', '--to', './other.db'], /--to must be a postgres:\/\/ URL, not "\.\/other\.db"/],
    [['--from', '<file>', '--to', 'mysql://root:secret@db/x'], /--to must be a postgres:\/\/ URL\n/],
    [['--from', '<file>', '--to', 'postgres://db/x', '--batch', '0'], /--batch must be a whole number from 1 to 100000, not "0"/],
    [['--from', '<file>', '--to', 'postgres://db/x', '--batch', 'many'], /--batch must be a whole number/],
    [['--from', '<file>', '--to', 'postgres://db/x', '--batch'], /--batch needs a value/],
    [['--from', '<file>', '--to', 'postgres://db/x', '--db', 'y'], /unknown option --db/],
    [['--from', '<file>', '--to', 'postgres://db/x', 'now'], /unexpected argument "now"/],
  ])('refuses %j with a usage error', async (args, message) => {
    const io = capture();
    await main(['copy', ...args.map((a) => (a === '<file>' ? file : a))]);
    expect(io.err()).toMatch(message);
    expect(io.err()).toMatch(/Run `rapport --help` for usage/);
    expect(process.exitCode).toBe(2);
  });

  it('documents its options in --help, and is listed in rapport --help', async () => {
    const io = capture();
    await main(['copy', '--help']);
    for (const option of ['--from <file>', '--to <url>', '--batch <rows>']) expect(io.out()).toContain(option);
    await main(['--help']);
    expect(io.out()).toMatch(/^ {2}copy +Copy a SQLite database into PostgreSQL/m);
    expect(process.exitCode).toBeUndefined();
  });
});
