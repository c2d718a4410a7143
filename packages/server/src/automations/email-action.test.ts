import { afterEach, describe, expect, it } from 'vitest';
import type { ProfileRecord } from '../profiles/types.js';
import type { AutomationRecord, RunRecord } from '../store/automations.js';
import { emailAction } from './email-action.js';
import { MailLinks } from './mail-links.js';
import type { ActionInput } from './runner.js';
import { startMailCatcher, type MailCatcher } from '../test-support/mail-catcher.js';

const catchers: MailCatcher[] = [];
afterEach(async () => {
  for (const catcher of catchers.splice(0)) await catcher.close();
});

async function mailCatcher(refuse?: { code: number; message: string }) {
  const catcher = await startMailCatcher(refuse);
  catchers.push(catcher);
  return catcher;
}

function input(traits: Record<string, unknown>, email: string | null = 'ada@example.com'): ActionInput {
  const run = { id: 'run_1', siteId: 'site_1', position: '0/else/1', context: { coupon: 'CART-7QK2M9XH4D' } } as unknown as RunRecord;
  const profile = { id: 'p1', email, traits, computed: { vouchedEmail: email } } as unknown as ProfileRecord;
  return { run, automation: { id: 'aut_1', name: 'Cart' } as AutomationRecord, profile, key: 'run_1:0/else/1', now: Date.now() };
}

const step = {
  email: {
    subject: 'Your cart, {{traits.firstName|friend}}',
    text: 'Use {{traits.coupon}} today.',
    html: '<p>Hi {{traits.firstName}}, use <b>{{traits.coupon}}</b></p>',
  },
};

describe('the email action', () => {
  it('sends the filled template over SMTP with one-click unsubscribe headers and the step as Message-ID', async () => {
    const catcher = await mailCatcher();
    const send = emailAction({ settings: () => ({ smtpUrl: catcher.url, from: 'Shop <shop@example.com>' }), unsubscribeUrl: () => 'http://127.0.0.1:1/u/token' });
    expect(await send(step, input({ firstName: '<script>x</script>\r\nBcc: evil@example.com' }))).toEqual({ kind: 'done' });
    expect(catcher.mails).toHaveLength(1);
    const { from, to, raw } = catcher.mails[0];
    expect(from).toBe('shop@example.com');
    expect(to).toEqual(['ada@example.com']);
    const unfolded = raw.replace(/\r\n[ \t]+/g, ' ');
    expect(unfolded).toMatch(/^List-Unsubscribe: <http:\/\/127\.0\.0\.1:1\/u\/token>$/m);
    expect(unfolded).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    expect(unfolded).toMatch(/^Message-ID: <run_1:0\/else\/1@rapport>$/m);
    // A trait a visitor typed cannot add a header (the subject stays one line), nor markup to the HTML.
    const [headers] = unfolded.split(/\r?\n\r?\n/);
    expect(headers).not.toMatch(/^Bcc:/im);
    expect(headers).toMatch(/^Subject: Your cart, <script>x<\/script> Bcc: evil@example\.com$/m);
    expect(to).not.toContain('evil@example.com');
    const html = raw.slice(raw.indexOf('Content-Type: text/html'));
    expect(html).toContain('<p>Hi &lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(raw).toContain('CART-7QK2M9XH4D');
  });

  it('retries a temporary refusal (4xx), gives up on a permanent one (5xx), and says why it cannot send', async () => {
    const busy = await mailCatcher({ code: 451, message: 'try later' });
    const refusing = await mailCatcher({ code: 550, message: 'no such user' });
    const via = (url: string) => emailAction({ settings: () => ({ smtpUrl: url, from: 'shop@example.com' }), unsubscribeUrl: () => 'http://127.0.0.1:1/u' });
    expect(await via(busy.url)(step, input({}))).toMatchObject({ kind: 'retry', error: expect.stringMatching(/try later/) });
    expect(await via(refusing.url)(step, input({}))).toMatchObject({ kind: 'failed', error: expect.stringMatching(/no such user/) });
    expect(await via(busy.url)(step, input({}, null))).toEqual({ kind: 'failed', error: 'the person has no email address' });
    for (const list of ['ada@example.com, eve@example.com', 'Ada <eve@example.com>', 'ada@example.com;eve@example.com']) {
      expect(await via(busy.url)(step, input({}, list))).toEqual({ kind: 'failed', error: 'the email trait is not one email address' });
    }
    // An address a visitor typed in, not one a trusted or verified message set.
    const typed = input({});
    typed.profile.computed.vouchedEmail = undefined;
    expect(await via(busy.url)(step, typed)).toMatchObject({ kind: 'failed', error: expect.stringMatching(/^the email address was not set by a trusted or verified message/) });
    expect(busy.mails).toHaveLength(0);
    const none = emailAction({ settings: () => null, unsubscribeUrl: () => '' });
    expect(await none(step, input({}))).toEqual({ kind: 'failed', error: 'the site has no SMTP server set' });
  });

  it('sends links through the pixel and the redirect of /v1 with the mail token, which reads back to the send', async () => {
    const catcher = await mailCatcher();
    const links = new MailLinks(async () => 'k'.repeat(43), () => 'https://rapport.example.com/');
    const send = { siteId: 'site_1', runId: 'run_1', position: '0/else/1' };
    const action = emailAction({
      settings: () => ({ smtpUrl: catcher.url, from: 'shop@example.com' }),
      unsubscribeUrl: () => links.url('u', send),
      tracking: { open: () => links.url('o', send), click: (_input, url) => links.url('c', { ...send, url }) },
    });
    const html = { email: { ...step.email, html: '<html><body><a href="https://shop.example/cart?a=1&amp;b=2">Cart</a></body></html>' } };
    expect(await action(html, input({}))).toEqual({ kind: 'done' });
    const raw = catcher.mails[0].raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const open = /<img src="https:\/\/rapport\.example\.com\/v1\/p\.gif\?m=([\w.-]+)"/.exec(raw)![1];
    const click = /<a href="https:\/\/rapport\.example\.com\/v1\/r\?m=([\w.-]+)"/.exec(raw)![1];
    expect(await links.read('o', open)).toEqual(send);
    expect(await links.read('c', click)).toEqual({ ...send, url: 'https://shop.example/cart?a=1&b=2' });
    // Each token is good for its own kind of link only.
    expect(await links.read('c', open)).toBeNull();
    expect(await links.read('o', click)).toBeNull();
    expect(raw).toContain('https://rapport.example.com/e/u/');
  });
});
