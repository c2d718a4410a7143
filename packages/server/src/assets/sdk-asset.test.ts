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
