// @rapport/node against a real Rapport server (SQLite, or PostgreSQL in the `postgres` project):
// server-side decisions, the Segment wire with flush(), and the first-party proxy with the
// visitor's address signed by the site secret. What Rapport stored is read through its admin API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROXY_HEADER, proxySignedText } from '@rapport/protocol';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/test-support/server.js';
import { createRapport, rapportProxy } from './index.js';

let rapport: TestServer;
let shop: Server;
let shopUrl = '';
let site: { id: string; writeKey: string; secret: string };
let offerId = '';
/** What the shop's server says the visitor's address is (as its load balancer would tell it). */
let visitorAddress = '203.0.113.77';

const events = async (query: string) => (await rapport.api('GET', `/api/events?site=${site.id}&${query}`)).body.events as Array<Record<string, any>>;

beforeAll(async () => {
  // A small burst per address, so the test can exhaust one visitor's; the direct calls of the
  // other tests (from 127.0.0.1) stay well within it.
  rapport = await startTestServer({ rateLimitPerIp: { rate: 1, burst: 20 } });
  shop = createServer(async (req, res) => {
    if (await proxy.node(req, res, visitorAddress)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  const created = await rapport.createSite({ name: 'Node shop', origins: [shopUrl] });
  site = { id: created.id, writeKey: created.writeKey, secret: created.secret };
  proxy = rapportProxy({ host: rapport.url, writeKey: site.writeKey, secret: site.secret });
  offerId = await rapport.createOffer(site.id, 'home-hero', { title: 'Thailand for families', link: '/tour' });
});
let proxy: ReturnType<typeof rapportProxy>;

afterAll(async () => {
  await new Promise((resolve) => shop?.close(resolve));
  await rapport?.stop();
});

describe('@rapport/node against Rapport', () => {
  it('decides the slots of a page being rendered, with the write key and with the secret', async () => {
    const open = createRapport({ host: rapport.url, writeKey: site.writeKey, timeout: 2_000 });
    const answer = await open.decide({ anonymousId: 'a-ssr-1', slots: ['home-hero', 'nothing-here'] });
    expect(answer.slots['home-hero']).toMatchObject({ offerId, variant: 'offer', content: { title: 'Thailand for families' } });
    expect(answer.slots['nothing-here']).toBeNull();
    const trusted = createRapport({ host: rapport.url, writeKey: site.writeKey, secret: site.secret, timeout: 2_000 });
    const forUser = await trusted.decide({ userId: 'u-ssr', slots: ['home-hero'] });
    expect(forUser.warnings).toBeUndefined();
    expect(forUser.slots['home-hero']).toMatchObject({ offerId });
  });

  it('delivers track and identify with the secret; flush() resolves once Rapport stored them', async () => {
    const client = createRapport({ host: rapport.url, writeKey: site.writeKey, secret: site.secret, flushInterval: 0 });
    client.identify({ userId: 'u-node', anonymousId: 'a-node', traits: { email: 'node@example.com' } });
    client.track({ userId: 'u-node', event: 'Order Completed', properties: { orderId: 'o-1', revenue: 120 }, context: { ip: '198.51.100.23' } });
    expect(await client.flush()).toEqual({ sent: 2, rejected: 0, failed: 0 });
    const stored = await events('userId=u-node');
    expect(stored.map((e) => e.type).sort()).toEqual(['identify', 'track']);
    // A trusted call's context.ip is believed (and truncated, as the site stores IPs).
    expect(stored.find((e) => e.type === 'track')!.enrichment.ip).toBe('198.51.100.0');
  });

  it('signs click links that Rapport follows and records; a changed link is refused', async () => {
    const client = createRapport({ host: rapport.url, writeKey: site.writeKey, secret: site.secret });
    const link = client.redirectUrl({ to: 'https://shop.example/tours', userId: 'u-link', event: 'Newsletter Clicked', properties: { issue: 12 } });
    const res = await fetch(link, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example/tours');
    const [event] = await events('userId=u-link');
    expect(event).toMatchObject({ event: 'Newsletter Clicked', properties: { issue: 12, url: 'https://shop.example/tours' } });
    const tampered = link.replace('shop.example', 'evil.example');
    const refused = await fetch(tampered, { redirect: 'manual' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('location')).toBeNull();
  });
});

describe('rapportProxy', () => {
  const send = (anonymousId: string, headers: Record<string, string> = {}) =>
    fetch(`${shopUrl}/rp/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: shopUrl, cookie: 'shop_session=secret-of-the-shop', ...headers },
      body: JSON.stringify({ writeKey: site.writeKey, batch: [{ type: 'track', event: 'Proxied', anonymousId, messageId: `m-${anonymousId}` }] }),
    });

  it("forwards the SDK's calls, and Rapport sees the visitor's address, not the shop's", async () => {
    visitorAddress = '203.0.113.77';
    const res = await send('a-proxy-1');
    expect(res.status).toBe(200);
    const [event] = await events('anonymousId=a-proxy-1');
    expect(event.enrichment.ip).toBe('203.0.113.0');
    const decided = await fetch(`${shopUrl}/rp/v1/decide`, {
      method: 'POST',
      headers: { origin: shopUrl },
      body: JSON.stringify({ writeKey: site.writeKey, anonymousId: 'a-proxy-1', slots: ['home-hero'] }),
    });
    expect(((await decided.json()) as any).slots['home-hero']).toMatchObject({ offerId });
  });

  it('counts the per-IP limit per visitor: one busy visitor behind the proxy does not block the others', async () => {
    visitorAddress = '192.0.2.10';
    const statuses = [];
    for (let i = 0; i < 21; i++) statuses.push((await send(`a-busy-${i}`)).status);
    expect(statuses.slice(0, 19)).toEqual(Array(19).fill(200));
    expect(statuses.at(-1)).toBe(429);
    visitorAddress = '192.0.2.11';
    expect((await send('a-calm')).status).toBe(200);
  });

  it('forwards nothing else: no other path, not the shop cookies', async () => {
    expect((await fetch(`${shopUrl}/rp/api/profiles?site=${site.id}`)).status).toBe(404);
    expect((await fetch(`${shopUrl}/rp/../api/sites`)).status).toBe(404);
    expect((await fetch(`${shopUrl}/rp/console`)).status).toBe(404);
  });

  it('is believed only with a signature that holds: a forged, stale or foreign header changes nothing', async () => {
    const t = Math.floor(Date.now() / 1000);
    const signed = (ip: string, at: number, key: string, secret: string) =>
      `ip=${ip}; t=${at}; k=${key}; s=${createHmac('sha256', secret).update(proxySignedText(ip, at, key)).digest('base64url')}`;
    const other = await rapport.createSite({ name: 'Other shop', origins: [] });
    const attempts: Record<string, string> = {
      forged: `ip=198.51.100.1; t=${t}; k=${site.writeKey}; s=${'A'.repeat(43)}`,
      stale: signed('198.51.100.2', t - 3600, site.writeKey, site.secret),
      'wrong secret': signed('198.51.100.3', t, site.writeKey, other.secret),
      // Signed by another site for its own key: proves nothing for this site's visitors.
      foreign: signed('198.51.100.4', t, other.writeKey, other.secret),
      tampered: signed('198.51.100.5', t, site.writeKey, site.secret).replace('198.51.100.5', '198.51.100.6'),
    };
    for (const [name, header] of Object.entries(attempts)) {
      const res = await fetch(`${rapport.url}/v1/batch`, {
        method: 'POST',
        headers: { [PROXY_HEADER]: header },
        body: JSON.stringify({ writeKey: site.writeKey, batch: [{ type: 'track', event: 'Direct', anonymousId: `a-${name.replace(' ', '-')}` }] }),
      });
      expect(res.status, name).toBe(200);
      const [event] = await events(`anonymousId=a-${name.replace(' ', '-')}`);
      expect(event.enrichment.ip, name).toBe('127.0.0.0');
    }
  });
});
