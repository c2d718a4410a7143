import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-sdk-'));
let t: TestServer;
let missing: TestServer;
beforeAll(async () => {
  writeFileSync(path.join(dir, 'sdk.js'), '(()=>{window.rapport=1})();\n//# sourceMappingURL=sdk.js.map\n');
  writeFileSync(path.join(dir, 'sdk.js.map'), '{"version":3,"sources":[],"mappings":""}');
  writeFileSync(path.join(dir, 'sdk-cards.js'), 'const e=()=>null;export{e as renderCards};\n//# sourceMappingURL=sdk-cards.js.map\n');
  writeFileSync(path.join(dir, 'sdk-cards.js.map'), '{"version":3,"sources":[],"mappings":""}');
  t = await startTestServer({ sdkDir: dir });
  missing = await startTestServer({ sdkDir: path.join(dir, 'nothing-here') });
});
afterAll(async () => {
  await t.stop();
  await missing.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /sdk.js', () => {
  it('serves the script with an ETag and cache headers, and 304 on revalidation', async () => {
    const res = await fetch(`${t.url}/sdk.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect(await res.text()).toContain('window.rapport');
    const again = await fetch(`${t.url}/sdk.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves the same bytes again from its cache', async () => {
    const first = await (await fetch(`${t.url}/sdk.js`)).text();
    const second = await (await fetch(`${t.url}/sdk.js`)).text();
    expect(second).toBe(first);
    expect(second).toContain('window.rapport');
  });

  it('serves the source map beside it', async () => {
    const res = await fetch(`${t.url}/sdk.js.map`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: 3 });
  });

  it('says how to build when the SDK is not built', async () => {
    const res = await fetch(`${missing.url}/sdk.js`);
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatch(/npm run build/);
  });
});

describe('GET /sdk-cards.js', () => {
  it('serves the cards module like /sdk.js, with the CORS header a cross-origin module import needs', async () => {
    const res = await fetch(`${t.url}/sdk-cards.js`, { headers: { origin: 'https://shop.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.text()).toContain('renderCards');
    const etag = res.headers.get('etag')!;
    expect(etag).not.toBe((await fetch(`${t.url}/sdk.js`)).headers.get('etag'));
    expect((await fetch(`${t.url}/sdk-cards.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const map = await fetch(`${t.url}/sdk-cards.js.map`);
    expect(map.status).toBe(200);
    expect(map.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await map.json()).toMatchObject({ version: 3 });
  });

  it('says how to build when it is not built', async () => {
    const res = await fetch(`${missing.url}/sdk-cards.js`);
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatch(/npm run build/);
  });
});
