// The demo's mail catcher, over real SMTP with nodemailer (what Rapport sends with).
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs without type declarations.
import { startMailCatcher } from './mail-catcher.mjs';
// @ts-expect-error: plain .mjs without type declarations.
import { durationInWords, durationMs } from './seed.mjs';

let catcher: { url: string; port: number; mails(): any[]; clear(): void; close(): Promise<void> };
let transport: nodemailer.Transporter;

beforeAll(async () => {
  catcher = await startMailCatcher({ keep: 3 });
  transport = nodemailer.createTransport({ url: catcher.url });
});
afterAll(async () => {
  transport.close();
  await catcher.close();
});

describe('the mail catcher', () => {
  it('listens on 127.0.0.1 and keeps each mail decoded: envelope, headers, text and HTML', async () => {
    expect(catcher.url).toBe(`smtp://127.0.0.1:${catcher.port}`);
    catcher.clear();
    await transport.sendMail({
      from: 'Far & Wide <hello@farandwide.example>',
      to: 'tom@example.com',
      subject: 'Ton voyage t’attend, Zoë: 5% off',
      text: `Grüße, ${'long line '.repeat(20)}\nCART-7QK2M9XH4D`,
      html: '<p>Grüße <a href="http://rapport.test/e/c/a.b">cart</a></p>',
      headers: { 'List-Unsubscribe': '<http://rapport.test/e/u/x.y>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    const [mail] = catcher.mails();
    expect(mail).toMatchObject({
      id: expect.any(Number),
      envelope: { from: 'hello@farandwide.example', to: ['tom@example.com'] },
      from: '"Far & Wide" <hello@farandwide.example>',
      to: 'tom@example.com',
      subject: 'Ton voyage t’attend, Zoë: 5% off',
      html: '<p>Grüße <a href="http://rapport.test/e/c/a.b">cart</a></p>',
      headers: { 'list-unsubscribe': '<http://rapport.test/e/u/x.y>', 'list-unsubscribe-post': 'List-Unsubscribe=One-Click' },
    });
    expect(mail.text).toBe(`Grüße, ${'long line '.repeat(20)}\nCART-7QK2M9XH4D`);
    expect(Date.now() - Date.parse(mail.receivedAt)).toBeLessThan(10_000);
  });

  it('keeps the last few, newest first', async () => {
    catcher.clear();
    for (let i = 1; i <= 5; i++) await transport.sendMail({ from: 'a@b.example', to: 'c@d.example', subject: `mail ${i}`, text: 'x' });
    expect(catcher.mails().map((m) => m.subject)).toEqual(['mail 5', 'mail 4', 'mail 3']);
  });

  it('refuses a message over 1 MB', async () => {
    await expect(transport.sendMail({ from: 'a@b.example', to: 'c@d.example', subject: 'big', text: 'x'.repeat(1_100_000) })).rejects.toMatchObject({ responseCode: 552 });
  });
});

describe('the durations of --cart-wait', () => {
  it('are those of the automation language, 1 s to 365 d', () => {
    expect(durationMs('10s')).toBe(10_000);
    expect(durationMs('1m')).toBe(60_000);
    expect(durationMs('365d')).toBe(365 * 86_400_000);
    for (const bad of ['0s', '500ms', '1.5m', '1 m', '366d', '', 'm', '-1s']) expect(durationMs(bad), bad).toBeNull();
    expect([durationInWords('1m'), durationInWords('1h'), durationInWords('3s'), durationInWords('2d')]).toEqual(['a minute', 'an hour', '3 seconds', '2 days']);
  });
});
