import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { userHashOf } from '../identity/verify.js';
import { decodedMail, startMailCatcher, type MailCatcher } from '../test-support/mail-catcher.js';

// Automation email through the whole server, on every store: the site's SMTP settings, a real
// SMTP server on 127.0.0.1, and the links of the mail (one-click unsubscribe, open pixel, click
// redirect) answered by the server's public routes.

const T0 = Date.UTC(2026, 10, 2, 12);
const PUBLIC = 'https://rapport.example.com';
let t: TestApp;
let catcher: MailCatcher;
let n = 0;

beforeEach(async () => {
  t = await startTestApp(T0, { publicUrl: PUBLIC });
  catcher = await startMailCatcher();
  const patched = await t.api('PATCH', `/api/sites/${t.site.id}`, { smtpUrl: catcher.url, mailFrom: 'Far & Wide <shop@example.com>' });
  expect(patched.status).toBe(200);
});
afterEach(async () => {
  await catcher.close();
  await t.close();
});

const runDue = async () => {
  while ((await t.app.automations.scheduler.round()) > 0);
};
const local = (url: string) => url.replace(PUBLIC, '');

async function cartAutomation() {
  const res = await t.api('POST', '/api/automations', {
    site: t.site.id,
    name: 'Cart',
    status: 'active',
    trigger: { event: 'Product Added' },
    steps: [
      { coupon: { prefix: 'CART-' } },
      {
        email: {
          subject: 'Your cart, {{traits.firstName|friend}}',
          text: 'Use {{traits.coupon}}: https://shop.example.com/cart',
          html: '<html><body><p>Use <b>{{traits.coupon}}</b></p><a href="https://shop.example.com/cart?from=mail&amp;x=1">Back to your cart</a></body></html>',
        },
      },
    ],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function customerAddsToCart(anonymousId: string) {
  // Logged in with a verified user id: an address the shop vouches for.
  const userId = `u-${anonymousId}`;
  const userHash = userHashOf(t.site.secret, userId);
  await t.send('/v1/identify', { anonymousId, userId, traits: { email: `${anonymousId}@example.com`, firstName: 'Ada' }, context: { userHash }, messageId: `m${++n}` });
  await t.send('/v1/track', { anonymousId, event: 'Product Added', messageId: `m${++n}` });
  await runDue();
}

describe('automation email', () => {
  it('sends the filled mail with its coupon, one-click unsubscribe, a tracked link and an open pixel', async () => {
    const id = await cartAutomation();
    await customerAddsToCart('ada');
    expect(catcher.mails).toHaveLength(1);
    const mail = catcher.mails[0];
    expect(mail.to).toEqual(['ada@example.com']);
    const raw = decodedMail(mail.raw);
    expect(raw).toMatch(/Subject: Your cart, Ada/);
    expect(raw).toMatch(/List-Unsubscribe-Post: List-Unsubscribe=One-Click/);
    const coupon = /CART-[0-9A-Z]{10}/.exec(raw)![0];
    const profile = await t.store.getProfile(t.site.id, (await t.store.findProfileId(t.site.id, 'user', 'u-ada'))!);
    expect(profile!.traits.coupon).toBe(coupon);

    const pixel = /<img src="([^"]+)"/.exec(raw)![1];
    const click = /<a href="(https:\/\/rapport\.example\.com\/e\/c\/[^"]+)"/.exec(raw)![1];
    expect((await t.app.request(local(pixel))).headers.get('content-type')).toBe('image/gif');
    const redirect = await t.app.request(local(click.replace(/&amp;/g, '&')));
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('https://shop.example.com/cart?from=mail&x=1');
    const report = await t.store.automations.sendCounts(t.site.id, id);
    expect(report).toEqual({ sent: 1, opened: 1, clicked: 1 });
  });

  it('unsubscribes with one click (POST), shows a page on GET, and sends that person nothing more', async () => {
    await cartAutomation();
    await customerAddsToCart('bob');
    const unsubscribe = /List-Unsubscribe: +<([^>]+)>/.exec(decodedMail(catcher.mails[0].raw).replace(/\r?\n\s+/g, ' '))![1];
    expect(unsubscribe.startsWith(`${PUBLIC}/e/u/`)).toBe(true);

    // A mail scanner that follows the link changes nothing.
    const page = await t.app.request(local(unsubscribe));
    expect(await page.text()).toContain('<form method="post">');
    const who = (await t.store.findProfileId(t.site.id, 'user', 'u-bob'))!;
    expect((await t.store.getProfile(t.site.id, who))!.traits.unsubscribed).toBeUndefined();

    const oneClick = await t.app.request(local(unsubscribe), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    expect((await t.store.getProfile(t.site.id, who))!.traits.unsubscribed).toBe(true);
    // Their own browser cannot take it back.
    await t.send('/v1/identify', { anonymousId: 'bob', userId: 'u-bob', traits: { unsubscribed: false }, messageId: `m${++n}` });
    await t.send('/v1/track', { anonymousId: 'bob', event: 'Product Added', messageId: `m${++n}` });
    await runDue();
    expect(catcher.mails).toHaveLength(1);
  });

  it('refuses links it did not sign, and a redirect to anywhere else', async () => {
    await cartAutomation();
    await customerAddsToCart('eve');
    const raw = decodedMail(catcher.mails[0].raw);
    const click = local(/<a href="(https:\/\/rapport\.example\.com\/e\/c\/[^"]+)"/.exec(raw)![1]);
    const [payload, signature] = click.slice('/e/c/'.length).split('.');
    const [site, run, position] = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify([site, run, position, 'https://evil.example.net/'])).toString('base64url');
    expect((await t.app.request(`/e/c/${forged}.${signature}`)).status).toBe(404);
    // A click token is no unsubscribe token.
    expect((await t.app.request(`/e/u/${payload}.${signature}`, { method: 'POST' })).status).toBe(404);
    expect((await t.app.request('/e/u/nonsense', { method: 'POST' })).status).toBe(404);
  });

  it('sends a test of the first email to one address, with fallbacks for the placeholders', async () => {
    const id = await cartAutomation();
    const res = await t.api('POST', `/api/automations/${id}/test`, { to: 'me@shop.example' });
    expect(res.body).toEqual({ sent: true, to: 'me@shop.example' });
    expect(catcher.mails[0].to).toEqual(['me@shop.example']);
    expect(decodedMail(catcher.mails[0].raw)).toMatch(/Subject: Your cart, friend/);
    expect(await t.store.automations.sendCounts(t.site.id, id)).toEqual({ sent: 0, opened: 0, clicked: 0 });
    expect((await t.api('POST', `/api/automations/${id}/test`, { to: 'a@b.c, d@e.f' })).body.details[0].field).toBe('to');
  });

  it('writes only to an address that a trusted or verified message set', async () => {
    const id = await cartAutomation();
    // A visitor types someone else's address into their own profile.
    await t.send('/v1/identify', { anonymousId: 'mallory', traits: { email: 'victim@example.com' }, messageId: `m${++n}` });
    await t.send('/v1/track', { anonymousId: 'mallory', event: 'Product Added', messageId: `m${++n}` });
    await runDue();
    expect(catcher.mails).toHaveLength(0);
    const [run] = (await t.api('GET', `/api/automations/${id}/runs?status=failed`)).body.runs;
    expect(run.error.message).toMatch(/^the email address was not set by a trusted or verified message/);
  });

  it('fails the step into the dead letters when the site has no SMTP server', async () => {
    await t.api('PATCH', `/api/sites/${t.site.id}`, { smtpUrl: null });
    const id = await cartAutomation();
    await customerAddsToCart('dan');
    const [run] = (await t.api('GET', `/api/automations/${id}/runs?status=failed`)).body.runs;
    expect(run.error.message).toBe('the site has no SMTP server set');
  });
});
