import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { ingest } from '../../collect/pipeline.js';
import { touchKeyOf } from '../../reports/rollups.js';
import { ingestEvent, pageEvent } from '../../test-support/events.js';
import { createTestDatabase, describePostgres, startPostgres, testPostgresUrl, type PostgresCluster } from '../../test-support/postgres.js';
import { createTestSite, openStoreAt, openTestStore, type TestStore } from '../../test-support/store.js';
import { StoreUnavailableError, type StoreChange } from '../store.js';
import type { IngestEvent, IngestProgram, IngestWrites, Site, WorkingSetRead } from '../types.js';
import { migrate, MIGRATIONS } from './migrations.js';
import { PostgresStore } from './postgres-store.js';

// What only a store shared by several processes has to get right: two stores (two nodes) on one
// database at once, notifications between them, migrations raced by many nodes, partitions,
// and a server that goes away.

const DAY = 86_400_000;
const opened: TestStore[] = [];
const others: PostgresStore[] = [];
afterEach(async () => {
  for (const store of others.splice(0)) await store.close();
  for (const t of opened.splice(0)) await t.close();
});

/** Two stores on one new database, as two nodes would have, and a site. */
async function twoNodes() {
  const t = await openTestStore();
  opened.push(t);
  const second = (await openStoreAt(t.db)) as PostgresStore;
  others.push(second);
  const site = await createTestSite(t.store);
  return { one: t.store as PostgresStore, two: second, site, db: t.db };
}

const at = Date.now() - DAY;
let n = 0;
const ev = (fields: Partial<IngestEvent>) => ingestEvent({ timestamp: at + ++n, receivedAt: at + n, ...fields });
const track = (anonymousId: string) => ev({ type: 'track', name: 'Viewed', anonymousId });
const identify = (anonymousId: string, userId: string) => ev({ type: 'identify', name: null, anonymousId, userId });

