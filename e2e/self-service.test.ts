// The customer self-service page in real Chromium, against a real server: a customer opens the
// link their shop signed, corrects a detail with the keyboard alone, changes a consent choice,
// downloads their data and erases it after the confirmation; a tampered link gets the 403 page.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSelfServiceLink } from '../packages/server/src/self-service/link';
import { startTestServer, type TestServer } from '../packages/server/src/test-support/server';
import { launchChromium } from './support/browser';

let t: TestServer;
let browser: Browser;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchChromium();
  const res = await fetch(`${t.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.site.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: [
        { type: 'identify', messageId: 'e2e-1', userId: 'u-ada', traits: { firstName: 'Ada', lastName: 'Byron', email: 'ada@example.com' } },
        { type: 'page', messageId: 'e2e-2', userId: 'u-ada', name: 'Pricing' },
      ],
    }),
  });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const linkFor = (userId: string, expiresAt = new Date(Date.now() + DAY)) => `${t.url}/me/${signSelfServiceLink({ site: t.site, userId, expiresAt })}`;
const profile = async () => {
  const id = await t.server.store.findProfileId(t.site.id, 'user', 'u-ada');
  return id ? t.server.store.getProfile(t.site.id, id) : null;
};

/** Tabs until the element with `id` has the focus, as a keyboard user would. */
async function tabTo(tab: Page, id: string) {
  for (let i = 0; i < 60; i++) {
    await tab.keyboard.press('Tab');
    if (await tab.evaluate((want) => document.activeElement?.id === want, id)) return;
  }
  throw new Error(`${id} is not reachable with the Tab key`);
}

describe('self-service in Chromium', () => {
  it('shows what is kept, and takes corrections, consent, a download and an erasure', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    const link = linkFor('u-ada');
    const opened = await tab.goto(link);
    expect(opened!.status()).toBe(200);
    expect(await tab.textContent('body')).toContain('Ada');
    // Every input has its label.
    expect(await tab.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].every((el) => el.labels && el.labels.length > 0))).toBe(true);

    // The first name, with the keyboard alone: Tab to it, replace it, Enter submits the form.
    await tabTo(tab, 'trait-firstName');
    await tab.keyboard.press('Control+A');
    await tab.keyboard.type('Augusta');
    await Promise.all([tab.waitForURL(/done=traits/), tab.keyboard.press('Enter')]);
    expect(await tab.textContent('body')).toContain('Your details are saved.');
    expect((await profile())!.traits.firstName).toBe('Augusta');

    // Marketing: not allowed.
    await tab.check('input[name="consent:marketing"][value="withdrawn"]');
    await Promise.all([tab.waitForURL(/done=consent/), tab.click('button:has-text("Save choices")')]);
    expect((await profile())!.computed.consent?.marketing?.granted).toBe(false);

    const [download] = await Promise.all([tab.waitForEvent('download'), tab.click(`a[href$="/export"]`)]);
    const data = JSON.parse(await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8'));
    expect(data.profile.userId).toBe('u-ada');
    expect(data.events.length).toBeGreaterThanOrEqual(4);

    await tab.click(`a[href$="/erase"]`);
    expect(await profile()).not.toBeNull();
    await tab.click('button.button-danger');
    await tab.waitForLoadState();
    expect(await profile()).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('answers a tampered or expired link with the 403 page', async () => {
    const tab = await browser.newPage();
    const link = linkFor('u-someone');
    const tampered = link.slice(0, -2) + (link.endsWith('AA') ? 'BB' : 'AA');
    const bad = await tab.goto(tampered);
    expect(bad!.status()).toBe(403);
    const expired = await tab.goto(linkFor('u-someone', new Date(Date.now() - 1000)));
    expect(expired!.status()).toBe(403);
    expect((await tab.textContent('body'))!.toLowerCase()).toContain('expired');
    await tab.close();
  });
});
