import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { startReceiver, type Receiver } from '../test-support/receiver.js';
import { quietUntil } from './send-gate.js';
import { newWebhookSecret } from './webhook.js';

describe('quiet hours', () => {
  const night = { from: 22, to: 8 };
  it('end at the first moment of the hour `to`, local time', () => {
    expect(quietUntil(Date.UTC(2026, 10, 2, 23, 10), night, 'UTC')).toBe(Date.UTC(2026, 10, 3, 8));
    expect(quietUntil(Date.UTC(2026, 10, 3, 7, 59), night, 'UTC')).toBe(Date.UTC(2026, 10, 3, 8));
    expect(quietUntil(Date.UTC(2026, 10, 3, 8), night, 'UTC')).toBeNull();
    expect(quietUntil(Date.UTC(2026, 10, 3, 12), { from: 12, to: 14 }, 'UTC')).toBe(Date.UTC(2026, 10, 3, 14));
  });

  it("follow the site's time zone, daylight saving and half-hour offsets included", () => {
    // 21:30 UTC is 22:30 in Berlin in winter: quiet until 08:00 Berlin, 07:00 UTC.
    expect(quietUntil(Date.UTC(2026, 10, 2, 21, 30), night, 'Europe/Berlin')).toBe(Date.UTC(2026, 10, 3, 7));
    // The night the clocks go forward (29 March 2026): 08:00 Berlin is 06:00 UTC.
    expect(quietUntil(Date.UTC(2026, 2, 28, 23), night, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 6));
    // Kolkata is UTC+5:30: 08:00 there is 02:30 UTC.
    expect(quietUntil(Date.UTC(2026, 10, 2, 20), night, 'Asia/Kolkata')).toBe(Date.UTC(2026, 10, 3, 2, 30));
  });
});

const T0 = Date.UTC(2026, 10, 2, 12);
let t: TestApp;
let receiver: Receiver;
let n = 0;

beforeEach(async () => {
  t = await startTestApp(T0);
  receiver = await startReceiver((_req, res) => res.writeHead(204).end());
});
afterEach(async () => {
  await receiver.close();
  await t.close();
});

async function automation(event: string) {
  const res = await t.api('POST', '/api/automations', {
    site: t.site.id,
    name: event,
    status: 'active',
    trigger: { event },
    steps: [{ webhook: { url: receiver.url, secret: newWebhookSecret() } }],
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
const send = (anonymousId: string, event: string) => t.send('/v1/track', { anonymousId, event, messageId: `m${++n}` });
const runDue = async () => {
  while ((await t.app.automations.scheduler.round()) > 0);
};
const runsOf = async (id: string) => (await t.api('GET', `/api/automations/${id}/runs`)).body.runs as any[];

describe('sends respect the person and the site', () => {
  it('skip a person who unsubscribed, opted out or withdrew consent, and say why', async () => {
    const id = await automation('Product Added');
    await t.send('/v1/identify', { anonymousId: 'a', userId: 'u-a', traits: { unsubscribed: true } });
    await t.send('/v1/identify', { anonymousId: 'b', userId: 'u-b', traits: { consent: { marketing: false } } });
    await t.send('/v1/identify', { anonymousId: 'c', userId: 'u-c', traits: { optedOut: false } });
    await t.send('/v1/track', { anonymousId: 'd', event: 'Consent Updated', properties: { purposes: { marketing: false, analytics: true } } });
    for (const who of ['a', 'b', 'c', 'd']) await send(who, 'Product Added');
    await runDue();
    expect(receiver.received).toHaveLength(1);
    const reasons = (await runsOf(id)).map((r) => r.context.skipped?.[0]?.reason ?? 'sent').sort();
    expect(reasons).toEqual(['consent withdrawn', 'consent withdrawn', 'sent', 'unsubscribed']);
  });

  it('wait through quiet hours in the site time zone', async () => {
    expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { quietHours: { from: 22, to: 8 }, timeZone: 'Europe/Berlin' })).status).toBe(200);
    const id = await automation('Product Added');
    t.clock.now = Date.UTC(2026, 10, 2, 22); // 23:00 in Berlin
    await send('a', 'Product Added');
    await runDue();
    expect(receiver.received).toHaveLength(0);
    expect((await runsOf(id))[0]).toMatchObject({ status: 'active', dueAt: new Date(Date.UTC(2026, 10, 3, 7)).toISOString(), attempts: 0 });
    t.clock.now = Date.UTC(2026, 10, 3, 7);
    await runDue();
    expect(receiver.received).toHaveLength(1);
  });

  it('skip sends past the per-person cap, counted across automations', async () => {
    expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { sendCap: { sends: 2, days: 1 } })).status).toBe(200);
    const first = await automation('Product Added');
    const second = await automation('Product Viewed');
    await send('a', 'Product Added');
    await send('a', 'Product Viewed');
    await runDue();
    await send('a', 'Product Viewed');
    await send('b', 'Product Viewed');
    await runDue();
    expect(receiver.received).toHaveLength(3);
    const skipped = [...(await runsOf(first)), ...(await runsOf(second))].filter((r) => r.context.skipped);
    expect(skipped).toHaveLength(1);
    expect(skipped[0].context.skipped[0].reason).toBe('send cap: 2 in 1 d');
    // A day later the person may be written to again.
    t.clock.now = T0 + 24 * 3_600_000 + 1;
    await send('a', 'Product Added');
    await runDue();
    expect(receiver.received).toHaveLength(4);
  });

  it('refuses settings that make no sense, naming the field', async () => {
    const patch = (body: unknown) => t.api('PATCH', `/api/sites/${t.site.id}`, body);
    expect((await patch({ quietHours: { from: 8, to: 8 } })).body.details[0].field).toBe('quietHours');
    expect((await patch({ sendCap: { sends: 0, days: 1 } })).body.details[0].field).toBe('sendCap');
    expect((await patch({ smtpUrl: 'http://mail.example.com' })).body.details[0].field).toBe('smtpUrl');
    expect((await patch({ mailFrom: 'a@b.c\r\nBcc: x@y.z' })).body.details[0].field).toBe('mailFrom');
    const ok = await patch({ smtpUrl: 'smtp://user:pw@127.0.0.1:2525', mailFrom: 'Shop <shop@example.com>', sendCap: null });
    expect(ok.body).toMatchObject({ smtpUrl: 'smtp://user:pw@127.0.0.1:2525', mailFrom: 'Shop <shop@example.com>', sendCap: null });
  });
});
