import { describe, expect, it } from 'vitest';
import { MAX_STORED_BATCH_BYTES } from '@rapport/protocol';
import type { Store } from '../store/store.js';
import { DEFAULT_SITE_SETTINGS, type IngestEvent, type IngestProgram, type IngestRead, type Site } from '../store/types.js';
import { collect, type CollectInput } from './collect.js';
import { directIngester } from './ingester.js';
import { runProgram } from './pipeline.js';

const site: Site = {
  id: 'site_1',
  name: 'Shop',
  writeKey: 'wk',
  secret: 'secret',
  origins: [],
  settings: { ...DEFAULT_SITE_SETTINGS, requireUserHash: false },
  createdAt: 0,
};

/** A store that keeps what it is asked to ingest, to measure what a call would write. */
function recordingStore() {
  const events: IngestEvent[] = [];
  // An empty store: the pipeline finds nothing and stores every message; the test keeps them.
  const store = {
    async ingestTransaction<T>(_siteId: string, program: () => IngestProgram<T>) {
      const empty = (request: IngestRead) =>
        ({ owners: request.identities.map(() => null), existing: request.messages.map(() => false), profiles: [] });
      const { writes, result } = runProgram(program(), empty);
      events.push(...writes.events.map((w) => w.event));
      return result;
    },
  } as unknown as Store;
  return { store, events };
}

async function call(body: unknown) {
  const text = JSON.stringify(body);
  const { store, events } = recordingStore();
  const input: CollectInput = {
    site,
    trusted: false,
    body: JSON.parse(text),
    bodyBytes: Buffer.byteLength(text),
    endpoint: 'batch',
    clientIp: '203.0.113.9',
    userAgent: null,
    receivedAt: Date.UTC(2026, 9, 1, 12),
  };
  const outcome = await collect(directIngester(store), input);
  return { outcome, events, bodyBytes: input.bodyBytes };
}

/** What the store would write of the messages: their JSON, as `event.message`. */
const storedBytes = (events: IngestEvent[]) => events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e.message)), 0);

/**
 * The amplification attack: one shared context of 2,000 keys and 500 tiny messages, 68 KB in all.
 * `valueLength` 4 makes a context that fits in each message; 7, one that takes each past 32 KB.
 */
function amplifyingBatch(valueLength: number) {
  const context: Record<string, string> = {};
  for (let i = 0; i < 2000; i++) context[`k${String(i).padStart(4, '0')}`] = 'v'.repeat(valueLength);
  // Names long enough that both variants weigh about 68 KB.
  const [event, anonymousId] = valueLength < 7 ? ['Viewed', 'anon-1'] : ['x', 'a'];
  const batch = Array.from({ length: 500 }, (_, i) => ({ type: 'track', event, anonymousId, messageId: `m${i}` }));
  return { batch, context };
}

describe('batch-level context', () => {
  it('stores no more than the batch limit, however often a shared context would be copied', async () => {
    const { outcome, events, bodyBytes } = await call(amplifyingBatch(4));
    const stored = storedBytes(events);
    console.log(`shared-context batch: body ${bodyBytes} bytes, stored ${stored} bytes in ${events.length} messages`);
    expect(bodyBytes).toBeGreaterThan(66_000);
    expect(bodyBytes).toBeLessThan(70_000);
    expect(outcome.status).toBe(200);
    expect(stored).toBeLessThanOrEqual(MAX_STORED_BATCH_BYTES);
    if (outcome.status !== 200) return;
    const rejected = outcome.body.rejected ?? [];
    expect(rejected).toHaveLength(500 - events.length);
    expect(rejected[0]).toMatchObject({ code: 'too_large', field: 'context' });
    expect(rejected[0].message).toMatch(/shared context/);
    // What is stored carries the whole context: nothing of a stored message is lost.
    expect(Object.keys(events[0].message.context as object)).toHaveLength(2000);
  });

  it('rejects every message that a shared context takes past 32 KB, naming context', async () => {
    const { outcome, events, bodyBytes } = await call(amplifyingBatch(7));
    console.log(`oversized shared context: body ${bodyBytes} bytes, stored ${storedBytes(events)} bytes`);
    expect(events).toHaveLength(0);
    expect(outcome.status).toBe(400);
    const details = outcome.body as { details: Array<Record<string, unknown>> };
    expect(details.details).toHaveLength(500);
    expect(details.details[0]).toMatchObject({ code: 'too_large', field: 'context' });
  });

  it('applies a small shared context to every message of a full batch, the message winning', async () => {
    const batch = Array.from({ length: 500 }, (_, i) => ({
      type: 'track',
      event: 'Viewed',
      anonymousId: 'a',
      context: i === 0 ? { locale: 'de-DE' } : undefined,
      properties: { i },
    }));
    const context = { locale: 'fr-FR', library: { name: 'analytics-python', version: '2.3.0' }, userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' };
    const { outcome, events, bodyBytes } = await call({ batch, context });
    expect(outcome).toMatchObject({ status: 200, body: { success: true } });
    expect(events).toHaveLength(500);
    expect(events[0].message.context).toMatchObject({ locale: 'de-DE', library: { name: 'analytics-python' } });
    expect(events[499].message.context).toMatchObject({ locale: 'fr-FR', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' });
    expect(storedBytes(events)).toBeLessThanOrEqual(MAX_STORED_BATCH_BYTES);
    expect(storedBytes(events)).toBeGreaterThan(bodyBytes);
  });

  it('refuses a batch whose shared context is nested too deep, naming it', async () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { deep };
    const { outcome, events } = await call({ batch: [{ type: 'track', event: 'x', anonymousId: 'a' }], context: { deep } });
    expect(outcome.status).toBe(400);
    expect(outcome.body).toMatchObject({ error: expect.stringMatching(/context is nested deeper/) });
    expect(events).toHaveLength(0);
  });

  it('reports what was dropped of the shared context once, not per message', async () => {
    const batch = Array.from({ length: 10 }, (_, i) => ({ type: 'track', event: 'x', anonymousId: 'a', messageId: `w${i}` }));
    const { outcome, events } = await call({ batch, context: { page: 'oops', locale: 'fr-FR' } });
    expect(events).toHaveLength(10);
    expect(outcome.status === 200 && outcome.body.warnings).toEqual([
      { index: 0, code: 'field_dropped', field: 'context.page', message: 'context.page is not an object and was dropped' },
    ]);
  });
});
