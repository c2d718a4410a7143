import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const sites = (token: string) => fetch(`${t.url}/api/sites`, { headers: { authorization: `Bearer ${token}` } });

describe('the admin API under a brute-force attempt', () => {
  it('answers 429 with Retry-After after 10 wrong tokens, to the right token too', async () => {
    expect((await sites(t.adminToken)).status).toBe(200);
    const answers: number[] = [];
    for (let i = 0; i < 40; i++) answers.push((await sites(`guess-${i}`)).status);
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(new Set(answers.slice(10))).toEqual(new Set([429]));
    const locked = await sites(t.adminToken);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Collect and decide are not the admin API: they keep working.
    expect((await t.send('/v1/track', { type: 'track', anonymousId: 'a', event: 'Still here' })).status).toBe(200);
  });
});
