// The customer self-service page in real Chromium against the real server: a customer opens the
// signed link their shop made, sees what is kept about them, corrects a trait with the keyboard
// alone, changes a consent choice, downloads their data, erases it after the confirmation, and
// an expired or tampered link shows the 403 page. The page runs no script and its CSP must let
// its own stylesheet apply: any CSP violation or console error fails the test.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSelfServiceLink } from '../packages/server/src/self-service/link';
import { DEFAULT_SELF_SERVICE, type Site } from '../packages/server/src/store/types';
import { startTestServer, type TestServer } from '../packages/server/src/test-support/server';
import { launchChromium } from './support/browser';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = path.join(ROOT, 'screenshots', 'self-service');
const DAY = 86_400_000;

let server: TestServer;
let site: Site;
let browser: Browser;
let context: BrowserContext;
let tab: Page;
let profileId: string;
const problems: string[] = [];
/** Console messages a step expects (the 403 of a refused link is logged as a failed load). */
let expected: RegExp | null = null;
let n = 0;
const mid = () => `self-service-e2e-${++n}`;
const at = (ms: number) => new Date(ms).toISOString();

const link = (userId: string, expiresAt = new Date(Date.now() + 7 * DAY)) => `${server.url}/me/${signSelfServiceLink({ site, userId, expiresAt })}`;
const profile = async () => (await server.api('GET', `/api/profiles/${profileId}`)).body;
const bodyText = () => tab.evaluate(() => document.body.innerText);
const shoot = (name: string) => tab.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer();
  const segment = (name: string, rule: unknown) => server.api('POST', '/api/segments', { site: server.site.id, name, rule });
  const shown = (await segment('Travel club members', { field: 'traits.plan', op: 'eq', value: 'gold' })).body.id;
  await segment('Discount hunters', { field: 'traits.plan', op: 'exists' });
  const patched = await server.api('PATCH', `/api/sites/${server.site.id}`, {
    timeZone: 'Europe/Berlin',
    selfService: { ...DEFAULT_SELF_SERVICE, editableTraits: ['firstName', 'lastName', 'phone', 'address'], shownSegments: [shown] },
  });
  expect(patched.status).toBe(200);
  site = server.server.sites.get(server.site.id)!;
  const now = Date.now();
  const res = await server.send(
    '/v1/batch',
    {
      batch: [
        { type: 'identify', messageId: mid(), anonymousId: 'anon-ada', userId: 'u-ada', timestamp: at(now - 3 * DAY), traits: { firstName: 'Ada', lastName: 'Lovelace', plan: 'gold', city: '<script>window.__xss=1</script>' } },
        { type: 'page', messageId: mid(), anonymousId: 'anon-ada', userId: 'u-ada', timestamp: at(now - 2 * DAY), context: { page: { url: 'https://shop.example/trips/bali', path: '/trips/bali', title: 'Bali retreat' } } },
        { type: 'track', messageId: mid(), anonymousId: 'anon-ada', userId: 'u-ada', event: 'Order Completed', timestamp: at(now - DAY), properties: { orderId: 'o-1', revenue: 1200 } },
      ],
    },
    { headers: { authorization: `Bearer ${site.secret}` } },
  );
  expect(res.status).toBe(200);
  profileId = (await server.api('GET', `/api/profiles?site=${site.id}&userId=u-ada`)).body.profiles[0].id;

  browser = await launchChromium();
  context = await browser.newContext({ acceptDownloads: true });
  tab = await context.newPage();
  tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  tab.on('console', (message) => {
    if ((message.type() === 'error' || message.type() === 'warning') && !expected?.test(message.text())) problems.push(`console: ${message.text()}`);
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

describe('the self-service page in Chromium', () => {
  const adaLink = () => link('u-ada');
  let url: string;

  it('opens from the signed link and shows what is kept, with its own stylesheet allowed by the CSP', async () => {
    url = adaLink();
    const res = await tab.goto(url);
    expect(res!.status()).toBe(200);
    expect(await tab.locator('h1').innerText()).toBe('Your data at Test site');
    const text = await bodyText();
    expect(text).toContain('Ada');
    expect(text).toContain('Lovelace');
    expect(text).toContain('<script>window.__xss=1</script>');
    expect(text).toContain('Travel club members');
    expect(text).not.toContain('Discount hunters');
    expect(text).toContain('Bali retreat');
    expect(text).toContain('Order Completed');
    expect(text).toMatch(/Europe\/Berlin/);
    expect(await tab.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    // The inline stylesheet applied (the CSP let its hash through): the page's ink colour, not the browser's black.
    expect(await tab.evaluate(() => getComputedStyle(document.documentElement).color)).toBe('rgb(26, 31, 46)');
    expect(await tab.evaluate(() => document.documentElement.lang)).toBe('en');
    // Every input has its label, and each consent purpose is a fieldset with a legend.
    expect(await tab.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].every((el) => (el as HTMLInputElement).labels!.length > 0))).toBe(true);
    expect(await tab.locator('fieldset legend').allInnerTexts()).toEqual(expect.arrayContaining(['Marketing', 'Analytics', 'Personalization', 'Address']));
    await shoot('page');
    expect(problems).toEqual([]);
  });

  it('corrects a trait with the keyboard alone: Tab to the field, type, Enter', async () => {
    await tab.goto(url);
    // The first stop is the skip link, and focus is visible wherever it lands.
    await tab.keyboard.press('Tab');
    expect(await tab.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Skip to content');
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'trait-firstName'; i++) {
      await tab.keyboard.press('Tab');
      focused = await tab.evaluate(() => document.activeElement?.id ?? '');
    }
    expect(focused).toBe('trait-firstName');
    expect(await tab.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await tab.keyboard.press('ControlOrMeta+A');
    await tab.keyboard.type('Augusta Ada');
    await Promise.all([tab.waitForURL(/\?done=traits$/), tab.keyboard.press('Enter')]);
    expect(await tab.locator('[role=status]').innerText()).toBe('Your details are saved.');
    expect(await tab.inputValue('#trait-firstName')).toBe('Augusta Ada');
    expect((await profile()).traits).toMatchObject({ firstName: 'Augusta Ada', lastName: 'Lovelace' });
    const events = (await server.api('GET', `/api/profiles/${profileId}/events?limit=10`)).body.events;
    expect(events[0]).toMatchObject({ type: 'identify', context: { source: 'self-service' }, traits: { firstName: 'Augusta Ada' } });
    expect(await bodyText()).toContain('You corrected your details here');
    expect(problems).toEqual([]);
  });

  it('changes a consent choice', async () => {
    // Radios of one fieldset move with the arrow keys, as the keyboard user knows them.
    await tab.focus('input[name="consent:marketing"][value="granted"]');
    await tab.keyboard.press('Space');
    await tab.keyboard.press('ArrowRight');
    expect(await tab.isChecked('input[name="consent:marketing"][value="withdrawn"]')).toBe(true);
    await Promise.all([tab.waitForURL(/\?done=consent$/), tab.getByRole('button', { name: 'Save choices' }).click()]);
    expect(await tab.locator('[role=status]').innerText()).toBe('Your choices are saved.');
    expect(await tab.isChecked('input[name="consent:marketing"][value="withdrawn"]')).toBe(true);
    expect((await profile()).computed.consent).toMatchObject({ marketing: { granted: false, trust: 'trusted' } });
    expect(problems).toEqual([]);
  });

  it('downloads everything as JSON', async () => {
    const [download] = await Promise.all([tab.waitForEvent('download'), tab.getByRole('link', { name: 'Download my data (JSON)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^my-data-\d{4}-\d{2}-\d{2}\.json$/);
    const data = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(data.profile).toMatchObject({ userId: 'u-ada', traits: { firstName: 'Augusta Ada' } });
    expect(data.events.map((e: { type: string; event?: string }) => e.event ?? e.type)).toEqual(expect.arrayContaining(['page', 'Order Completed', 'Consent Updated', 'identify']));
    expect(problems).toEqual([]);
  });

  it('erases only after the confirmation', async () => {
    await tab.getByRole('link', { name: 'Erase my data…' }).click();
    expect(await tab.locator('h1').innerText()).toBe('Erase your data?');
    await shoot('erase');
    // Cancel goes back and keeps everything.
    await tab.getByRole('link', { name: 'Cancel' }).click();
    expect(await server.server.store.getProfile(site.id, profileId)).not.toBeNull();
    await tab.getByRole('link', { name: 'Erase my data…' }).click();
    await tab.getByRole('button', { name: 'Erase everything' }).click();
    expect(await tab.locator('h1').innerText()).toBe('Your data is erased');
    expect(await server.server.store.getProfile(site.id, profileId)).toBeNull();
    await tab.goto(url);
    expect(await bodyText()).toContain('Nothing is kept about you');
    expect(problems).toEqual([]);
  });

  it('shows the 403 page for a tampered link and for an expired one', async () => {
    expected = /status of 403/;
    try {
      const [payload, signature] = url.split('/me/')[1].split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const someoneElse = Buffer.from(JSON.stringify({ ...claims, u: 'u-someone-else' })).toString('base64url');
      const tampered = await tab.goto(`${server.url}/me/${someoneElse}.${signature}`);
      expect(tampered!.status()).toBe(403);
      expect(await tab.locator('h1').innerText()).toBe('This link is not valid');
      await shoot('invalid');
      const expired = await tab.goto(link('u-ada', new Date(Date.now() - 60_000)));
      expect(expired!.status()).toBe(403);
      expect(await tab.locator('h1').innerText()).toBe('This link has expired');
    } finally {
      expected = null;
    }
    expect(problems).toEqual([]);
  });
});
