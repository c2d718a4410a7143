import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directIngester } from '../collect/ingester.js';
import { ingest } from '../collect/pipeline.js';
import { newId } from '../ids.js';
import type { AutomationRecord, RunRecord } from '../store/automations.js';
import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { ingestEvent } from '../test-support/events.js';
import { startReceiver, type Receiver } from '../test-support/receiver.js';
import { createTestSite, openTestStore, type TestStore } from '../test-support/store.js';
import { definitionJson, validateDefinition, type AutomationDefinition } from './definition.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';
import { couponCode, profileActions } from './profile-actions.js';
import { webhookAction } from './webhook-action.js';
import { newWebhookSecret, signWebhook } from './webhook.js';

let t: TestStore;
let store: Store;
let site: Site;
let profileId: string;
const receivers: Receiver[] = [];
const T0 = Date.UTC(2026, 10, 1, 12);
const HOLDER = 'node-a';
const secret = newWebhookSecret();

beforeEach(async () => {
  t = await openTestStore();
  store = t.store;
  site = await createTestSite(store);
  await ingest(store, site, [ingestEvent({ anonymousId: 'a1', type: 'identify', name: null, userId: 'u1', traits: { firstName: 'Ada' } })]);
  profileId = (await store.findProfileId(site.id, 'user', 'u1'))!;
});
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
  await t.close();
});

async function receiver(statuses: number[]) {
  const r = await startReceiver((_req, res, n) => res.writeHead(statuses[Math.min(n, statuses.length) - 1]).end('{"error":"nope"}'));
  receivers.push(r);
  return r;
}

