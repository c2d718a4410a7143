import { afterEach, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../automations/webhook.js';
import { newId } from '../ids.js';
import type { AutomationRecord, RunRecord } from '../store/automations.js';
import { startMailCatcher, type MailCatcher } from '../test-support/mail-catcher.js';
import { ConsoleBrowser, consoleTestApp, loggedInConsoles, pageHtml, seedShop, textOf } from './test-support/console-client.js';

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const catchers: MailCatcher[] = [];
const setup = loggedInConsoles();
afterEach(async () => {
  for (const c of catchers.splice(0)) await c.close();
});


const html = pageHtml;

const CART_STEPS = [
  {
    waitFor: { event: 'Order Completed', within: '1h' },
    else: [{ email: { subject: 'Your cart, {{traits.firstName|friend}}', text: 'Still there.' } }, { tag: { add: 'cart-reminded' } }],
  },
];

/** The builder's fields as a browser sends them. */
const builderForm = (site: string, extra: Record<string, string> = {}) => ({
  site,
  name: 'Cart reminder',
  status: 'active',
  triggerKind: 'event',
  triggerEvent: 'Product Added',
  triggerWhere: '{"category": "laptops"}',
  triggerSegment: '',
  triggerAttribute: 'daysSinceLastOrder',
  triggerReaches: '90',
  conditions: '',
  holdoutPercent: '10',
  capRuns: '1',
  capDays: '7',
  exitEvent: 'Order Completed',
  exitRule: '',
  goalEvent: 'Order Completed',
  goalDays: '3',
  steps: JSON.stringify(CART_STEPS),
  ...extra,
});

async function saveThroughBuilder(t: TestApp, b: ConsoleBrowser, extra: Record<string, string> = {}) {
  await html(b, `/console/automations/new?site=${t.site.id}`);
  const res = await b.post('/console/automations', builderForm(t.site.id, extra));
  expect(res.status, await res.clone().text()).toBe(303);
  const [automation] = await t.store.automations.listAutomations(t.site.id);
  expect(res.headers.get('location')).toBe(`/console/automations/${automation.id}?done=saved`);
  return automation;
}

function run(t: TestApp, a: AutomationRecord, profileId: string, overrides: Partial<RunRecord> = {}): RunRecord {
  const now = t.clock.now;
  return {
    id: `run_${newId()}`,
    siteId: a.siteId,
    automationId: a.id,
    profileId,
    triggerKey: newId(),
    holdout: false,
    status: 'active',
    position: '0',
    context: {},
    dueAt: now + 3_600_000,
    waitingFor: 'Order Completed',
    attempts: 0,
    startedAt: now,
    updatedAt: now,
    ...overrides,
  };
}

describe('the automation builder', () => {
  it('says what to do before the first site exists', async () => {
    const { b } = await setup({ sites: [] });
    for (const path of ['/console/automations', '/console/automations/new']) expect(textOf(await html(b, path)), path).toContain('Add your first site');
  });

  it('saves a valid automation through the API validator, and the list shows it', async () => {
    const { t, b } = await setup();
    const automation = await saveThroughBuilder(t, b);
    expect(automation).toMatchObject({ name: 'Cart reminder', status: 'active' });
    expect(automation.definition).toEqual({
      trigger: { event: 'Product Added', where: { category: 'laptops' } },
      conditions: null,
      steps: [{ ...CART_STEPS[0], then: [] }],
      exit: { event: 'Order Completed' },
      holdoutPercent: 10,
      cap: { runs: 1, days: 7 },
      goal: { event: 'Order Completed', withinDays: 3 },
    });
    // Active at once: ingest on this node starts runs of it.
    await t.collect([{ type: 'track', messageId: 'm1', anonymousId: 'a1', event: 'Product Added', properties: { category: 'laptops' } }]);
    expect((await t.store.automations.listRuns({ siteId: t.site.id, automationId: automation.id, limit: 10 })).items).toHaveLength(1);

    const list = await html(b, `/console/automations?site=${t.site.id}`);
    const text = textOf(list);
    for (const expected of ['Cart reminder', 'Event: Product Added where category = "laptops"', 'Active', '1 active', '0 failed', 'Dead letters']) expect(text).toContain(expected);
    // 3 steps: the waitFor, and the email and the tag of its else branch.
    expect(list).toMatch(/<td class="num">3<\/td>/);
    expect(list).toContain(`href="/console/automations/${automation.id}/runs?status=failed"`);
    expect(list).toContain('class="nav-link active" href="/console/automations?site=');

    const builder = await html(b, `/console/automations/${automation.id}?done=saved`);
    const page = textOf(builder);
    expect(page).toContain('The automation is saved.');
    // The flow of the saved steps: each step a card with its position, the branches beneath.
    for (const expected of ['Wait up to 1 hour for “Order Completed”', 'If it has not come within 1 hour', 'Email “Your cart, {{traits.firstName|friend}}”', 'Add the tag cart-reminded', '0/else/0', '0/else/1']) {
      expect(page).toContain(expected);
    }
    expect(builder.match(/class="flow-card"/g)).toHaveLength(3);
    expect(builder).toMatch(/<option value="active" selected="">Active<\/option>/);
  });

  it('edits an automation, keeping its id, and pauses it', async () => {
    const { t, b } = await setup();
    const automation = await saveThroughBuilder(t, b);
    await html(b, `/console/automations/${automation.id}`);
    const res = await b.post(`/console/automations/${automation.id}`, builderForm(t.site.id, { name: 'Cart reminder 2', status: 'paused', triggerWhere: '', capRuns: '', capDays: '' }));
    expect(res.status).toBe(303);
    const saved = (await t.store.automations.getAutomation(t.site.id, automation.id))!;
    expect(saved).toMatchObject({ name: 'Cart reminder 2', status: 'paused', createdAt: automation.createdAt });
    expect(saved.definition).toMatchObject({ trigger: { event: 'Product Added' }, cap: null });
    expect(await t.store.automations.listAutomations(t.site.id)).toHaveLength(1);
  });

  it('offers the site segments and the computed numbers as triggers', async () => {
    const { t, b } = await setup();
    await b.post('/console/segments', { site: t.site.id, name: 'Buyers', description: '', rule: JSON.stringify({ all: [{ field: 'computed.orders', op: 'gte', value: 1 }] }) });
    const [segment] = await t.store.listSegments(t.site.id);
    const form = await html(b, `/console/automations/new?site=${t.site.id}`);
    expect(form).toContain(`<option value="${segment.id}">Buyers</option>`);
    expect(form).toContain('<option value="daysSinceLastOrder" selected="">Days since the last order (daysSinceLastOrder)</option>');
    for (const kind of ['event', 'segmentEntered', 'segmentLeft', 'attribute', 'identified']) expect(form).toContain(`<option value="${kind}"`);

    await saveThroughBuilder(t, b, { name: 'Welcome buyers', triggerKind: 'segmentEntered', triggerSegment: segment.id });
    const res = await b.post('/console/automations', builderForm(t.site.id, { name: 'Win back', triggerKind: 'attribute', triggerAttribute: 'daysSinceLastOrder', triggerReaches: '90' }));
    expect(res.status).toBe(303);
    await b.post('/console/automations', builderForm(t.site.id, { name: 'Hello', triggerKind: 'identified', status: 'draft' }));
    const byName = new Map((await t.store.automations.listAutomations(t.site.id)).map((a) => [a.name, a.definition.trigger]));
    expect(Object.fromEntries(byName)).toEqual({
      'Welcome buyers': { segmentEntered: segment.id },
      'Win back': { attribute: 'daysSinceLastOrder', reaches: 90 },
      Hello: { identified: true },
    });
    const list = textOf(await html(b, `/console/automations?site=${t.site.id}`));
    for (const expected of ['Enters segment Buyers', 'Days since the last order reaches 90', 'First identify', 'Draft']) expect(list).toContain(expected);
  });

  it('re-renders a bad definition with every error path, keeping what was typed', async () => {
    const { t, b } = await setup();
    await html(b, `/console/automations/new?site=${t.site.id}`);
    const steps = JSON.stringify([{ wait: 'soon' }, { if: { field: 'traits.vip', op: 'eq', value: true }, then: [], else: [{ webhook: { url: 'ftp://x', secret: newWebhookSecret() } }] }]);
    const res = await b.post('/console/automations', builderForm(t.site.id, { name: 'Broken <b>one</b>', triggerEvent: '', holdoutPercent: '95', steps }));
    expect(res.status).toBe(400);
    const body = await res.text();
    const text = textOf(body);
    expect(text).toContain('Not saved');
    for (const path of ['trigger.event', 'steps[0].wait', 'steps[1].else[0].webhook.url', 'holdoutPercent']) expect(text, path).toContain(path);
    expect(text).toContain('must be an http or https URL');
    // What was typed stays, escaped.
    expect(body).toContain('value="Broken &lt;b&gt;one&lt;/b&gt;"');
    expect(body).not.toContain('<b>one</b>');
    expect(textOf(body.slice(body.indexOf('id="steps"')))).toContain('"wait":"soon"');
    expect(body).toContain('value="95"');
    // The inputs named are marked, and the flow marks the two steps that are wrong.
    expect(body).toMatch(/id="triggerEvent"[^>]*aria-invalid="true"/);
    expect(body.match(/class="flow-card flow-card-invalid"/g)).toHaveLength(2);
    expect(await t.store.automations.listAutomations(t.site.id)).toEqual([]);

    const notJson = await b.post('/console/automations', builderForm(t.site.id, { conditions: '{"all": [', exitRule: 'nope' }));
    expect(notJson.status).toBe(400);
    const refused = textOf(await notJson.text());
    expect(refused).toMatch(/conditions ?: is not valid JSON/);
    expect(refused).toMatch(/exit\.rule ?: is not valid JSON/);

    // A segment the site does not have, through a hand-made form.
    const missing = textOf(await (await b.post('/console/automations', builderForm(t.site.id, { triggerKind: 'segmentLeft', triggerSegment: 'seg_nope' }))).text());
    expect(missing).toContain('trigger.segmentLeft: no segment seg_nope on this site');
  });

  it('refuses a name the site has already, beside the name', async () => {
    const { t, b } = await setup();
    await saveThroughBuilder(t, b);
    const res = await b.post('/console/automations', builderForm(t.site.id));
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).toMatch(/id="name"[^>]*aria-invalid="true"/);
    expect(await t.store.automations.listAutomations(t.site.id)).toHaveLength(1);
  });

  it('deletes after a confirmation step', async () => {
    const { t, b } = await setup();
    const automation = await saveThroughBuilder(t, b);
    expect(textOf(await html(b, `/console/automations/${automation.id}/delete`))).toContain('Delete Cart reminder?');
    expect(await t.store.automations.getAutomation(t.site.id, automation.id)).not.toBeNull();
    const res = await b.post(`/console/automations/${automation.id}/delete`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/automations?site=${t.site.id}&done=deleted`);
    expect(await t.store.automations.getAutomation(t.site.id, automation.id)).toBeNull();
    expect(textOf(await html(b, `/console/automations?site=${t.site.id}`))).toContain('No automations yet');
    expect((await b.get(`/console/automations/${automation.id}`)).status).toBe(404);
  });

  it('posts nothing without the CSRF token', async () => {
    const { t, b } = await setup();
    await html(b, `/console/automations/new?site=${t.site.id}`);
    const res = await b.post('/console/automations', builderForm(t.site.id), { csrf: 'wrong' });
    expect(res.status).toBe(403);
    expect(await t.store.automations.listAutomations(t.site.id)).toEqual([]);
  });
});

describe('the test send', () => {
  it("sends the first email of the steps, branches included, over the site's mail server", async () => {
    const { t, b } = await setup();
    const automation = await saveThroughBuilder(t, b);
    const noServer = await b.post(`/console/automations/${automation.id}/test`, { to: 'me@shop.example' });
    expect(noServer.status).toBe(400);
    expect(textOf(await noServer.text())).toContain('Not sent: smtpUrl: the site has no SMTP server set');

    const catcher = await startMailCatcher();
    catchers.push(catcher);
    await t.sites.update(t.site.id, { settings: { smtpUrl: catcher.url, mailFrom: 'Shop <shop@example.com>' } });
    const page = textOf(await html(b, `/console/automations/${automation.id}`));
    expect(page).toContain('Sends the first email of the saved steps, “Your cart, {{traits.firstName|friend}}”');
    const res = await b.post(`/console/automations/${automation.id}/test`, { to: 'me@shop.example' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/automations/${automation.id}?done=test-sent#test-send`);
    expect(catcher.mails).toHaveLength(1);
    expect(catcher.mails[0].to).toEqual(['me@shop.example']);
    expect(catcher.mails[0].raw).toMatch(/Subject: Your cart, friend/);

    const twoAddresses = await b.post(`/console/automations/${automation.id}/test`, { to: 'a@x.example, b@y.example' });
    expect(twoAddresses.status).toBe(400);
    expect(textOf(await twoAddresses.text())).toContain('must be one email address');
    expect(catcher.mails).toHaveLength(1);
  });
});

