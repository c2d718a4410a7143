import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleTestApp } from '../../console/test-support/console-client.js';
import { computeRankings, unpackRankings } from '../../profiles/rankings.js';

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const apps: TestApp[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** `n` visitors, each with one page view; every third of them also ordered. */
async function visitors(n: number, file?: string) {
  const t = await consoleTestApp({ file });
  apps.push(t);
  for (let from = 0; from < n; from += 200) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 200); i++) {
      batch.push({ type: 'page', messageId: `p${i}`, anonymousId: `v${i}`, context: { page: { url: 'https://shop.example/' } } });
      if (i % 3 === 0) batch.push({ type: 'track', messageId: `o${i}`, anonymousId: `v${i}`, event: 'Order Completed', properties: { revenue: i + 1 } });
    }
    await t.collect(batch);
  }
  return t;
}

describe('scans over every profile of a site', () => {
  it('visit each live profile once, in steps that let the event loop turn', async () => {
    const n = 2_600;
    const t = await visitors(n);
    const seen = new Set<string>();
    let turns = 0;
    const tick = () => setImmediate(() => (turns++, turns < 1_000 && tick()));
    tick();
    await t.store.scanProfiles(t.site.id, (p) => void seen.add(p.id));
    expect(seen.size).toBe(n);
    expect(turns).toBeGreaterThan(5);

    turns = 0;
    tick();
    const inputs = await t.store.rankingInputs(t.site.id);
    expect(inputs).toHaveLength(Math.ceil(n / 3));
    expect(new Set(inputs.map((p) => p.id)).size).toBe(inputs.length);
    expect(inputs.reduce((sum, p) => sum + p.revenue, 0)).toBe(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? i + 1 : 0)).reduce((a, b) => a + b, 0));
    expect(turns).toBeGreaterThan(0);
  });

  it('stop when the visitor says so', async () => {
    const t = await visitors(600);
    let visited = 0;
    await t.store.scanProfiles(t.site.id, () => ++visited < 300);
    expect(visited).toBe(300);
  });
});

describe('rankings over a database file', () => {
  it('are computed by the read worker, the same as in place, while the event loop turns', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-rankings-'));
    dirs.push(dir);
    const t = await visitors(900, path.join(dir, 'rapport.db'));
    // One more buyer, whose revenue of 1 ties with v0's: shared scores are compared too.
    await t.collect([{ type: 'track', messageId: 'tie', anonymousId: 'v1', event: 'Order Completed', properties: { revenue: 1 } }]);
    const now = t.clock.now;
    let turned = false;
    setImmediate(() => (turned = true));
    const worker = await unpackRankings(await t.store.rankings(t.site.id, now), now);
    expect(turned).toBe(true);
    const inPlace = await computeRankings(await t.store.rankingInputs(t.site.id), now);
    expect(worker.abc.size).toBe(301);
    expect([...worker.abc].sort()).toEqual([...inPlace.abc].sort());
    expect([...worker.rfm].sort()).toEqual([...inPlace.rfm].sort());
    expect(new Set(worker.abc.values())).toEqual(new Set(['A', 'B', 'C']));
    expect(worker.computedAt).toBe(now);
  });
});
