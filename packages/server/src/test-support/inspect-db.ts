import Database from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl } from '../store/open-store.js';

type Row = Record<string, unknown>;

/**
 * Every row of every table of a test database, by table: for tests that must see what the store
 * really keeps (an erasure leaves nothing; no identity points at a dead profile), whichever
 * store it is. Opens its own connection, read-only; not for large databases.
 *
 * @example
 * const tables = await allRows(t.dbPath); // { profiles: [...], identities: [...], ... }
 */
export async function allRows(db: string): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  if (!isPostgresUrl(db)) {
    const sqlite = new Database(db, { readonly: true });
    try {
      const tables = sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      for (const table of tables) out[table] = sqlite.prepare(`SELECT * FROM "${table}"`).all() as Row[];
    } finally {
      sqlite.close();
    }
    return out;
  }
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    // Leaf tables only: the rows of a partitioned table are those of its partitions.
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    for (const { name } of rows) out[name] = (await client.query<Row>(`SELECT * FROM "${name}"`)).rows;
  } finally {
    await client.end();
  }
  return out;
}
