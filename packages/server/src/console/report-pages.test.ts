import { afterEach, describe, expect, it } from 'vitest';
import { isoDate, dayIn } from '../reports/days.js';
import { mondayOf } from '../reports/cohorts.js';
import { consoleTestApp, loggedInConsoles, pageHtml, textOf } from './test-support/console-client.js';

// The funnel and retention pages of the console, rendered on the store of the run.

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const setup = loggedInConsoles();


const html = pageHtml;

const DAY = 86_400_000;

/** Three shoppers of the last days: one buys, one adds to the cart, one only looks (and came from a Google search). */
async function shoppers(t: TestApp) {
  const at = (daysAgo: number, minutes = 0) => new Date(t.clock.now - daysAgo * DAY + minutes * 60_000).toISOString();
  let n = 0;
  const track = (anonymousId: string, event: string, when: string) => ({ type: 'track', messageId: `r-${++n}`, anonymousId, event, timestamp: when });
  const page = (anonymousId: string, when: string, path: string, referrer = '') => ({
    type: 'page', messageId: `r-${++n}`, anonymousId, timestamp: when, context: { page: { url: `https://shop.example${path}`, path, referrer } },
  });
  await t.collect([
    page('ann', at(20), '/', 'https://www.google.com/search?q=boots'),
    track('ann', 'Product Viewed', at(20, 1)),
    track('ann', 'Product Added', at(20, 2)),
    page('ann', at(20, 3), '/checkout'),
    track('ann', 'Order Completed', at(20, 4)),
    page('ann', at(6), '/'),
    page('bob', at(3), '/'),
    track('bob', 'Product Viewed', at(3, 1)),
    track('bob', 'Product Added', at(3, 2)),
    page('cid', at(2), '/'),
    track('cid', 'Product Viewed', at(2, 1)),
  ]);
}

describe('the report pages', () => {
  it('renders the funnel: the form of steps, the bars, and the table of figures under them', async () => {
    const { t, b } = await setup();
    await shoppers(t);
    const site = t.site.id;
    const first = textOf(await html(b, `/console/reports/funnel?site=${site}`));
    // A first visit shows the standard steps of a shop.
    for (const expected of ['Funnels', 'Step 1', 'Within', 'People at each step', '1. Product Viewed', '2. Product Added', '4. Order Completed', 'From step 1']) {
      expect(first).toContain(expected);
    }
    const query = new URLSearchParams({ site, kind1: 'event', step1: 'Product Viewed', kind2: 'event', step2: 'Product Added', kind3: 'path', step3: '/checkout', within: '7', by: 'source' });
    const page = await html(b, `/console/reports/funnel?${query}`);
    const text = textOf(page);
    expect(page).toContain('<svg class="bar"');
    expect(text).toContain('1. Product Viewed 3');
    expect(text).toContain('2. Product Added 2 66.7% 66.7%');
    expect(text).toContain('3. /checkout 1 50.0% 33.3%');
    expect(text).toContain('Split by source');
    expect(text).toContain('Google 1 1 1 100.0%');
    expect(text).toContain('(direct or none) 2 1 0 0.0%');
    // The range picker keeps the steps.
    expect(page).toContain('step3=%2Fcheckout');
  });

  it('shows what is wrong with a funnel beside the form, and keeps what was typed as text', async () => {
    const { t, b } = await setup();
    const site = t.site.id;
    const one = textOf(await html(b, `/console/reports/funnel?${new URLSearchParams({ site, kind1: 'event', step1: 'Product Viewed', within: '7' })}`));
    expect(one).toContain('steps: must have 2 to 10 steps');
    const bad = textOf(await html(b, `/console/reports/funnel?${new URLSearchParams({ site, kind1: 'event', step1: 'A', kind2: 'path', step2: 'checkout', within: '7' })}`));
    expect(bad).toContain('steps[1].path: must start with /');
    const markup = await html(b, `/console/reports/funnel?${new URLSearchParams({ site, kind1: 'event', step1: '<script>alert(1)</script>', kind2: 'event', step2: 'B', within: '7' })}`);
    expect(markup).not.toContain('<script>alert(1)</script>');
    expect(markup).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(textOf(markup)).toContain('Nobody did step 1 in this range');
    expect((await b.get(`/console/reports/funnel?site=${site}&from=2026-02-30`)).status).toBe(400);
  });

  it('renders the retention grid, shaded by share, with its chart', async () => {
    const { t, b } = await setup();
    await shoppers(t);
    const site = t.site.id;
    const page = await html(b, `/console/reports/retention?site=${site}&days=30`);
    const text = textOf(page);
    for (const expected of ['Retention', 'Came back', 'Bought', 'Cohorts by first week', 'Week of', 'W1', 'W12', 'week by week after their first']) expect(text).toContain(expected);
    // ann, first seen 20 days ago, came back 6 days ago: her week has a share of 100% somewhere.
    const week = isoDate(mondayOf(dayIn(t.clock.now - 20 * DAY, 'UTC')));
    expect(text).toContain(`${week} 1`);
    expect(page).toMatch(/fill-opacity="1"/);
    expect(text).toContain('100%');
    const bySource = textOf(await html(b, `/console/reports/retention?site=${site}&days=30&by=source&metric=order`));
    expect(bySource).toContain('First source: Google');
    expect(bySource).toContain('First source: (direct or none)');
    expect((await b.get(`/console/reports/retention?site=${site}&metric=visits`)).status).toBe(400);
  });

  it('links both pages from the navigation and the report tabs', async () => {
    const { t, b } = await setup();
    const page = await html(b, `/console/reports/retention?site=${t.site.id}`);
    expect(page).toContain(`href="/console/reports/funnel?site=${t.site.id}"`);
    expect(textOf(page)).toContain('Nobody was first seen in this range');
    // One Reports entry in the navigation, current on every report; the tabs lead to each.
    const nav = /<nav class="nav"[\s\S]*?<\/nav>/.exec(page)![0];
    expect(nav).toMatch(/class="nav-link active"[^>]*>[\s\S]*?Reports/);
    const tabs = /<nav class="report-tabs"[\s\S]*?<\/nav>/.exec(page)![0];
    expect(textOf(tabs)).toContain('Funnels');
    expect(textOf(tabs)).toContain('Retention');
  });

  it('says what to do before the first site exists', async () => {
    const { b } = await setup({ sites: [] });
    for (const path of ['/console/reports/funnel', '/console/reports/retention']) expect(textOf(await html(b, path))).toContain('No site yet');
  });
});