describe('runs', () => {
  it('are listed newest first, filtered by status and paged with the cursor', async () => {
    const { t, b } = await setup();
    await seedShop(t);
    const automation = await saveThroughBuilder(t, b);
    const ann = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
    const now = t.clock.now;
    const runs = Array.from({ length: 52 }, (_, i) => run(t, automation, ann, { startedAt: now - i * 60_000, status: i === 0 ? 'done' : 'active', dueAt: i === 0 ? null : now + 3_600_000 }));
    await t.store.automations.startRuns(runs);
    const first = await html(b, `/console/automations/${automation.id}/runs`);
    const text = textOf(first);
    for (const expected of ['Runs: Cart reminder', 'Ann Lee', 'Active', 'Done', 'Order Completed', 'Wait up to 1 hour for “Order Completed”']) expect(text).toContain(expected);
    expect(first).toContain(`href="/console/customers/${ann}"`);
    expect(first.match(/<tr>/g)!.length - 1).toBe(50);
    const next = /href="([^"]*cursor=[^"]*)" rel="next"/.exec(first)![1].replace(/&amp;/g, '&');
    const second = await html(b, next);
    expect(second.match(/<tr>/g)!.length - 1).toBe(2);
    expect(second).not.toContain('rel="next"');

    const done = await html(b, `/console/automations/${automation.id}/runs?status=done`);
    expect(done.match(/<tr>/g)!.length - 1).toBe(1);
    expect((await b.get(`/console/automations/${automation.id}/runs?status=sleeping`)).status).toBe(400);
  });

  it('show the dead letters with their error, and replay one once', async () => {
    const { t, b } = await setup();
    await seedShop(t);
    const automation = await saveThroughBuilder(t, b);
    const ann = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
    const since = t.clock.now - 86_400_000;
    const failed = run(t, automation, ann, {
      status: 'failed',
      position: '0/else/0',
      dueAt: null,
      waitingFor: null,
      attempts: 3,
      context: { $error: { position: '0/else/0', message: 'the mail server said 550 <no such user>', attempts: 4, since, at: t.clock.now } },
    });
    const active = run(t, automation, ann);
    await t.store.automations.startRuns([failed, active]);

    const list = textOf(await html(b, `/console/automations?site=${t.site.id}`));
    expect(list).toContain('1 active');
    expect(list).toContain('1 failed');

    const dead = await html(b, `/console/automations/${automation.id}/runs?status=failed`);
    const text = textOf(dead);
    for (const expected of ['Dead letters: Cart reminder', 'the mail server said 550 <no such user>', '0/else/0', 'Email “Your cart, {{traits.firstName|friend}}”', 'Ann Lee', '1 day ago', 'Replay']) {
      expect(text, expected).toContain(expected);
    }
    expect(dead).toContain('&lt;no such user&gt;');
    expect(dead).toMatch(/<td class="num">4<\/td>/);
    // Only the dead letter: the active run is not in it.
    expect(dead.match(/<tr>/g)!.length - 1).toBe(1);

    const res = await b.post(`/console/automations/${automation.id}/runs/${failed.id}/replay`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/automations/${automation.id}/runs?status=failed&done=replayed`);
    const replayed = (await t.store.automations.getRun(t.site.id, failed.id))!;
    expect(replayed).toMatchObject({ status: 'active', attempts: 0, position: '0/else/0' });
    expect(replayed.context.$error).toBeUndefined();
    const after = textOf(await html(b, res.headers.get('location')!));
    expect(after).toContain('The run is active again');
    expect(after).toContain('No dead letters');

    const again = await b.post(`/console/automations/${automation.id}/runs/${failed.id}/replay`);
    expect(again.headers.get('location')).toBe(`/console/automations/${automation.id}/runs?status=failed&done=not-failed`);
    expect(textOf(await html(b, again.headers.get('location')!))).toContain('That run was not replayed: it is no longer failed');
    expect((await b.post(`/console/automations/${automation.id}/runs/run_nope/replay`)).status).toBe(404);
  });

  it("of a person are on their 360-degree page, with a link to the automation's runs of theirs", async () => {
    const { t, b } = await setup();
    await seedShop(t);
    const automation = await saveThroughBuilder(t, b, { name: 'Cart <i>reminder</i>' });
    const ann = (await t.store.findProfileId(t.site.id, 'user', 'u-ann'))!;
    const bob = (await t.store.findProfileId(t.site.id, 'anonymous', 'bob'))!;
    const due = Date.UTC(2031, 0, 2, 3, 4);
    await t.store.automations.startRuns([
      run(t, automation, ann, { position: '0/else/1', waitingFor: null, dueAt: due }),
      run(t, automation, bob, { status: 'done', dueAt: null, waitingFor: null }),
    ]);
    const before = textOf(await html(b, `/console/customers/${bob}`));
    expect(before).toContain('Automations');

    const body = await html(b, `/console/customers/${ann}`);
    const section = textOf(body.slice(body.indexOf('id="automations"')));
    for (const expected of ['Cart <i>reminder</i>', 'Active', '0/else/1', 'Add the tag cart-reminded', '2031-01-02 03:04 UTC']) expect(section, expected).toContain(expected);
    expect(section).not.toContain('Done');
    expect(body).not.toContain('<i>reminder</i>');
    const link = `/console/automations/${automation.id}/runs?profile=${ann}`;
    expect(body).toContain(`href="${link}"`);
    const theirs = await html(b, link);
    expect(theirs.match(/<tr>/g)!.length - 1).toBe(1);
    expect(textOf(theirs)).toContain('Of one customer only.');

    expect(textOf(await html(b, `/console/customers/${(await t.store.findProfileId(t.site.id, 'anonymous', 'evil'))!}`))).toContain('In no automation yet.');
  });
});

describe('the report', () => {
  it('shows runs against the holdout and the verdict in words', async () => {
    const { t, b } = await setup();
    const automation = await saveThroughBuilder(t, b, { holdoutPercent: '0' });
    const runs = [
      run(t, automation, 'p1', { status: 'done' }),
      run(t, automation, 'p2', { status: 'failed', context: { $error: { position: '0/else/0', message: 'no', attempts: 1 } } }),
      run(t, automation, 'p3', { holdout: true, status: 'done' }),
    ];
    await t.store.automations.startRuns(runs);
    await t.store.automations.recordSend({ siteId: t.site.id, runId: runs[0].id, position: '0/else/0', automationId: automation.id, profileId: 'p1', kind: 'email', sentAt: t.clock.now });
    const page = textOf(await html(b, `/console/automations/${automation.id}/report`));
    expect(page).toContain('Entered 2 1');
    expect(page).toContain('Sent 2 —');
    expect(page).toContain('Delivered 1 —');
    expect(page).toContain('Not enough conversions to compare yet.');
    expect(page).toContain('Order Completed within 3 days');
    expect(await html(b, '/console/automations/aut_nope/report', 404)).toContain('no automation aut_nope');
  });
});
