import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, testPostgresUrl } from './postgres.js';

/** The store the run tests: `postgres` in the vitest project of that name, else SQLite. */
export const testStoreKind = (): 'sqlite' | 'postgres' => (process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite');

/**
 * A new, empty database for one test server or store: a database of its own on the run's
 * throwaway PostgreSQL cluster, or a SQLite file in a new temporary folder (`dir`, for the
 * caller to remove; null for PostgreSQL, whose databases go with the cluster).
 *
 * @example
 * const { db } = await newTestDb(); // './tmp/rapport-test-x/rapport.db' or 'postgres://…/t_…'
 */
export async function newTestDb(): Promise<{ db: string; dir: string | null }> {
  if (testStoreKind() === 'postgres') return { db: await createTestDatabase(testPostgresUrl()), dir: null };
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-test-'));
  return { db: path.join(dir, 'rapport.db'), dir };
}
