import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../collect/pipeline.js';
import { inControlGroup } from '../decisions/bucket.js';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { ingestEvent } from '../test-support/events.js';
import { startReceiver, type Receiver } from '../test-support/receiver.js';
import { newWebhookSecret } from './webhook.js';

// Runs started by what ingest stores, through the collect API, on every store: event triggers
// with conditions, first identifies, segment entries and exits, counters and time-set
// attributes reaching a value; caps and holdouts; and the runs a later event moves on.

const T0 = Date.UTC(2026, 10, 2, 9);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let t: TestApp;
let receiver: Receiver;
let n = 0;
const mid = () => `m-${++n}`;
const secret = newWebhookSecret();

beforeEach(async () => {
  t = await startTestApp(T0);
  receiver = await startReceiver((_req, res) => res.writeHead(204).end());
});
afterEach(async () => {
  await receiver.close();
  await t.close();
});

const track = (event: string, properties: Record<string, unknown> = {}, ids: Record<string, string> = { anonymousId: 'a1' }) => ({
  type: 'track',
  messageId: mid(),
  event,
  properties,
  ...ids,
});
const identify = (userId: string, traits: Record<string, unknown> = {}, anonymousId = 'a1') => ({ type: 'identify', messageId: mid(), userId, anonymousId, traits });

async function batch(...messages: unknown[]) {
  const res = await t.send('/v1/batch', { batch: messages });
  expect(res.status).toBe(200);
  return res.body;
}

