import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, type Migration } from './migrations.js';
import { openDatabase } from './open.js';
import { emptyComputed } from '../../profiles/types.js';
import { firstTouchColumns } from '../rows.js';

const dirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-migrate-'));
  dirs.push(dir);
  return path.join(dir, 'db.sqlite');
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('migrations', () => {
  it('open a new file with WAL, foreign keys and the whole schema', () => {
    const db = openDatabase(tempFile());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    // NORMAL: the store fsyncs the WAL itself, off the main thread (see WalSync).
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    const versions = db.prepare('SELECT version FROM schema_migrations').pluck().all();
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
    db.close();
  });

  it('bring a database made by an older version up to date, keeping its rows', () => {
    const file = tempFile();
    const old = new Database(file);
    migrate(old, MIGRATIONS.slice(0, 1));
    old.prepare("INSERT INTO meta (key, value) VALUES ('admin_token', 'kept')").run();
    old.close();
    const next: Migration = { version: 999, name: 'test column', sql: 'ALTER TABLE meta ADD COLUMN note TEXT' };
    const db = new Database(file);
    expect(migrate(db, [...MIGRATIONS, next])).toBe(999);
    expect(db.prepare("SELECT value, note FROM meta WHERE key = 'admin_token'").get()).toEqual({ value: 'kept', note: null });
    db.close();
  });

  it('fill the first-touch columns of the profiles already there (migration 13) as ingest writes them', () => {
    const db = new Database(tempFile());
    migrate(db, MIGRATIONS.filter((m) => m.version < 13));
    db.prepare(`INSERT INTO sites (id, name, write_key, secret, origins, settings, created_at) VALUES ('s', 'S', 'wk', 'sk', '[]', '{}', 0)`).run();
    const touch = (medium: string, source: string | null) => ({ medium, source, term: null, campaign: null, referrer: null, landingPage: null, at: 1 });
    const computed = { google: touch('search', 'Google'), direct: touch('direct', null), none: null };
    const insert = db.prepare(`INSERT INTO profiles (site_id, id, traits, trait_times, computed, created_at, updated_at) VALUES ('s', ?, '{}', '{}', ?, 0, 0)`);
    for (const [id, firstTouch] of Object.entries(computed)) insert.run(id, JSON.stringify({ firstTouch }));
    migrate(db);
    const rows = db.prepare('SELECT id, first_source, first_medium FROM profiles ORDER BY id').all();
    expect(rows).toEqual(
      Object.entries(computed)
        .map(([id, firstTouch]) => ({ id, ...firstTouchColumns({ computed: { ...emptyComputed(), firstTouch } }) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(rows).toContainEqual({ id: 'google', first_source: 'Google', first_medium: 'search' });
    expect(rows).toContainEqual({ id: 'none', first_source: '', first_medium: '(none)' });
    db.close();
  });

  it('apply nothing twice, and roll back a failing migration whole', () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db);
    expect(migrate(db)).toBe(MIGRATIONS.at(-1)!.version);
    const broken: Migration[] = [
      ...MIGRATIONS,
      { version: 1000, name: 'ok', sql: 'CREATE TABLE t1 (x)' },
      { version: 1001, name: 'broken', sql: 'CREATE TABLE nope (' },
    ];
    expect(() => migrate(db, broken)).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't1'").get()).toBeUndefined();
    db.close();
  });

  it('refuse a database from a newer Rapport', () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, [...MIGRATIONS, { version: 5000, name: 'future', sql: 'SELECT 1' }]);
    expect(() => migrate(db)).toThrow(/newer than this Rapport/);
    db.close();
  });
});
