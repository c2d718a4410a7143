import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SELF_SERVICE } from '../../store/types.js';
import { ConsoleBrowser, consoleTestApp, ORIGIN } from '../test-support/console-client.js';

// The self-service card of a site's console page: it shows the settings, saves them as the API
// validates them, and offers the site's segments to show.

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

async function setup() {
  const t = await consoleTestApp();
  apps.push(t);
  const b = new ConsoleBrowser(t.app);
  await b.login();
  const segment = async (name: string) =>
    (
      await (
        await t.app.request('/api/segments', {
          method: 'POST',
          headers: { authorization: 'Bearer console-test-token', 'content-type': 'application/json' },
          body: JSON.stringify({ site: t.site.id, name, rule: { field: 'traits.plan', op: 'exists' } }),
        })
      ).json()
    ).id as string;
  return { t, b, segment };
}

/** Posts the card's form as a browser does, repeated checkboxes included. */
function save(b: ConsoleBrowser, siteId: string, fields: Array<[string, string]>) {
  const form = new URLSearchParams([...fields, ['_csrf', b.csrf!]]);
  return b.request(`/console/sites/${siteId}/self-service`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
    body: form.toString(),
  });
}

const textOf = (html: string) => html.replace(/<[^>]*>/g, ' ').replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('the console: a site\'s self-service settings', () => {
  it('shows the defaults and the segments to choose from, and saves a change', async () => {
    const { t, b, segment } = await setup();
    const gold = await segment('Gold members');
    const churn = await segment('Likely to churn');
    const page = await (await b.get(`/console/sites/${t.site.id}`)).text();
    expect(page).toContain('Customer self-service page');
    expect(page).toContain(`>${DEFAULT_SELF_SERVICE.editableTraits.join('\n')}</textarea>`);
    expect(page).toContain(`<input type="checkbox" name="shownSegments" value="${gold}"/>`);
    expect(page).toContain(`value="${churn}"`);

    const res = await save(b, t.site.id, [
      ['editableTraits', 'firstName\nlastName, phone'],
      ['shownSegments', gold],
      ['cssUrl', 'https://cdn.shop.example/me.css'],
      ['logoUrl', ''],
    ]);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('done=selfService');
    expect(t.sites.get(t.site.id)!.settings.selfService).toEqual({
      editableTraits: ['firstName', 'lastName', 'phone'],
      shownSegments: [gold],
      cssUrl: 'https://cdn.shop.example/me.css',
      logoUrl: null,
    });
    const after = await (await b.get(`/console/sites/${t.site.id}`)).text();
    expect(after).toContain(`<input type="checkbox" name="shownSegments" value="${gold}" checked=""/>`);
    expect(after).toContain('value="https://cdn.shop.example/me.css"');
  });

  it.each([
    [[['cssUrl', 'http://cdn.shop.example/me.css']], 'selfService.cssUrl: must be an https:// URL'],
    [[['logoUrl', 'javascript:alert(1)']], 'selfService.logoUrl: must be an https:// URL'],
    [[['editableTraits', 'firstName\nemail']], 'selfService.editableTraits[1]: "email" cannot be edited by customers'],
    [[['shownSegments', 'seg_nope']], 'selfService.shownSegments[0]: no segment seg_nope on this site'],
  ] as Array<[Array<[string, string]>, string]>)('refuses %j with the message naming the field, and keeps what was saved', async (fields, message) => {
    const { t, b } = await setup();
    const res = await save(b, t.site.id, fields);
    expect(res.status).toBe(400);
    expect(textOf(await res.text())).toContain(`Not saved: ${message}`);
    expect(t.sites.get(t.site.id)!.settings.selfService).toEqual(DEFAULT_SELF_SERVICE);
  });
});
