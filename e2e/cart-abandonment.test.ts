// Story 4 of the demo shop in real Chromium, against what `npm start` runs (the launcher, from
// the sources, on free ports, over a fresh database, with a short cart wait): a customer who
// leaves a cart gets, once the wait is over, an email with a coupon code, sent by Rapport's
// cart-abandonment automation over SMTP to the demo's mail catcher, read at the shop's /outbox,
// whose tracked link leads back to the cart. A customer who orders within the wait gets none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser';
import { launchDemo, stopDemo, type Demo } from './support/demo';
import { eventually } from './support/eventually';
import type { StoredEvent } from './support/stored-event';

/** The launcher's `--cart-wait`: short, yet long enough for the second customer to order within it. */
const WAIT = '3s';
const WAIT_MS = 3_000;

let dir: string;
let demo: Demo;
let browser: Browser;
let automation: { id: string; [key: string]: any };
const contexts: BrowserContext[] = [];
const problems: string[] = [];

async function api<T = any>(method: string, pathname: string): Promise<T> {
  const res = await fetch(demo.rapport + pathname, { method, headers: { authorization: `Bearer ${demo.adminToken}` } });
  expect(res.status, `${method} ${pathname}`).toBeLessThan(300);
  return (await res.json()) as T;
}
const customer = async (userId: string) => (await api('GET', `/api/profiles?site=${demo.siteId}&userId=${userId}`)).profiles[0];

