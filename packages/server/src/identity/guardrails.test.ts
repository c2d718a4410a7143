import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

// The caps on how far one profile grows by identity links, on every store: past them a link is
// refused, reported to the sender and (a merge) recorded, and the profiles stay as they were.

let t: TestServer;
let n = 0;
const mid = () => `guard-${++n}`;

beforeAll(async () => {
  t = await startTestServer();
  expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { maxMerges: 2, maxAnonymousIds: 3 })).status).toBe(200);
});
afterAll(() => t.stop());

const identify = async (anonymousId: string, userId: string) => {
  const res = await t.send('/v1/identify', { anonymousId, userId, messageId: mid() });
  expect(res.status).toBe(200);
  return res.json();
};
const profileOf = async (kind: 'anonymous' | 'user', value: string) =>
  (await t.api('GET', `/api/profiles?site=${t.site.id}&${kind === 'user' ? 'userId' : 'anonymousId'}=${value}`)).body.profiles[0];

describe('identity caps', () => {
  it('refuse a merge past the cap, record it, and leave both profiles as they were', async () => {
    for (const a of ['m0', 'm1', 'm2', 'm3']) await t.send('/v1/track', { anonymousId: a, event: 'Browsed', messageId: mid() });
    await identify('m0', 'merger');
    await identify('m1', 'merger');
    await identify('m2', 'merger');
    const refused = await identify('m3', 'merger');
    expect(refused.warnings).toEqual([expect.objectContaining({ code: 'merge_refused', field: 'userId' })]);
    const customer = await profileOf('user', 'merger');
    const left = await profileOf('anonymous', 'm3');
    expect(left.id).not.toBe(customer.id);
    const merges = (await t.api('GET', `/api/profiles/${customer.id}`)).body.merges as Array<{ rule: string; from: string }>;
    // The first identify gave m0's profile its user id; the next two merged; the third was refused.
    expect(merges.filter((m) => m.from).map((m) => m.rule).sort()).toEqual(['identify', 'identify', 'refused']);
    expect(merges.find((m) => m.rule === 'refused')!.from).toBe(left.id);
    // The refused profile keeps its own event.
    expect((await t.api('GET', `/api/profiles/${left.id}/events`)).body.events).toHaveLength(1);
  });

  it('refuse an anonymous id past the cap, with a warning, and keep it off the profile', async () => {
    await identify('c1', 'collector');
    await identify('c2', 'collector');
    await identify('c3', 'collector');
    const refused = await identify('c4', 'collector');
    expect(refused.warnings).toEqual([expect.objectContaining({ code: 'anonymous_ids_capped', field: 'anonymousId' })]);
    const customer = await profileOf('user', 'collector');
    expect(customer.id).toBe((await profileOf('anonymous', 'c3')).id);
    expect(await profileOf('anonymous', 'c4')).toBeUndefined();
  });

  it('refuse caps that are not whole numbers from 1', async () => {
    expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { maxMerges: 0 })).body.details[0].field).toBe('maxMerges');
  });
});

describe('merging fast', () => {
  it('counts the merges of the last day only, from the tenth', async () => {
    const { mergingFast } = await import('./guardrails.js');
    const { emptyComputed } = await import('../profiles/types.js');
    const now = Date.UTC(2026, 10, 2);
    const times = (n: number, start: number) => Array.from({ length: n }, (_, i) => start + i * 60_000);
    expect(mergingFast({ ...emptyComputed(), mergeTimes: times(10, now - 3_600_000) }, now)).toBe(10);
    expect(mergingFast({ ...emptyComputed(), mergeTimes: times(9, now - 3_600_000) }, now)).toBeNull();
    expect(mergingFast({ ...emptyComputed(), mergeTimes: times(12, now - 30 * 3_600_000) }, now)).toBeNull();
    expect(mergingFast(emptyComputed(), now)).toBeNull();
  });
});