describePostgres('PostgresStore across nodes', () => {
  it('keeps one person one profile when two nodes ingest for them at once', async () => {
    const { one, two, site } = await twoNodes();
    const user = 'the-user';
    let sent = 0;
    const run = async (store: PostgresStore, events: IngestEvent[]) => {
      sent += events.length;
      const { outcomes } = await ingest(store, site, events);
      expect(outcomes.every((o) => o === 'stored')).toBe(true);
    };
    const rounds = 15;
    for (let r = 0; r < rounds; r++) {
      const a = `a${r}`;
      const b = `b${r}`;
      // A known profile with a second id: a merge of it by its user id (which locks the user id
      // only) races events read through its anonymous id.
      const x = `x${r}`;
      await run(one, [identify(x, `old-${r}`)]);
      await Promise.all([
        run(one, [ev({ type: 'alias', name: null, userId: user, previousId: `old-${r}`, trust: 'trusted' })]),
        run(two, [track(x)]),
        run(one, [track(x), track(x)]),
        run(one, [identify(a, user)]),
        // The sender's own anonymous id, aliased to the user with the write key.
        run(two, [track(a), ev({ type: 'alias', name: null, anonymousId: a, userId: user, previousId: a })]),
        run(two, [track(b), track(b)]),
        run(one, [ev({ type: 'alias', name: null, userId: user, previousId: b, trust: 'trusted' })]),
        run(r % 2 ? one : two, [track(a), identify(`c${r}`, user)]),
      ]);
    }

    const known = (await one.findProfileId(site.id, 'user', user))!;
    expect((await two.listProfiles({ siteId: site.id, userId: user, limit: 10 })).items.map((p) => p.id)).toEqual([known]);
    for (let r = 0; r < rounds; r++) {
      expect(await two.findProfileId(site.id, 'anonymous', `a${r}`)).toBe(known);
      expect(await two.findProfileId(site.id, 'anonymous', `x${r}`)).toBe(known);
      expect(await two.findProfileId(site.id, 'alias', `old-${r}`)).toBe(known);
    }

    const sql = async (text: string) => (await one.pool.query(text, [site.id])).rows;
    // Exactly one live profile holds the user id.
    expect(await sql(`SELECT id FROM profiles WHERE site_id = $1 AND user_id = 'the-user' AND merged_into IS NULL`)).toEqual([{ id: known }]);
    // Every identity and every event points to a live profile.
    const dangling = `LEFT JOIN profiles p ON p.site_id = x.site_id AND p.id = x.profile_id
      WHERE x.site_id = $1 AND (p.id IS NULL OR p.merged_into IS NOT NULL)`;
    expect(await sql(`SELECT x.kind, x.value FROM identities x ${dangling}`)).toEqual([]);
    expect(await sql(`SELECT x.seq FROM events x ${dangling}`)).toEqual([]);
    // Every message stored once, with its dedupe key, and counted once by the live profiles.
    expect(await sql(`SELECT count(*) AS n, count(DISTINCT (sender, message_id)) AS d FROM events WHERE site_id = $1`)).toEqual([{ n: sent, d: sent }]);
    expect(await sql(`SELECT count(*) AS n FROM message_keys WHERE site_id = $1`)).toEqual([{ n: sent }]);
    let counted = 0;
    await one.scanProfiles(site.id, (p) => void (counted += p.computed.eventCount));
    expect(counted).toBe(sent);
    // Each profile merged away is merged once, and is a tombstone of a live one.
    expect(
      await sql(`SELECT from_profile FROM merges WHERE site_id = $1 AND from_profile IS NOT NULL AND rule <> 'anonymous-moved'
        GROUP BY from_profile HAVING count(*) > 1`),
    ).toEqual([]);
    expect(
      await sql(`SELECT m.from_profile FROM merges m JOIN profiles p ON p.site_id = m.site_id AND p.id = m.from_profile
        WHERE m.site_id = $1 AND m.rule <> 'anonymous-moved' AND m.from_profile IS NOT NULL AND p.merged_into IS NULL`),
    ).toEqual([]);
  });

  it('writes the calls that wait for a transaction together: fewer transactions than calls, every call answered', async () => {
    const t = await openTestStore();
    opened.push(t);
    const store = t.store as PostgresStore;
    const site = await createTestSite(store);
    const connect = vi.spyOn(store.pool, 'connect');
    const calls = 40;
    const results = await Promise.all(Array.from({ length: calls }, (_, i) => ingest(store, site, [track(`grouped-${i}`), track(`grouped-${i}`)])));
    const transactions = connect.mock.calls.length;
    connect.mockRestore();
    expect(results.flatMap((r) => r.outcomes)).toEqual(Array(calls * 2).fill('stored'));
    // The first calls start at once, one transaction each (see ingestTransactions); the rest wait and go together.
    expect(transactions).toBeLessThan(calls / 2);
    const ids = new Set(results.flatMap((r) => r.profileIds));
    expect(ids.size).toBe(calls);
    expect((await store.listEvents({ siteId: site.id, limit: 1000 })).items).toHaveLength(calls * 2);
  });

  it('stores a message sent through both nodes at once once', async () => {
    const { one, two, site } = await twoNodes();
    for (let i = 0; i < 20; i++) {
      const event = track(`visitor-${i % 3}`);
      const [x, y] = await Promise.all([ingest(one, site, [event]), ingest(two, site, [{ ...event }])]);
      expect([...x.outcomes, ...y.outcomes].sort()).toEqual(['duplicate', 'stored']);
    }
    expect((await one.listEvents({ siteId: site.id, limit: 100 })).items).toHaveLength(20);
  });

  it('stores a message once even when both dedupe reads miss it: the key is a constraint', async () => {
    const { one, two, site, db } = await twoNodes();
    const event = track('racer');
    const writes = (profileId: string): IngestWrites => ({
      merges: [],
      identities: [],
      newProfiles: [],
      changedProfiles: [],
      events: [{ event, sender: 'racer', profileId, sessionId: 's', offer: null }],
      rollups: { days: [], touches: [] },
    });
    // Reads nothing but the dedupe key (no identity locks), so that only the constraint stands
    // between two writers.
    function* program(profileId: string): IngestProgram<string> {
      const {
        existing: [found],
      } = (yield { read: 'working-set', identities: [], messages: [{ sender: 'racer', messageId: event.messageId }] }) as WorkingSetRead;
      return found ? { writes: { ...writes(profileId), events: [] }, result: 'duplicate' } : { writes: writes(profileId), result: 'stored' };
    }
    // Holding inserts into message_keys back until both have read it as absent.
    const blocker = new pg.Client({ connectionString: db });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE message_keys IN SHARE MODE');
    const results = Promise.all([one.ingestTransaction(site.id, () => program('p1')), two.ingestTransaction(site.id, () => program('p2'))]);
    await waitFor(async () => (await blockedOn(blocker)) === 2);
    await blocker.query('COMMIT');
    await blocker.end();
    expect((await results).sort()).toEqual(['duplicate', 'stored']);
    expect((await one.listEvents({ siteId: site.id, limit: 10 })).items).toHaveLength(1);
  });

  it("tells a node of another node's changes within a second, and not of its own", async () => {
    const { one, two, site } = await twoNodes();
    const heardByTwo: StoreChange[] = [];
    const heardByOne: StoreChange[] = [];
    two.onChange((change) => heardByTwo.push(change));
    one.onChange((change) => heardByOne.push(change));
    // The site that twoNodes() made through one may be announced to two before or after this.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heardByTwo.filter((c) => c.what !== 'sites')).toEqual([]);
    expect(heardByOne).toEqual([]);
    heardByTwo.length = 0;
    const started = Date.now();
    await one.saveSegment({ id: 's1', siteId: site.id, name: 'All', description: null, rule: { all: [] }, createdAt: 1, updatedAt: 1 });
    await waitFor(async () => heardByTwo.length > 0, 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(heardByTwo).toEqual([{ what: 'catalog', siteId: site.id }]);

    await one.updateSite(site.id, { name: 'Renamed' });
    await ingest(one, site, [track('gone')]);
    await one.deleteProfile(site.id, (await one.findProfileId(site.id, 'anonymous', 'gone'))!);
    await two.createSite({ id: 'other', name: 'Other', origins: [], writeKey: 'wk_other', secret: 'sk_other' });
    await waitFor(async () => heardByTwo.length === 3 && heardByOne.length === 1, 1_000);
    expect(heardByTwo).toEqual([
      { what: 'catalog', siteId: site.id },
      { what: 'sites' },
      { what: 'rankings', siteId: site.id },
    ]);
    expect(heardByOne).toEqual([{ what: 'sites' }]);
  });
});

describePostgres('PostgreSQL schema', () => {
  it('is migrated once when ten nodes start at once', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    const pools = Array.from({ length: 10 }, () => new pg.Pool({ connectionString: url, max: 1 }));
    try {
      const versions = await Promise.all(pools.map((pool) => migrate(pool)));
      const newest = Math.max(...MIGRATIONS.map((m) => m.version));
      expect(versions).toEqual(Array(10).fill(newest));
      const { rows } = await pools[0].query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(pools[0])).toBe(newest);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('keeps the first touch in columns: filled by migration 10, written by ingest, read from the JSON while NULL', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migrate(pool, { migrations: MIGRATIONS.filter((m) => m.version < 10) });
      await pool.query(`INSERT INTO sites (id, name, write_key, secret, origins, settings, created_at) VALUES ('s', 'S', 'wk', 'sk', '[]', '{}', 0)`);
      const computed = (firstTouch: unknown) => JSON.stringify({ firstTouch });
      const profiles: Array<[string, string]> = [
        ['google', computed({ medium: 'search', source: 'Google', term: null, campaign: null, referrer: null, landingPage: null, at: 1 })],
        ['none', computed(null)],
        // A NUL escape that PostgreSQL's JSON refuses: read as U+FFFD, never a failed migration.
        ['nul', computed({ medium: 'referral', source: 'a\u0000b', term: null, campaign: null, referrer: null, landingPage: null, at: 1 })],
      ];
      for (const [id, json] of profiles) {
        await pool.query(`INSERT INTO profiles (site_id, id, traits, trait_times, computed, created_at, updated_at) VALUES ('s', $1, '{}', '{}', $2, 0, 0)`, [id, json]);
      }
      await migrate(pool);
      const { rows } = await pool.query('SELECT id, first_source, first_medium FROM profiles ORDER BY id');
      expect(rows).toEqual([
        { id: 'google', first_source: 'Google', first_medium: 'search' },
        { id: 'none', first_source: '', first_medium: '(none)' },
        { id: 'nul', first_source: 'a\ufffdb', first_medium: 'referral' },
      ]);
    } finally {
      await pool.end();
    }

    // Ingest writes them; a row without them (an older node's) is read from its JSON.
    const { one: store, site, db } = await twoNodes();
    const day = Math.floor(at / DAY);
    const monday = day - ((day + 3) % 7);
    await ingest(store, site, [
      pageEvent('from-google', monday * DAY + 1_000, { medium: 'search', source: 'Google' }),
      pageEvent('direct', monday * DAY + 2_000),
    ]);
    const check = new pg.Pool({ connectionString: db, max: 1 });
    try {
      const written = await check.query('SELECT first_source, first_medium, computed FROM profiles WHERE site_id = $1 ORDER BY first_source', [site.id]);
      expect(written.rows.map((r) => [r.first_source, r.first_medium])).toEqual(
        written.rows.map((r) => {
          const key = touchKeyOf(JSON.parse(r.computed).firstTouch);
          return [key.source, key.medium];
        }),
      );
      expect(written.rows.map((r) => r.first_source)).toContain('Google');
      const query = { from: monday, dayStarts: Array.from({ length: 7 * 13 + 1 }, (_, i) => (monday + i) * DAY), cohortWeeks: 1, weeks: 12, metric: 'return' as const, bySource: true };
      const before = await store.cohorts(site.id, query);
      expect(before.groups?.map((g) => [g.key, g.cohorts[0].people]).sort()).toEqual([['', 1], ['Google', 1]]);
      await check.query('UPDATE profiles SET first_source = NULL, first_medium = NULL WHERE site_id = $1', [site.id]);
      expect(await store.cohorts(site.id, query)).toEqual(before);
    } finally {
      await check.end();
    }
  });

  it('refuses a database newer than the code', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migrate(pool);
      await pool.query(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)`);
    } finally {
      await pool.end();
    }
    await expect(PostgresStore.open(url)).rejects.toThrow(/newer than this Rapport/);
  });

  it('makes partitions on demand and drops whole months by retention', async () => {
    const url = await createTestDatabase(testPostgresUrl());
    // A database made in January 2024: every month since has a partition of its own.
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await migrate(pool, { now: Date.UTC(2024, 0, 15) }).finally(() => pool.end());
    const store = await PostgresStore.open(url);
    others.push(store);
    const site = await createTestSite(store);
    const other = await createTestSite(store, {}, 'Other');
    const old = (month: number, day: number) => ev({ type: 'track', name: 'Old', anonymousId: 'v', timestamp: Date.UTC(2024, month, day), receivedAt: Date.UTC(2024, month, day) });
    await ingest(store, site, [old(0, 20), old(1, 10), old(1, 11), old(2, 5)]);
    await ingest(store, other, [old(1, 12)]);
    await ingest(store, site, [track('v')]);
    const names = async () =>
      (await store.pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1`)).rows.map(
        (r) => r.relname,
      );
    expect(await names()).toEqual(expect.arrayContaining(['events_before', 'events_p2024_01', 'events_p2024_02', 'events_p2024_03']));

    // A site that keeps everything keeps every partition; rows go one by one.
    const cutoff = Date.UTC(2024, 2, 1);
    expect(await store.applyRetention([{ siteId: site.id, before: Date.UTC(2024, 1, 1) }, { siteId: other.id, before: null }])).toEqual({
      events: 1,
      partitionsDropped: 0,
    });
    // Every site lets go of January and February 2024: their partitions go whole (January's empty now).
    expect(await store.applyRetention([{ siteId: site.id, before: cutoff }, { siteId: other.id, before: cutoff + DAY }])).toEqual({
      events: 3,
      partitionsDropped: 2,
    });
    expect(await names()).not.toContain('events_p2024_02');
    expect(await names()).toContain('events_p2024_03');
    expect((await store.listEvents({ siteId: site.id, limit: 10 })).items.map((e) => e.event)).toEqual(['Viewed', 'Old']);
    expect((await store.listEvents({ siteId: other.id, limit: 10 })).items).toEqual([]);
  });
});

