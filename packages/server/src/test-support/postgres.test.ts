import { existsSync } from 'node:fs';
import pg from 'pg';
import { expect, inject, it } from 'vitest';
import { createTestDatabase, describePostgres, startPostgres, testPostgresUrl } from './postgres.js';

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // Without a listener, a server going away while the client is idle crashes the process.
  client.on('error', () => {});
  await client.connect();
  return client;
}

describePostgres('test PostgreSQL', () => {
  it('the global setup hands the cluster to the workers by env and by inject', async () => {
    const url = testPostgresUrl();
    expect(process.env.RAPPORT_TEST_PG_URL).toBe(url);
    expect(inject('pgUrl')).toBe(url);
    expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const client = await connect(url);
    try {
      const { rows } = await client.query(
        `SELECT current_user AS user, host(inet_server_addr()) AS addr, current_setting('max_connections') AS max,
           current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync_commit`,
      );
      // fsync off for speed; synchronous_commit on, so a killed server keeps acknowledged commits.
      expect(rows[0]).toEqual({ user: 'postgres', addr: '127.0.0.1', max: '200', fsync: 'off', sync_commit: 'on' });
    } finally {
      await client.end();
    }
  });

  it('createTestDatabase gives each caller its own empty database', async () => {
    const [a, b] = await Promise.all([createTestDatabase(testPostgresUrl()), createTestDatabase(testPostgresUrl())]);
    expect(a).not.toBe(b);
    const [ca, cb] = await Promise.all([connect(a), connect(b)]);
    try {
      const tables = 'SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1';
      expect((await ca.query(tables, ['public'])).rows[0].n).toBe(0);
      expect((await cb.query(tables, ['public'])).rows[0].n).toBe(0);
      await ca.query('CREATE TABLE items (name text PRIMARY KEY)');
      await ca.query("INSERT INTO items VALUES ('only in a')");
      expect((await cb.query("SELECT to_regclass('items') AS t")).rows[0].t).toBeNull();
      await cb.query('CREATE TABLE items (name text PRIMARY KEY)');
      await cb.query("INSERT INTO items VALUES ('only in b')");
      expect((await ca.query('SELECT name FROM items')).rows).toEqual([{ name: 'only in a' }]);
      expect((await cb.query('SELECT name FROM items')).rows).toEqual([{ name: 'only in b' }]);
      const current = 'SELECT current_database() AS d';
      const names = [(await ca.query(current)).rows[0].d, (await cb.query(current)).rows[0].d];
      expect(names).toEqual([new URL(a).pathname.slice(1), new URL(b).pathname.slice(1)]);
    } finally {
      await Promise.all([ca.end(), cb.end()]);
    }
  });

  it('a cluster of its own restarts on the same port, keeps its data, and clients reconnect', async () => {
    const cluster = await startPostgres();
    const pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
    // The pool's idle clients are cut off by the restart: it reports that here, drops them, and
    // opens new connections for later queries.
    const poolErrors: Error[] = [];
    pool.on('error', (error) => poolErrors.push(error));
    try {
      const before = await connect(cluster.url);
      await before.query('CREATE TABLE kept (n int)');
      await before.query('INSERT INTO kept VALUES (1)');
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      await cluster.restart();

      // The old connection is gone for good...
      await expect(before.query('SELECT 1')).rejects.toThrow();
      await before.end().catch(() => {});
      // ...a new one works, on the same port, and the committed row survived the fast restart.
      const after = await connect(cluster.url);
      expect((await after.query('SELECT n FROM kept')).rows).toEqual([{ n: 1 }]);
      await after.end();
      expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
      expect(poolErrors.length).toBe(1);

      // stopNow() refuses connections until start().
      await cluster.stopNow();
      await expect(connect(cluster.url)).rejects.toThrow(/ECONNREFUSED/);
      await cluster.start();
      expect((await pool.query('SELECT n FROM kept')).rows).toEqual([{ n: 1 }]);
    } finally {
      await pool.end();
      await cluster.stop();
    }
    expect(existsSync(cluster.dataDir)).toBe(false);
  });
});