/** A new visitor in a browser context of their own; console errors of any of its tabs fail the test. */
async function visitor(): Promise<{ context: BrowserContext; tab: Page }> {
  const context = await browser.newContext();
  contexts.push(context);
  const watch = (tab: Page) => {
    tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    tab.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console: ${message.text()} (${message.location().url})`);
    });
  };
  context.on('page', watch);
  const tab = await context.newPage();
  return { context, tab };
}

/** Sends what the SDK holds (twice: a batch in flight answers the first flush). */
const flush = (tab: Page) =>
  tab.evaluate(async () => {
    const { rapport } = window as unknown as { rapport: { flush(): Promise<void> } };
    await rapport.flush();
    await rapport.flush();
  });

async function logIn(tab: Page, username: string) {
  await tab.goto(`${demo.shop}/login`);
  await tab.fill('input[name=username]', username);
  await tab.fill('input[name=password]', 'demo');
  // The shop waits for the identify (with the signed user id, and so the email) to be sent.
  await Promise.all([tab.waitForURL(`${demo.shop}/`), tab.click('#login-form button[type=submit]')]);
}

/** Puts a trip in the cart; resolves once Product Added is sent, with when that was. */
async function addTrip(tab: Page, trip: string): Promise<number> {
  await tab.goto(`${demo.shop}/trips/${trip}`);
  await tab.waitForSelector('[data-add-to-cart]:not([disabled])');
  await tab.click('[data-add-to-cart]');
  const at = Date.now();
  await flush(tab);
  return at;
}

interface ShownMail {
  id: string;
  to: string;
  subject: string;
  text: string;
  receivedAt: string;
}

/** The mails the outbox page shows, newest first. */
const shownMails = (tab: Page): Promise<ShownMail[]> =>
  tab.$$eval('article.mail', (articles) =>
    articles.map((a) => ({
      id: a.getAttribute('data-mail') ?? '',
      to: a.querySelector('[data-mail-to]')?.textContent ?? '',
      subject: a.querySelector('[data-mail-subject]')?.textContent ?? '',
      text: a.querySelector('[data-mail-text]')?.textContent ?? '',
      receivedAt: a.querySelector('time')?.getAttribute('datetime') ?? '',
    })),
  );

/** Reloads the outbox until a mail to `to` is on it, or `until` (ms since the epoch) has passed. */
async function mailTo(tab: Page, to: string, until: number): Promise<ShownMail | undefined> {
  for (;;) {
    await tab.goto(`${demo.shop}/outbox`);
    const found = (await shownMails(tab)).find((m) => m.to === to);
    if (found || Date.now() > until) return found;
    await tab.waitForTimeout(250);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rapport-cart-'));
  demo = await launchDemo(path.join(dir, 'rapport.db'), ['--cart-wait', WAIT]);
  browser = await launchChromium();
  const { automations } = await api('GET', `/api/automations?site=${demo.siteId}`);
  automation = automations.find((a: { name: string }) => a.name === 'Cart abandonment');
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  expect(problems.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  if (demo) await stopDemo(demo);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('story 4 of the demo shop: a cart left behind', () => {
  it('is seeded as an active automation with the launcher\'s wait, and the site mails through the catcher', async () => {
    expect(demo.output()).toContain(`4. Leave a cart: an email with a coupon arrives at /outbox about 3 seconds later`);
    expect(demo.output()).toContain(`${demo.shop}/stories#cart`);
    expect(automation).toMatchObject({
      status: 'active',
      trigger: { event: 'Product Added' },
      steps: [
        {
          waitFor: { event: 'Order Completed', within: WAIT },
          then: [],
          else: [{ if: { field: 'traits.email', op: 'exists' }, then: [{ coupon: { prefix: 'CART-' } }, { email: {} }], else: [] }],
        },
      ],
      exit: { event: 'Order Completed' },
      holdoutPercent: 0,
      cap: { runs: 1, days: 1 },
    });
    const site = await api('GET', `/api/sites/${demo.siteId}`);
    expect(site).toMatchObject({ smtpUrl: demo.mailCatcher, mailFrom: 'Far & Wide <hello@farandwide.example>' });
    // Nothing sent yet: the outbox says how to get a mail.
    const { tab } = await visitor();
    await tab.goto(`${demo.shop}/outbox`);
    expect(await tab.textContent('[data-outbox-empty]')).toContain('3 seconds later');
    expect(await tab.$$('script')).toHaveLength(0);
    // The shop's footer links to it.
    await tab.goto(`${demo.shop}/`);
    await Promise.all([tab.waitForURL(`${demo.shop}/outbox`), tab.click('footer a[href="/outbox"]')]);
  });

  it('emails a coupon to the customer who left a cart, once the wait is over, and its link leads back to the cart; no email to one who ordered in time', async () => {
    const started = Date.now();
    // Tom logs in (the signed login gives Rapport his email), puts a trip in the cart and leaves.
    const tom = await visitor();
    await logIn(tom.tab, 'tom');
    await addTrip(tom.tab, 'iceland-ring-road');
    await tom.tab.goto(`${demo.shop}/`);

    // Ana does the same, and orders within the wait.
    const ana = await visitor();
    await logIn(ana.tab, 'ana');
    const anaAdded = await addTrip(ana.tab, 'patagonia-trek');
    await ana.tab.goto(`${demo.shop}/checkout`);
    await ana.tab.waitForSelector('[data-summary] .total');
    expect(await ana.tab.inputValue('input[name=email]')).toBe('ana@example.com');
    await Promise.all([ana.tab.waitForURL(/\/thanks\?order=FW-/), ana.tab.click('#checkout-form button[type=submit]')]);
    const anaOrdered = Date.now() - anaAdded;
    expect(anaOrdered, 'Ana must order within the wait for this test to mean anything').toBeLessThan(WAIT_MS);

    // Tom's email arrives in the outbox, which he reads in his own browser.
    const inbox = await tom.context.newPage();
    const mail = await mailTo(inbox, 'tom@example.com', Date.now() + WAIT_MS + 15_000);
    expect(mail, 'an email to tom@example.com in the outbox').toBeDefined();
    const arrivedAfter = Date.now() - started;

    // Not before the wait was over: measured from the Product Added that Rapport stored.
    const tomProfile = await customer('cust_1002');
    const events = (await api<{ events: StoredEvent[] }>('GET', `/api/profiles/${tomProfile.id}/events?limit=100`)).events;
    const added = events.find((e) => e.event === 'Product Added');
    expect(added, "Tom's Product Added").toBeDefined();
    const delay = Date.parse(mail!.receivedAt) - Date.parse(added!.receivedAt);
    expect(delay).toBeGreaterThanOrEqual(WAIT_MS);
    expect(delay).toBeLessThan(WAIT_MS + 5_000);

    // The coupon is the one Rapport gave Tom (his trait `coupon`), in the subject and the text.
    const subject = /^Your trip is still waiting, Tom: 5% off with (CART-[0-9A-HJKMNP-TV-Z]{10})$/.exec(mail!.subject);
    expect(subject, mail!.subject).not.toBeNull();
    const code = subject![1];
    expect(tomProfile.traits.coupon).toBe(code);
    expect(mail!.text).toContain(`the code ${code} takes 5% off`);
    expect(mail!.text).toContain(`Back to your cart: ${demo.shop}/cart`);
    expect(mail!.text).toMatch(new RegExp(`Unsubscribe: ${demo.rapport}/e/u/`));

    // The HTML part: in a sandboxed frame (no scripts), never in the shop's page itself.
    const frameElement = await inbox.$(`article[data-mail="${mail!.id}"] iframe.mail-html`);
    expect(await frameElement!.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    expect(await inbox.$$('main a[href*="/v1/r?"]')).toHaveLength(0);
    const frame = (await frameElement!.contentFrame())!;
    expect(await frame.textContent('strong')).toBe(code);
    const link = frame.locator('a', { hasText: 'Back to your cart' });
    expect(await link.getAttribute('href')).toMatch(new RegExp(`^${demo.rapport}/v1/r\\?m=[\\w-]+\\.[\\w-]+$`));

    // Following the tracked link (a tab of its own, as a mail client would) lands on Tom's cart.
    const [cart] = await Promise.all([tom.context.waitForEvent('page'), link.click()]);
    await cart.waitForURL(`${demo.shop}/cart`);
    await cart.waitForSelector('table.lines');
    expect(await cart.textContent('table.lines')).toContain('Iceland ring road');

    // Ana's run ended with her order, and no email went to her, though her wait is over too.
    const anaProfile = await customer('cust_1003');
    const runs = await eventually(
      () => api('GET', `/api/automations/${automation.id}/runs?profile=${anaProfile.id}`).then((b) => b.runs),
      (list: Array<{ status: string }>) => list.length > 0 && list[0].status !== 'active',
    );
    expect(runs.map((r: { status: string }) => r.status)).toEqual(['exited']);
    expect(anaProfile.traits.coupon).toBeUndefined();
    const anaDeadline = anaAdded + WAIT_MS + 2_000;
    if (Date.now() < anaDeadline) await inbox.waitForTimeout(anaDeadline - Date.now());
    await inbox.goto(`${demo.shop}/outbox`);
    expect((await shownMails(inbox)).map((m) => m.to)).toEqual(['tom@example.com']);

    // What the automation's report counts: one email delivered, opened (the pixel, in the frame) and clicked.
    const report = await eventually(
      () => api('GET', `/api/automations/${automation.id}/report`),
      (r) => r.runs.clicked >= 1,
    );
    expect(report.runs).toMatchObject({ delivered: 1, opened: 1, clicked: 1 });
    expect(report.runs.byStatus).toMatchObject({ done: 1, exited: 1 });
    console.info(`cart abandonment: Ana ordered ${anaOrdered} ms after adding; Tom's email came ${delay} ms after his Product Added, on the outbox ${arrivedAfter} ms after the story began`);
  });
});
