import { afterEach, describe, expect, it } from 'vitest';
import { consoleTestApp } from '../../console/test-support/console-client.js';

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

/** `n` visitors, each with one page view; every third of them also ordered. */
async function visitors(n: number) {
  const t = await consoleTestApp();
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
