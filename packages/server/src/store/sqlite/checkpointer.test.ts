import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WRITER_CHECKPOINT_PAGES } from './checkpointer.js';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes about 2 MB in one commit: less than SQLite's own checkpoint threshold of 1,000 pages. */
async function writeSome(checkpoints: 'inline' | 'background') {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-checkpoint-'));
  dirs.push(dir);
  const file = path.join(dir, 'rapport.db');
  const store = SqliteStore.open(file, { checkpoints });
  const before = statSync(file).size;
  const value = 'x'.repeat(2_000);
  await Promise.all(Array.from({ length: 1_000 }, (_, i) => store.setMeta(`k${i}`, value)));
  return { store, file, before };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('checkpoints', () => {
  it('copy the WAL into the database file from a thread of their own, in the background mode', async () => {
    const { store, file, before } = await writeSome('background');
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(WRITER_CHECKPOINT_PAGES);
    let size = statSync(file).size;
    for (let i = 0; i < 50 && size < before + 1_000_000; i++) {
      await sleep(100);
      size = statSync(file).size;
    }
    expect(size).toBeGreaterThan(before + 1_000_000);
    await store.close();
  });

  it('wait for SQLite in the commit past 1,000 pages otherwise', async () => {
    const { store, file, before } = await writeSome('inline');
    await sleep(500);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(statSync(file).size).toBeLessThan(before + 1_000_000);
    await store.close();
  });
});