async function automation(input: Record<string, unknown>): Promise<AutomationRecord> {
  const result = validateDefinition(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const record: AutomationRecord = { id: newId(), siteId: site.id, name: newId(), status: 'active', definition: definitionJson(result.definition), createdAt: T0, updatedAt: T0 };
  await store.automations.saveAutomation(record);
  return record;
}

/** A cart abandonment: wait an hour for an order, else post the webhook. */
const cartAbandonment = (url: string, extra: Partial<AutomationDefinition> = {}) => ({
  trigger: { event: 'Product Added' },
  steps: [{ waitFor: { event: 'Order Completed', within: '1h' }, else: [{ webhook: { url, secret } }] }],
  ...extra,
});

async function startRun(a: AutomationRecord, overrides: Partial<RunRecord> = {}): Promise<RunRecord> {
  const run: RunRecord = {
    id: newId(),
    siteId: site.id,
    automationId: a.id,
    profileId,
    triggerKey: newId(),
    holdout: false,
    status: 'active',
    position: '0',
    context: { productId: 'sku-1' },
    dueAt: T0 + 3_600_000,
    waitingFor: 'Order Completed',
    attempts: 0,
    startedAt: T0,
    updatedAt: T0,
    ...overrides,
  };
  await store.automations.startRuns([run]);
  return run;
}

/** The scheduler and the runner on one clock that the test moves. */
function machine() {
  const clock = { now: T0 };
  const runner = new Runner({
    automations: store.automations,
    profiles: (s, id) => store.getProfile(s, id),
    holder: HOLDER,
    actions: {
      webhook: webhookAction({ timeoutMs: 2_000 }),
      ...profileActions({ ingester: directIngester(store), site: (id) => (id === site.id ? site : undefined), identities: (s, id) => store.profileIdentities(s, id) }),
    },
    now: () => clock.now,
    random: () => 0,
  });
  const scheduler = new Scheduler({ store: store.automations, holder: HOLDER, handle: (run) => runner.step(run), now: () => clock.now });
  return { clock, round: () => scheduler.round() };
}

const getRun = (id: string) => store.automations.getRun(site.id, id);

describe(`the automation runner (${process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'})`, () => {
  it('sends the webhook of a cart left an hour, signed, with the person and the trigger, once', async () => {
    const r = await receiver([204]);
    const a = await automation(cartAbandonment(r.url));
    const run = await startRun(a);
    const m = machine();
    expect(await m.round()).toBe(0);
    m.clock.now = T0 + 3_600_000;
    // The deadline passed: the webhook it leads to is sent under the same claim, in one round.
    expect(await m.round()).toBe(1);
    expect(r.received).toHaveLength(1);
    const { headers, body } = r.received[0];
    expect(headers['webhook-id']).toBe(`${run.id}:0/else/0`);
    expect(headers['webhook-signature']).toBe(signWebhook(secret, headers['webhook-id'] as string, Number(headers['webhook-timestamp']), body));
    expect(JSON.parse(body)).toMatchObject({
      type: 'automation.step',
      data: { automation: { id: a.id }, run: { id: run.id, position: '0/else/0' }, profile: { id: profileId, userId: 'u1', traits: { firstName: 'Ada' } }, context: { productId: 'sku-1' } },
    });
    expect(await getRun(run.id)).toMatchObject({ status: 'done', dueAt: null });
    m.clock.now += 86_400_000;
    expect(await m.round()).toBe(0);
    expect(r.received).toHaveLength(1);
  });

  it('retries a 503 with backoff under the same webhook-id, and moves on once delivered', async () => {
    const r = await receiver([503, 503, 200]);
    const run = await startRun(await automation(cartAbandonment(r.url)), { position: '0/else/0', dueAt: T0, waitingFor: null });
    const m = machine();
    await m.round();
    const first = (await getRun(run.id))!;
    expect(first).toMatchObject({ status: 'active', attempts: 1, position: '0/else/0' });
    expect(first.dueAt).toBeGreaterThanOrEqual(T0 + 1_000);
    expect(await m.round()).toBe(0); // not before its time
    m.clock.now = first.dueAt!;
    await m.round();
    m.clock.now = (await getRun(run.id))!.dueAt!;
    await m.round();
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([`${run.id}:0/else/0`, `${run.id}:0/else/0`, `${run.id}:0/else/0`]);
    expect(await getRun(run.id)).toMatchObject({ status: 'done', attempts: 0, context: { productId: 'sku-1' } });
  });

  it('puts a run whose receiver refuses it (4xx) or keeps failing for 24 h in the dead letters, with the reason', async () => {
    const refusing = await receiver([400]);
    const refused = await startRun(await automation(cartAbandonment(refusing.url)), { position: '0/else/0', dueAt: T0, waitingFor: null });
    const failing = await receiver([500]);
    const tired = await startRun(await automation(cartAbandonment(failing.url)), {
      position: '0/else/0',
      dueAt: T0,
      waitingFor: null,
      attempts: 12,
      context: { $retry: { since: T0 - 86_400_000 + 500, error: 'HTTP 500' } },
    });
    const m = machine();
    await m.round();
    expect(refusing.received).toHaveLength(1);
    expect(await getRun(refused.id)).toMatchObject({ status: 'failed', dueAt: null, context: { $error: { position: '0/else/0', message: expect.stringMatching(/^HTTP 400/) } } });
    expect(await getRun(tired.id)).toMatchObject({ status: 'failed', context: { $error: { message: expect.stringMatching(/^HTTP 500/), attempts: 13 } } });
  });

  it('sends nothing to the holdout, ends runs on the exit rule, and cancels the runs of a person gone', async () => {
    const r = await receiver([204]);
    const a = await automation(cartAbandonment(r.url));
    const held = await startRun(a, { holdout: true, position: '0/else/0', dueAt: T0, waitingFor: null });
    const exiting = await automation(cartAbandonment(r.url, { exit: { rule: { field: 'traits.firstName', op: 'eq', value: 'ada' } } }));
    const exited = await startRun(exiting, { position: '0/else/0', dueAt: T0, waitingFor: null });
    const orphan = await startRun(a, { profileId: 'no-such-profile', position: '0/else/0', dueAt: T0, waitingFor: null });
    await machine().round();
    expect(r.received).toHaveLength(0);
    expect(await getRun(held.id)).toMatchObject({ status: 'done' });
    expect(await getRun(exited.id)).toMatchObject({ status: 'exited' });
    expect(await getRun(orphan.id)).toMatchObject({ status: 'cancelled' });
  });

  it('holds the runs of a paused automation in place, and fails an action this server cannot carry out', async () => {
    const r = await receiver([204]);
    const a = await automation(cartAbandonment(r.url));
    await store.automations.saveAutomation({ ...a, status: 'paused' });
    const paused = await startRun(a, { position: '0/else/0', dueAt: T0, waitingFor: null });
    const mail = await automation({ trigger: { identified: true }, steps: [{ email: { subject: 'Hi', text: 'Hello' } }] });
    const unmailable = await startRun(mail, { dueAt: T0, waitingFor: null });
    await machine().round();
    expect(r.received).toHaveLength(0);
    expect(await getRun(paused.id)).toMatchObject({ status: 'active', position: '0/else/0', dueAt: T0 + 60_000 });
    expect(await getRun(unmailable.id)).toMatchObject({ status: 'failed', context: { $error: { message: 'this server carries out no email action' } } });
  });

  it('sets traits and tags through the ingest pipeline, once however often a step is repeated', async () => {
    await ingest(store, site, [ingestEvent({ anonymousId: 'anon-only', type: 'page', name: null })]);
    const anonymous = (await store.findProfileId(site.id, 'anonymous', 'anon-only'))!;
    const a = await automation({ trigger: { identified: true }, steps: [{ setTrait: { winback: true } }, { tag: { add: 'vip' } }, { tag: { add: 'old' } }, { tag: { remove: 'old' } }] });
    const runs = [await startRun(a, { dueAt: T0, waitingFor: null }), await startRun(a, { profileId: anonymous, dueAt: T0, waitingFor: null })];
    const m = machine();
    for (let i = 0; i < 4; i++) await m.round();
    for (const [run, id] of [[runs[0], profileId], [runs[1], anonymous]] as const) {
      expect(await getRun(run.id)).toMatchObject({ status: 'done' });
      expect((await store.getProfile(site.id, id))!.traits).toMatchObject({ winback: true, tags: ['vip'] });
    }
    // A repeat of a step already done (a crash before it was written back) is a duplicate message.
    const before = (await store.listEvents({ siteId: site.id, limit: 100 })).items.length;
    const repeat = profileActions({ ingester: directIngester(store), site: () => site, identities: (s, id) => store.profileIdentities(s, id) });
    const profile = (await store.getProfile(site.id, profileId))!;
    const input = { run: runs[0], automation: a, profile, key: `${runs[0].id}:0`, now: T0 };
    expect(await repeat.setTrait({ setTrait: { winback: true } }, input)).toMatchObject({ kind: 'done' });
    expect((await store.listEvents({ siteId: site.id, limit: 100 })).items.length).toBe(before);
  });

  it('gives a coupon code, kept on the profile and passed to the steps after it', async () => {
    const r = await receiver([204]);
    const a = await automation({ trigger: { identified: true }, steps: [{ coupon: { prefix: 'CART-' } }, { webhook: { url: r.url, secret } }] });
    const run = await startRun(a, { dueAt: T0, waitingFor: null });
    const m = machine();
    await m.round();
    await m.round();
    const code = (await store.getProfile(site.id, profileId))!.traits.coupon as string;
    expect(code).toMatch(/^CART-[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(code).toBe(couponCode('CART-', site.secret, `${run.id}:0`));
    expect(JSON.parse(r.received[0].body).data.context).toMatchObject({ coupon: code, productId: 'sku-1' });
    expect(couponCode('CART-', site.secret, `${run.id}:1`)).not.toBe(code);
    expect(couponCode('CART-', 'another secret', `${run.id}:0`)).not.toBe(code);
  });

  it('moves a run on when the event it waits for comes, and ends runs on their exit event, once', async () => {
    const r = await receiver([204]);
    const a = await automation(cartAbandonment(r.url));
    const bought = await startRun(a);
    const exits = await automation({ ...cartAbandonment(r.url), steps: [{ wait: '1d' }, { webhook: { url: r.url, secret } }], exit: { event: 'Unsubscribed' } });
    const leaving = await startRun(exits, { waitingFor: null });
    const other = await startRun(exits, { waitingFor: null });
    const m = machine();
    const runner = new Runner({ automations: store.automations, profiles: (s, id) => store.getProfile(s, id), holder: HOLDER, actions: {}, now: () => m.clock.now });
    m.clock.now = T0 + 60_000;
    await runner.onEvent(site.id, profileId, 'order completed');
    expect(await getRun(bought.id)).toMatchObject({ status: 'done', waitingFor: null });
    expect(await getRun(leaving.id)).toMatchObject({ status: 'active', position: '0' });
    // Held by another node at that moment: left to it.
    await store.automations.claimRun(site.id, other.id, 'node-b', 30_000);
    await runner.onEvent(site.id, profileId, 'Unsubscribed');
    expect(await getRun(leaving.id)).toMatchObject({ status: 'exited' });
    expect(await getRun(other.id)).toMatchObject({ status: 'active' });
    m.clock.now = T0 + 2 * 86_400_000;
    await m.round();
    await m.round();
    expect(r.received).toHaveLength(0);
  });
});