describePostgres('PostgresStore when PostgreSQL goes away', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers StoreUnavailableError while the server is down, and works again once it is back', async () => {
    const store = await PostgresStore.open(await createTestDatabase(cluster.url), { connectionTimeoutMs: 1_000 });
    others.push(store);
    const site: Site = await createTestSite(store);
    await ingest(store, site, [track('before')]);
    const heard: StoreChange[] = [];
    store.onChange((change) => heard.push(change));

    await cluster.stopNow();
    const started = Date.now();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['ingest', () => ingest(store, site, [track('during')])],
      ['listEvents', () => store.listEvents({ siteId: site.id, limit: 10 })],
      ['getProfile', () => store.getProfile(site.id, 'x')],
      ['lease', () => store.lease('work', 'me', 1_000)],
      ['saveSegment', () => store.saveSegment({ id: 's', siteId: site.id, name: 'S', description: null, rule: { all: [] }, createdAt: 1, updatedAt: 1 })],
      ['rollupDays', () => store.rollupDays(site.id, 0, 100_000)],
      ['applyRetention', () => store.applyRetention([{ siteId: site.id, before: 0 }])],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(StoreUnavailableError);
    }
    expect(await store.health()).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);

    await cluster.start();
    await waitFor(() => store.health(), 10_000);
    expect((await ingest(store, site, [track('after')])).outcomes).toEqual(['stored']);
    // The listening connection is back too, and says that changes may have been missed.
    await waitFor(async () => heard.some((c) => c.what === 'everything'), 10_000);
  }, 60_000);
});

async function waitFor(condition: () => Promise<boolean>, ms = 5_000) {
  const until = Date.now() + ms;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How many sessions wait for a lock that `client` holds. */
async function blockedOn(client: pg.Client): Promise<number> {
  const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))');
  return rows[0].n;
}
