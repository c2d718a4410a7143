import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { validateMessage } from './validate.js';

// The SDK pins the exact JSON it sends in this fixture; the server must accept all of it as is.
const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../protocol/fixtures/sdk-wire.json', import.meta.url)), 'utf8'),
) as { batch: unknown[]; writeKey: string; sentAt: string };

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

describe('the SDK wire fixture', () => {
  it('validates every message without a warning', () => {
    expect(fixture.batch.length).toBeGreaterThan(1);
    fixture.batch.forEach((message, i) => {
      const result = validateMessage(structuredClone(message), i);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect(result.ok && result.warnings).toEqual([]);
    });
  });

  it('is stored whole through the collect API, as a beacon would send it', async () => {
    const body = JSON.stringify({ ...fixture, writeKey: t.site.writeKey });
    const res = await t.send('/v1/batch', body, { raw: true, headers: { authorization: '', 'content-type': 'text/plain;charset=UTF-8' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    const events = (await t.api('GET', `/api/events?site=${t.site.id}`)).body.events;
    expect(events).toHaveLength(fixture.batch.length);
    const page = events.find((e: { type: string }) => e.type === 'page');
    expect(page.enrichment.referral).toMatchObject({ medium: 'paid', source: 'Google', term: 'family holiday thailand' });
  });
});
