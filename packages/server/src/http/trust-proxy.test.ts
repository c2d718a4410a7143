import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

// Behind one trusted proxy (the test itself, on 127.0.0.1), which passes X-Forwarded-For on.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ trustProxy: 1, rateLimitPerIp: { rate: 1, burst: 3 } });
});
afterAll(() => t.stop());

const login = (forwardedFor: string, token = 'a guess') =>
  fetch(`${t.url}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
const api = (forwardedFor: string, token: string) =>
  fetch(`${t.url}/api/sites`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor } });

describe('limits and throttles behind a trusted proxy', () => {
  it('are not escaped by a forged X-Forwarded-For prefix', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await login(`10.9.9.${i}, 203.0.113.10`)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    expect((await login('203.0.113.10', t.adminToken)).status).toBe(429);
    // Another client behind the same proxy is not locked out.
    expect((await login('203.0.113.11', t.adminToken)).status).toBe(303);
  });

  it('count the addresses of one IPv6 /64 as one client', async () => {
    const from = (i: number) => `2001:db8:7:7::${(i + 1).toString(16)}`;
    const logins: number[] = [];
    for (let i = 0; i < 11; i++) logins.push((await login(from(i))).status);
    expect(logins.at(-1)).toBe(429);

    const calls: number[] = [];
    for (let i = 0; i < 11; i++) calls.push((await api(`2001:db8:8:8::${i + 1}`, 'a guess')).status);
    expect(calls.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(calls[10]).toBe(429);
    // Another /64 is another client.
    expect((await api('2001:db8:8:9::1', t.adminToken)).status).toBe(200);

    const sends: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.send('/v1/track', { type: 'track', anonymousId: 'v6', event: 'x' }, { headers: { 'x-forwarded-for': `2001:db8:9:9::${i + 1}` } });
      sends.push(res.status);
    }
    expect(sends.slice(0, 3)).toEqual([200, 200, 200]);
    expect(sends).toContain(429);
  });
});
