import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupCommit } from './group-commit.js';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function memory() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER UNIQUE)');
  return db;
}

describe('GroupCommit', () => {
  it('runs units submitted together in one transaction', async () => {
    const db = memory();
    const commits: number[] = [];
    const writer = new GroupCommit(db, async () => void commits.push(Date.now()));
    const results = await Promise.all([1, 2, 3].map((x) => writer.submit(() => db.prepare('INSERT INTO t VALUES (?)').run(x).changes)));
    expect(results).toEqual([1, 1, 1]);
    expect(commits).toHaveLength(1);
  });

  it('rolls back a failing unit alone', async () => {
    const db = memory();
    const writer = new GroupCommit(db);
    const insert = (x: number) => writer.submit(() => db.prepare('INSERT INTO t VALUES (?)').run(x));
    const outcomes = await Promise.allSettled([insert(1), insert(1), insert(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.prepare('SELECT x FROM t ORDER BY x').pluck().all()).toEqual([1, 2]);
  });

  it('acknowledges nothing before the commit is durable, and nothing if making it durable fails', async () => {
    const db = memory();
    let finish!: (ok: boolean) => void;
    const writer = new GroupCommit(db, () => new Promise<void>((resolve, reject) => (finish = (ok) => (ok ? resolve() : reject(new Error('EIO'))))));
    let settled = false;
    const pending = writer.submit(() => 1).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    finish(true);
    await pending;
    expect(settled).toBe(true);
    const failing = writer.submit(() => 2);
    await new Promise((r) => setTimeout(r, 20));
    finish(false);
    await expect(failing).rejects.toThrow('EIO');
  });
});

describe('SqliteStore durability', () => {
  it('fsyncs the WAL after each commit before acknowledging, unless synchronous is normal', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rapport-wal-'));
    dirs.push(dir);
    const fsync = vi.spyOn(fs, 'fsync');
    const full = SqliteStore.open(path.join(dir, 'full.db'));
    await full.setMeta('a', '1');
    expect(fsync).toHaveBeenCalledTimes(1);
    await full.close();
    fsync.mockClear();
    const normal = SqliteStore.open(path.join(dir, 'normal.db'), { synchronous: 'normal' });
    await normal.setMeta('a', '1');
    expect(fsync).not.toHaveBeenCalled();
    await normal.close();
  });
});
