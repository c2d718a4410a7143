import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { startReceiver, type Receiver } from '../test-support/receiver.js';
import { newWebhookSecret } from './webhook.js';

const T0 = Date.UTC(2026, 10, 2, 9);
let t: TestApp;
let receiver: Receiver;
let answer = 400;

beforeEach(async () => {
  answer = 400;
  t = await startTestApp(T0);
  receiver = await startReceiver((_req, res) => res.writeHead(answer).end());
});
afterEach(async () => {
  await receiver.close();
  await t.close();
});

const cart = () => ({
  site: t.site.id,
  name: 'Cart abandonment',
  status: 'active',
  trigger: { event: 'Product Added' },
  steps: [{ waitFor: { event: 'Order Completed', within: '1h' }, else: [{ webhook: { url: receiver.url, secret: newWebhookSecret() } }] }],
});

describe('/api/automations', () => {
  it('creates, reads, lists, changes and deletes', async () => {
    const created = await t.api('POST', '/api/automations', cart());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^aut_/), status: 'active', holdoutPercent: 0, exit: null, cap: null });
    const id = created.body.id;
    expect((await t.api('GET', `/api/automations/${id}`)).body.steps[0].then).toEqual([]);
    expect((await t.api('GET', `/api/automations?site=${t.site.id}`)).body.automations.map((a: any) => a.id)).toEqual([id]);
    const paused = await t.api('PUT', `/api/automations/${id}`, { status: 'paused' });
    expect(paused.body).toMatchObject({ status: 'paused', trigger: { event: 'Product Added' } });
    expect((await t.api('DELETE', `/api/automations/${id}`)).body).toEqual({ deleted: true, id });
    expect((await t.api('GET', `/api/automations/${id}`)).status).toBe(404);
  });

  it('answers a bad definition with a 400 naming every path', async () => {
    const res = await t.api('POST', '/api/automations', {
      ...cart(),
      trigger: { event: '' },
      steps: [{ wait: 'soon' }, { if: { field: 'traits.x', op: 'near' }, then: [{ email: { subject: 'a\r\nBcc: x@evil.test', text: 'hi' } }] }],
    });
    expect(res.status).toBe(400);
    const fields = res.body.details.map((d: any) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['trigger.event', 'steps[0].wait', 'steps[1].if.op', 'steps[1].then[0].email.subject']));
    expect(res.body.error).toMatch(/^trigger\.event: /);
    expect((await t.api('POST', '/api/automations', { ...cart(), status: 'running' })).body.details[0].field).toBe('status');
    expect((await t.api('POST', '/api/automations', { ...cart(), colour: 'red' })).body.details[0].field).toBe('colour');
  });

  it('refuses a segment or an offer the site does not have, and a name taken', async () => {
    const res = await t.api('POST', '/api/automations', { ...cart(), trigger: { segmentEntered: 'seg_nope' }, steps: [{ offer: { id: 'off_nope', days: 7 } }] });
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: any) => d.field)).toEqual(['trigger.segmentEntered', 'steps[0].offer.id']);
    expect((await t.api('POST', '/api/automations', cart())).status).toBe(201);
    expect((await t.api('POST', '/api/automations', cart())).status).toBe(409);
  });

  it('reports entered, sent, delivered and converted against the holdout, with the uplift tested', async () => {
    answer = 204;
    const { body: a } = await t.api('POST', '/api/automations', {
      ...cart(),
      holdoutPercent: 50,
      goal: { event: 'Order Completed', withinDays: 2 },
      steps: [{ webhook: { url: receiver.url, secret: newWebhookSecret() } }],
    });
    const batch = Array.from({ length: 60 }, (_, i) => ({ type: 'track', event: 'Product Added', anonymousId: `v${i}`, messageId: `m${i}` }));
    await t.send('/v1/batch', { batch });
    while ((await t.app.automations.scheduler.round()) > 0);
    const runs = (await t.api('GET', `/api/automations/${a.id}/runs?limit=100`)).body.runs as Array<{ profile: string; holdout: boolean }>;
    const held = runs.filter((r) => r.holdout).length;
    expect(held).toBeGreaterThan(10);
    expect(held).toBeLessThan(50);
    // Everyone the automation wrote to orders the next day; of the holdout, no one; one order comes too late.
    t.clock.now = T0 + 86_400_000;
    const profileIds = new Map<string, string>();
    for (let i = 0; i < 60; i++) profileIds.set((await t.store.findProfileId(t.site.id, 'anonymous', `v${i}`))!, `v${i}`);
    const buyers = runs.filter((r) => !r.holdout).map((r) => profileIds.get(r.profile)!);
    await t.send('/v1/batch', { batch: buyers.map((v, i) => ({ type: 'track', event: 'Order Completed', anonymousId: v, messageId: `o${i}`, properties: { revenue: 10 } })) });
    const late = runs.find((r) => r.holdout)!;
    t.clock.now = T0 + 3 * 86_400_000;
    await t.send('/v1/track', { type: 'track', event: 'Order Completed', anonymousId: profileIds.get(late.profile), messageId: 'late' });

    const report = (await t.api('GET', `/api/automations/${a.id}/report`)).body;
    expect(report.runs).toMatchObject({ entered: 60 - held, sent: 60 - held, delivered: 60 - held, converted: 60 - held, conversionRate: 1 });
    expect(report.holdout).toMatchObject({ entered: held, converted: 0, conversionRate: 0 });
    expect(report.uplift.absolute).toBe(1);
    expect(report.significance).toMatchObject({ test: 'two-proportion z-test', significant: true });
    expect(report.conversionsFrom).toBe(60);
    expect(receiver.received).toHaveLength(60 - held);
  });

  it("lists a person's runs and the dead letters, and replays one once", async () => {
    const { body: a } = await t.api('POST', '/api/automations', cart());
    await t.send('/v1/batch', { batch: [{ type: 'track', event: 'Product Added', anonymousId: 'a1', messageId: 'm1' }, { type: 'track', event: 'Product Added', anonymousId: 'a2', messageId: 'm2' }] });
    const a1 = await t.store.findProfileId(t.site.id, 'anonymous', 'a1');
    const mine = (await t.api('GET', `/api/automations/${a.id}/runs?profile=${a1}`)).body.runs;
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ profile: a1, status: 'active', waitingFor: 'Order Completed' });

    t.clock.now = T0 + 3_600_000;
    while ((await t.app.automations.scheduler.round()) > 0);
    const dead = (await t.api('GET', `/api/automations/${a.id}/runs?status=failed`)).body.runs;
    expect(dead).toHaveLength(2);
    expect(dead[0].error).toMatchObject({ position: '0/else/0', attempts: 1, message: expect.stringContaining('400') });

    answer = 204;
    const replayed = await t.api('POST', `/api/automations/${a.id}/runs/${dead[0].id}/replay`);
    expect(replayed.body).toMatchObject({ status: 'active', error: null, attempts: 0 });
    expect((await t.api('POST', `/api/automations/${a.id}/runs/${dead[0].id}/replay`)).status).toBe(409);
    while ((await t.app.automations.scheduler.round()) > 0);
    expect((await t.api('GET', `/api/automations/${a.id}/runs?status=failed`)).body.runs).toHaveLength(1);
    // The replay went out under the step's own key: the receiver can tell it is the same delivery.
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(3);
    expect(ids.filter((id) => id === `${dead[0].id}:0/else/0`)).toHaveLength(2);
    expect((await t.api('GET', `/api/automations/${a.id}/runs?status=sleeping`)).status).toBe(400);
  });
});
