// The two SSR examples against a real Rapport: the page comes with the hero rendered and its
// decision for the SDK, a first-time visitor gets the SDK's cookie, and /rp/ reaches Rapport.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server';
// @ts-expect-error: plain .mjs examples without type declarations.
import { createApp } from './hono.mjs';
// @ts-expect-error: plain .mjs examples without type declarations.
import { createSite } from './node-http.mjs';

let rapport: TestServer;
const servers: Array<Server | ServerType> = [];
let offerId = '';
const urls: Record<string, string> = {};

const listen = async (server: Server | ServerType) => {
  servers.push(server);
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  rapport = await startTestServer();
  const options = { rapportUrl: rapport.url, writeKey: rapport.site.writeKey, secret: rapport.site.secret };
  urls['node http'] = await listen(createServer(createSite(options)).listen(0, '127.0.0.1'));
  urls.hono = await listen(serve({ fetch: createApp(options).fetch, port: 0, hostname: '127.0.0.1' }));
  offerId = await rapport.createOffer(rapport.site.id, 'home-hero', { title: 'Thailand for families', link: '/tour' });
  await rapport.api('PATCH', `/api/sites/${rapport.site.id}`, { origins: Object.values(urls) });
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await rapport?.stop();
});

describe.each(['node http', 'hono'])('the %s example', (name) => {
  it('renders the decided hero with its decision, and gives a new visitor the cookie', async () => {
    const res = await fetch(urls[name] + '/');
    const html = await res.text();
    expect(html).toContain(`data-rapport-decision="{&#34;offerId&#34;:&#34;${offerId}&#34;,&#34;variant&#34;:&#34;offer&#34;}"`);
    expect(html).toContain('<div class="rapport-offer__title">Thailand for families</div>');
    expect(res.headers.get('set-cookie')).toMatch(/^rapport_id=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; SameSite=Lax/);
    const again = await fetch(urls[name] + '/', { headers: { cookie: 'rapport_id=a-returning' } });
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('serves the SDK and takes its calls at /rp/', async () => {
    const sdk = await fetch(urls[name] + '/rp/sdk.js');
    expect(sdk.status).toBe(200);
    expect(sdk.headers.get('content-type')).toMatch(/javascript/);
    const batch = await fetch(urls[name] + '/rp/v1/batch', {
      method: 'POST',
      headers: { origin: urls[name] },
      body: JSON.stringify({ writeKey: rapport.site.writeKey, batch: [{ type: 'track', event: 'Via ' + name, anonymousId: 'a-ex' }] }),
    });
    expect(batch.status).toBe(200);
    const { body } = await rapport.api('GET', `/api/events?site=${rapport.site.id}&anonymousId=a-ex`);
    expect(body.events.map((e: { event: string }) => e.event)).toContain('Via ' + name);
  });
});
