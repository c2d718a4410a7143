import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/app.js';

// The offer step: an automation gives a person an offer for N days, and their next visit's slot
// shows it before any other, whatever its segment; no visitor can give it to themselves.

const T0 = Date.UTC(2026, 10, 2, 12);
const DAY = 86_400_000;
let t: TestApp;
let n = 0;

beforeEach(async () => {
  t = await startTestApp(T0);
});
afterEach(() => t.close());

const decide = async (anonymousId: string) => (await t.send('/v1/decide', { anonymousId, slots: ['hero'] })).body.slots.hero;
const runDue = async () => {
  while ((await t.app.automations.scheduler.round()) > 0);
};

describe('the offer action', () => {
  it("fills the person's slot for N days, ahead of the offers their segment would get", async () => {
    const vip = await t.api('POST', '/api/segments', { site: t.site.id, name: 'VIP', rule: { field: 'traits.vip', op: 'eq', value: true } });
    const winBack = await t.api('POST', '/api/offers', { site: t.site.id, name: 'Win back', slot: 'hero', segment: vip.body.id, content: { title: '15% off, {{traits.firstName|friend}}' } });
    const everyone = await t.api('POST', '/api/offers', { site: t.site.id, name: 'Welcome', slot: 'hero', priority: 10, content: { title: 'Welcome' } });
    expect(winBack.status).toBe(201);
    const automation = await t.api('POST', '/api/automations', {
      site: t.site.id,
      name: 'Give the win-back offer',
      status: 'active',
      trigger: { event: 'Cart Abandoned' },
      steps: [{ offer: { id: winBack.body.id, days: 7 } }],
    });
    expect(automation.status, JSON.stringify(automation.body)).toBe(201);

    expect(await decide('a1')).toMatchObject({ offerId: everyone.body.id });
    await t.send('/v1/track', { anonymousId: 'a1', event: 'Cart Abandoned', messageId: `m${++n}` });
    await runDue();
    expect(await decide('a1')).toMatchObject({ offerId: winBack.body.id, reason: 'given by an automation', content: { title: '15% off, friend' } });
    expect(await decide('someone-else')).toMatchObject({ offerId: everyone.body.id });
    const [run] = (await t.api('GET', `/api/automations/${automation.body.id}/runs`)).body.runs;
    expect(run).toMatchObject({ status: 'done', context: { offer: { id: winBack.body.id, until: T0 + 7 * DAY } } });

    t.clock.now = T0 + 7 * DAY;
    expect(await decide('a1')).toMatchObject({ offerId: everyone.body.id });
  });

  it('is not given by a visitor who sends the event themselves', async () => {
    const nobody = await t.api('POST', '/api/segments', { site: t.site.id, name: 'Nobody', rule: { field: 'traits.nobody', op: 'eq', value: true } });
    const live = await t.api('POST', '/api/offers', { site: t.site.id, name: 'VIP only', slot: 'hero', segment: nobody.body.id, content: { title: 'VIP' } });
    expect(live.status).toBe(201);
    await t.send('/v1/track', { anonymousId: 'a2', event: 'Offer Granted', properties: { offer_id: live.body.id, until: T0 + 30 * DAY }, messageId: `m${++n}` });
    expect(await decide('a2')).toBeNull();
  });
});
