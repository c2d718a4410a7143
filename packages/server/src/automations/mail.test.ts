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

    // Opens and clicks go to the pixel and the redirect of every site, the mail token in place of a key.
    const pixel = /<img src="([^"]+)"/.exec(raw)![1];
    expect(pixel).toMatch(/^https:\/\/rapport\.example\.com\/v1\/p\.gif\?m=[\w-]+\.[\w-]+$/);
    const click = /<a href="(https:\/\/rapport\.example\.com\/v1\/r\?m=[\w-]+\.[\w-]+)"/.exec(raw)![1];
    const opened = await t.app.request(local(pixel), { headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' } });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('image/gif');
    expect(opened.headers.get('cache-control')).toBe('no-store');
    // Image proxies load it again: one open per send.
    expect((await t.app.request(local(pixel))).status).toBe(200);
    const redirect = await t.app.request(local(click));
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('https://shop.example.com/cart?from=mail&x=1');
    const report = await t.store.automations.sendCounts(t.site.id, id);
    expect(report).toEqual({ sent: 1, opened: 1, clicked: 1 });

    // Both are events of the person the mail went to, trusted (the server's own key signed the link).
    const [run] = (await t.api('GET', `/api/automations/${id}/runs?profile=${profile!.id}`)).body.runs;
    const events = (await t.api('GET', `/api/events?site=${t.site.id}&userId=u-ada&type=track&limit=50`)).body.events as Array<Record<string, any>>;
    const opens = events.filter((e) => e.event === 'Email Opened');
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ userId: 'u-ada', trust: 'trusted', properties: { automation: id, run: run.id, position: '1' } });
    expect(opens[0].enrichment.device).toMatchObject({ browser: 'Chrome', type: 'desktop' });
    const clicks = events.filter((e) => e.event === 'Email Link Clicked');
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({
      userId: 'u-ada',
      trust: 'trusted',
      properties: { automation: id, run: run.id, position: '1', url: 'https://shop.example.com/cart?from=mail&x=1' },
    });
  });

  it('still answers the open and click links of mail sent before, /e/o and /e/c, and records them alike', async () => {
    const id = await cartAutomation();
    await customerAddsToCart('old');
    const raw = decodedMail(catcher.mails[0].raw);
    const open = /\/v1\/p\.gif\?m=([\w.-]+)/.exec(raw)![1];
    const click = /\/v1\/r\?m=([\w.-]+)/.exec(raw)![1];
    const pixel = await t.app.request(`/e/o/${open}`);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    const redirect = await t.app.request(`/e/c/${click}`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('https://shop.example.com/cart?from=mail&x=1');
    expect(await t.store.automations.sendCounts(t.site.id, id)).toEqual({ sent: 1, opened: 1, clicked: 1 });
    const events = (await t.api('GET', `/api/events?site=${t.site.id}&userId=u-old&type=track&limit=50`)).body.events as Array<Record<string, any>>;
    expect(events.map((e) => e.event).filter((e) => e.startsWith('Email')).sort()).toEqual(['Email Link Clicked', 'Email Opened']);
  });

  it('still sends the reader on when the click cannot be recorded', async () => {
    await cartAutomation();
    await customerAddsToCart('offline');
    const click = local(/<a href="(https:\/\/rapport\.example\.com\/v1\/r\?m=[^"]+)"/.exec(decodedMail(catcher.mails[0].raw))![1]);
    const markSend = t.store.automations.markSend;
    const errors: unknown[] = [];
    const logged = console.error;
    t.store.automations.markSend = async () => {
      throw new Error('the database is not answering');
    };
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const redirect = await t.app.request(click);
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toBe('https://shop.example.com/cart?from=mail&x=1');
    } finally {
      t.store.automations.markSend = markSend;
      console.error = logged;
    }
    expect(String((errors[0] as unknown[])[0])).toMatch(/could not record the click of an automation email/);
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
    const id = await cartAutomation();
    await customerAddsToCart('eve');
    const raw = decodedMail(catcher.mails[0].raw);
    const click = local(/<a href="(https:\/\/rapport\.example\.com\/v1\/r\?m=[^"]+)"/.exec(raw)![1]);
    const [payload, signature] = click.slice('/v1/r?m='.length).split('.');
    const [site, run, position] = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify([site, run, position, 'https://evil.example.net/'])).toString('base64url');
    for (const path of [`/v1/r?m=${forged}.${signature}`, `/e/c/${forged}.${signature}`]) {
      const refused = await t.app.request(path);
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.status).toBeLessThan(500);
      expect(refused.headers.get('location')).toBeNull();
      expect(await refused.text()).toContain('This link is not valid');
    }
    // The click token of a mail is no open token, nor a token of another link.
    const asOpen = await t.app.request(`/v1/p.gif?m=${payload}.${signature}`);
    expect(asOpen.status).toBe(401);
    expect(asOpen.headers.get('content-type')).toBe('image/gif');
    expect((await t.app.request(`/v1/r?m=${payload}.${signature}&to=https://evil.example.net/`)).headers.get('location')).toBe(
      'https://shop.example.com/cart?from=mail&x=1',
    );
    expect(await t.store.automations.sendCounts(t.site.id, id)).toEqual({ sent: 1, opened: 1, clicked: 1 });
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