async function automation(body: Record<string, unknown>) {
  const res = await t.api('POST', '/api/automations', { site: t.site.id, name: `A${++n}`, status: 'active', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

async function runsOf(id: string, query = '') {
  const res = await t.api('GET', `/api/automations/${id}/runs?limit=100${query}`);
  expect(res.status).toBe(200);
  return res.body.runs as Array<Record<string, any>>;
}

const hook = () => ({ webhook: { url: receiver.url, secret } });
/** What the scheduler does within a second of the clock: every due step, round after round. */
async function runDue() {
  while ((await t.app.automations.scheduler.round()) > 0);
}

describe(`Automations started at ingest (${process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'})`, () => {
  it('starts a run for a matching event, once however often the message is sent', async () => {
    const a = await automation({ trigger: { event: 'Product Added', where: { category: 'laptops', price: { op: 'gte', value: 500 } } }, steps: [hook()] });
    const added = track('product added', { category: 'Laptops', price: 899, product_id: 'p1' });
    await batch(added, track('Product Added', { category: 'laptops', price: 20 }), track('Product Viewed', { category: 'laptops', price: 899 }));
    await batch(added);
    const runs = await runsOf(a.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'active', position: '0', context: { event: 'product added', properties: { product_id: 'p1' } } });
    await runDue();
    expect(receiver.received).toHaveLength(1);
    expect((await runsOf(a.id))[0].status).toBe('done');
  });

  it('starts, on a client retry, the run that a crash after the commit left unstarted', async () => {
    const a = await automation({ trigger: { event: 'Signed Up' }, steps: [hook()] });
    const message = track('Signed Up');
    // Stored without its automations, as if the node died between the commit and the start.
    await ingest(t.store, t.site, [ingestEvent({ messageId: message.messageId, anonymousId: 'a1', name: 'Signed Up', receivedAt: T0, timestamp: T0 })]);
    expect(await runsOf(a.id)).toHaveLength(0);
    await batch(message);
    expect(await runsOf(a.id)).toHaveLength(1);
  });

  it('cart abandonment: an order in the same batch, or within the hour, ends the run; none sends', async () => {
    const a = await automation({
      trigger: { event: 'Product Added' },
      steps: [{ waitFor: { event: 'Order Completed', within: '1h' }, then: [], else: [hook()] }],
    });
    await batch(track('Product Added', {}, { anonymousId: 'same-batch' }), track('Order Completed', { revenue: 10 }, { anonymousId: 'same-batch' }));
    await batch(track('Product Added', {}, { anonymousId: 'later' }));
    await batch(track('Product Added', {}, { anonymousId: 'never' }));
    t.clock.now += 30 * 60_000;
    await batch(track('order completed', { revenue: 10 }, { anonymousId: 'later' }));
    const waiting = (await runsOf(a.id)).filter((r) => r.status === 'active');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ waitingFor: 'Order Completed', dueAt: new Date(T0 + HOUR).toISOString() });
    t.clock.now = T0 + HOUR;
    await runDue();
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0].body).data.run.id).toBe(waiting[0].id);
    expect((await runsOf(a.id)).map((r) => r.status).sort()).toEqual(['done', 'done', 'done']);
  });

  it('exits a run on its exit event, and keeps a run with its person through a merge', async () => {
    await batch(identify('u1', {}, 'old-device'));
    const a = await automation({ trigger: { event: 'Product Added' }, steps: [{ wait: '1d' }, hook()], exit: { event: 'Order Completed' } });
    await batch(track('Product Added', {}, { anonymousId: 'new-device' }));
    // Logging in on the new device merges its profile into the customer's.
    await batch(identify('u1', {}, 'new-device'));
    await batch(track('Order Completed', { revenue: 5 }, { userId: 'u1' }));
    const [run] = await runsOf(a.id);
    expect(run.status).toBe('exited');
    const customer = await t.store.findProfileId(t.site.id, 'user', 'u1');
    expect(run.profile).toBe(customer);
  });

  it('starts on a first identify only', async () => {
    const a = await automation({ trigger: { identified: true }, steps: [hook()] });
    await batch(track('Page Viewed'));
    await batch(identify('u1', { email: 'ada@example.com' }));
    await batch(identify('u1', { plan: 'pro' }));
    const runs = await runsOf(a.id);
    expect(runs).toHaveLength(1);
    expect(runs[0].context).toEqual({ userId: 'u1' });
  });

  it('starts when a person enters a segment, or leaves one, not while they stay', async () => {
    const seg = await t.api('POST', '/api/segments', { site: t.site.id, name: 'Pro', rule: { field: 'traits.plan', op: 'eq', value: 'pro' } });
    const entered = await automation({ trigger: { segmentEntered: seg.body.id }, steps: [hook()] });
    const left = await automation({ trigger: { segmentLeft: seg.body.id }, steps: [hook()] });
    await batch(identify('u1', { plan: 'free' }));
    await batch(identify('u1', { plan: 'pro' }));
    await batch(identify('u1', { plan: 'pro', seats: 3 }));
    expect(await runsOf(entered.id)).toHaveLength(1);
    expect(await runsOf(left.id)).toHaveLength(0);
    await batch(identify('u1', { plan: 'free' }));
    expect(await runsOf(left.id)).toHaveLength(1);
    await batch(identify('u1', { plan: 'pro' }));
    expect(await runsOf(entered.id)).toHaveLength(2);
  });

  it('starts when a counter reaches a value', async () => {
    const a = await automation({ trigger: { attribute: 'orders', reaches: 2 }, steps: [hook()] });
    await batch(track('Order Completed', { revenue: 10 }));
    expect(await runsOf(a.id)).toHaveLength(0);
    await batch(track('Order Completed', { revenue: 10 }));
    await batch(track('Order Completed', { revenue: 10 }));
    expect(await runsOf(a.id)).toHaveLength(1);
  });

  it('starts when daysSinceLastOrder reaches 90, from an index of due times; a new order moves it', async () => {
    // A customer who ordered before the automation existed is watched from its activation.
    await batch(track('Order Completed', { revenue: 10 }, { anonymousId: 'early' }));
    const a = await automation({ trigger: { attribute: 'daysSinceLastOrder', reaches: 90 }, steps: [hook()] });
    t.clock.now = T0 + 10 * DAY;
    await batch(track('Order Completed', { revenue: 10 }, { anonymousId: 'late' }));
    await batch(track('Page Viewed', {}, { anonymousId: 'never-ordered' }));
    t.clock.now = T0 + 89 * DAY;
    await runDue();
    expect(await runsOf(a.id)).toHaveLength(0);
    t.clock.now = T0 + 90 * DAY;
    await runDue();
    const early = await t.store.findProfileId(t.site.id, 'anonymous', 'early');
    expect((await runsOf(a.id)).map((r) => r.profile)).toEqual([early]);
    // The late customer orders again on day 95: the 90 days count from then.
    t.clock.now = T0 + 95 * DAY;
    await batch(track('Order Completed', { revenue: 10 }, { anonymousId: 'late' }));
    t.clock.now = T0 + 100 * DAY;
    await runDue();
    expect(await runsOf(a.id)).toHaveLength(1);
    t.clock.now = T0 + 185 * DAY;
    await runDue();
    expect(await runsOf(a.id)).toHaveLength(2);
    // Once fired, a watch sleeps: nothing more without a new order.
    t.clock.now = T0 + 400 * DAY;
    await runDue();
    expect(await runsOf(a.id)).toHaveLength(2);
    expect(receiver.received).toHaveLength(2);
  });

  it('admits only who meets the conditions, at most cap.runs times within cap.days', async () => {
    const a = await automation({
      trigger: { event: 'Product Added' },
      conditions: { field: 'traits.country', op: 'eq', value: 'DE' },
      cap: { runs: 1, days: 7 },
      steps: [hook()],
    });
    await batch(identify('u-fr', { country: 'FR' }, 'fr'), track('Product Added', {}, { anonymousId: 'fr' }));
    await batch(identify('u-de', { country: 'DE' }, 'de'), track('Product Added', {}, { anonymousId: 'de' }), track('Product Added', {}, { anonymousId: 'de' }));
    t.clock.now = T0 + 3 * DAY;
    await batch(track('Product Added', {}, { anonymousId: 'de' }));
    expect(await runsOf(a.id)).toHaveLength(1);
    t.clock.now = T0 + 8 * DAY;
    await batch(track('Product Added', {}, { anonymousId: 'de' }));
    expect(await runsOf(a.id)).toHaveLength(2);
  });

  it('keeps a stable holdout that goes through the steps and sends nothing', async () => {
    const a = await automation({ trigger: { event: 'Product Added' }, holdoutPercent: 50, steps: [hook()] });
    for (let i = 0; i < 20; i++) await batch(track('Product Added', {}, { anonymousId: `v${i}` }));
    await runDue();
    const runs = await runsOf(a.id);
    for (const run of runs) expect(run.holdout).toBe(inControlGroup(run.profile, a.id, 50));
    const held = runs.filter((r) => r.holdout).length;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(20);
    expect(receiver.received).toHaveLength(20 - held);
    expect(runs.every((r) => r.status === 'done')).toBe(true);
  });

  it('ignores drafts and paused automations at ingest', async () => {
    const a = await automation({ status: 'draft', trigger: { event: 'Product Added' }, steps: [hook()] });
    await batch(track('Product Added'));
    expect(await runsOf(a.id)).toHaveLength(0);
    expect((await t.api('PUT', `/api/automations/${a.id}`, { status: 'active' })).status).toBe(200);
    await batch(track('Product Added'));
    expect(await runsOf(a.id)).toHaveLength(1);
  });
});
