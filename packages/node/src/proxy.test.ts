import { createHmac } from 'node:crypto';
import { MAX_BATCH_BYTES, PROXY_HEADER, proxySignedText } from '@rapport/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { rapportProxy } from './proxy.js';
import { sendJson, startStub } from './test-stub.js';

const stubs: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});
const upstream = async () => {
  const s = await startStub((req, res) => {
    if (req.url.startsWith('/v1/r')) {
      res.writeHead(302, { location: 'https://shop.example/tour' });
      return res.end();
    }
    sendJson(res, 200, { ok: true }, { 'cache-control': 'no-store', 'set-cookie': 'rapport_internal=1', 'x-powered-by': 'x' });
  });
  stubs.push(s);
  return s;
};

describe('rapportProxy (fetch-style)', () => {
  it('forwards /v1/* with the visitor address signed, and without the site cookies', async () => {
    const s = await upstream();
    const proxy = rapportProxy({ host: s.url, writeKey: 'wk_1', secret: 'sk_1' });
    const res = await proxy.fetch(
      new Request('https://shop.example/rp/v1/batch?x=1', {
        method: 'POST',
        headers: { cookie: 'session=shop-secret', origin: 'https://shop.example', 'content-type': 'text/plain', 'x-forwarded-for': '6.6.6.6' },
        body: '{"batch":[]}',
      }),
      '203.0.113.9',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
    const [got] = s.received;
    expect(got).toMatchObject({ method: 'POST', url: '/v1/batch?x=1', body: '{"batch":[]}' });
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers['x-forwarded-for']).toBeUndefined();
    expect(got.headers.origin).toBe('https://shop.example');
    const fields = Object.fromEntries(String(got.headers[PROXY_HEADER]).split('; ').map((f) => f.split('=', 2) as [string, string]));
    expect(fields).toMatchObject({ ip: '203.0.113.9', k: 'wk_1' });
    expect(Math.abs(Number(fields.t) - Date.now() / 1000)).toBeLessThan(5);
    const expected = createHmac('sha256', 'sk_1').update(proxySignedText('203.0.113.9', Number(fields.t), 'wk_1')).digest('base64url');
    expect(String(got.headers[PROXY_HEADER])).toBe(`ip=203.0.113.9; t=${fields.t}; k=wk_1; s=${expected}`);
  });

  it('forwards the SDK and the product cards module it loads, and no other file', async () => {
    const s = await upstream();
    const proxy = rapportProxy({ host: s.url, writeKey: 'wk', secret: 'sk' });
    for (const path of ['/rp/sdk.js', '/rp/sdk.js.map', '/rp/sdk-cards.js', '/rp/sdk-cards.js.map']) {
      expect((await proxy.fetch(new Request(`https://shop.example${path}`))).status, path).toBe(200);
    }
    expect((await proxy.fetch(new Request('https://shop.example/rp/sdk-other.js'))).status).toBe(404);
    expect(s.received.map((r) => r.url)).toEqual(['/sdk.js', '/sdk.js.map', '/sdk-cards.js', '/sdk-cards.js.map']);
  });

  it('passes a redirect on to the browser instead of following it', async () => {
    const s = await upstream();
    const res = await rapportProxy({ host: s.url, writeKey: 'wk', secret: 'sk' }).fetch(new Request('https://shop.example/rp/v1/r?k=wk&to=x&s=y'));
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example/tour');
  });

  it('answers itself for paths it does not forward, bodies over the limit and an unreachable Rapport', async () => {
    const s = await upstream();
    const proxy = rapportProxy({ host: s.url, path: '/collect/', writeKey: 'wk', secret: 'sk' });
    for (const path of ['/collect/api/sites', '/collect/console', '/collect/v1/a/b', '/rp/v1/batch', '/collect', '/collect/v1/%2e%2e']) {
      expect((await proxy.fetch(new Request(`https://shop.example${path}`))).status, path).toBe(404);
    }
    const big = await proxy.fetch(new Request('https://shop.example/collect/v1/batch', { method: 'POST', body: 'x'.repeat(MAX_BATCH_BYTES + 1) }));
    expect(big.status).toBe(413);
    expect(s.received).toHaveLength(0);
    const down = rapportProxy({ host: 'http://127.0.0.1:1', writeKey: 'wk', secret: 'sk' });
    const res = await down.fetch(new Request('https://shop.example/rp/v1/batch', { method: 'POST', body: '{}' }));
    expect(res.status).toBe(502);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('needs the secret', () => {
    expect(() => rapportProxy({ host: 'http://x', writeKey: 'wk', secret: '' })).toThrow(/secret/);
  });
});
