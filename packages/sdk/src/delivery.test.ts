import { MAX_MESSAGE_BYTES } from '@rapport/protocol';
import type { BatchRequest } from '@rapport/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  FLUSH_AT,
  FLUSH_INTERVAL_MS,
  MAX_ATTEMPTS,
  MAX_QUEUE,
  MAX_REQUEST_BYTES,
  RETRY_AFTER_MAX_MS,
  backoff,
  isFinal,
  retryAfter,
} from './policy';
import { HOST, WRITE_KEY, batchesOf, json, mockFetch, sentOf, settle, start } from './test-helpers';
import type { DeliveryError } from './types';

const core = (options = {}) => start(options, []);
const queued = (): unknown[] => JSON.parse(localStorage.getItem('rapport_q_' + WRITE_KEY) || '[]');
const networkDown = () => mockFetch(() => Promise.reject(new TypeError('Failed to fetch')));

describe('batching', () => {
  it('sends what waits one interval after the first message, as one text/plain keepalive POST', async () => {
    const fetch = mockFetch();
    const rapport = core();
    rapport.track('A');
    await settle(FLUSH_INTERVAL_MS / 2);
    rapport.track('B');
    rapport.track('C');
    await settle(FLUSH_INTERVAL_MS / 2 - 1);
    expect(fetch).not.toHaveBeenCalled();
    await settle(1);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe(HOST + '/v1/batch');
    expect(init).toMatchObject({ method: 'POST', keepalive: true });
    // A string body: the browser sends it as text/plain, which needs no CORS preflight.
    expect(typeof init.body).toBe('string');
    expect(init.headers).toBeUndefined();
    const body: BatchRequest = JSON.parse(init.body as string);
    expect(body.writeKey).toBe(WRITE_KEY);
    expect(body.sentAt).toBe(new Date().toISOString());
    expect(body.batch.map((m) => (m as { event: string }).event)).toEqual(['A', 'B', 'C']);
    expect(queued()).toEqual([]);
  });

  it(`sends as soon as ${FLUSH_AT} messages wait`, async () => {
    const fetch = mockFetch();
    const rapport = core();
    for (let i = 0; i < FLUSH_AT; i++) rapport.track('E' + i);
    await settle(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(batchesOf(fetch)[0].batch).toHaveLength(FLUSH_AT);
  });

  it('splits what waits into requests under the 64 KiB keepalive and beacon limit', async () => {
    const fetch = mockFetch();
    const rapport = core();
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 15; i++) rapport.track('Big', { big });
    await settle(FLUSH_INTERVAL_MS);
    // One request at a time: each next one starts when the one before is answered.
    await settle(10);
    const bodies = fetch.mock.calls.map(([, init]) => init.body as string);
    expect(bodies.length).toBeGreaterThan(2);
    for (const body of bodies) expect(new Blob([body]).size).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(sentOf(fetch)).toHaveLength(15);
  });

  it('refuses a message over 32 KB and tells onError', async () => {
    const fetch = mockFetch();
    const onError = vi.fn();
    const rapport = core({ onError });
    rapport.track('Huge', { blob: 'x'.repeat(MAX_MESSAGE_BYTES) });
    rapport.track('Fine');
    await settle(FLUSH_INTERVAL_MS);
    expect(sentOf(fetch).map((m) => (m as { event: string }).event)).toEqual(['Fine']);
    expect(onError.mock.calls[0][0]).toMatchObject({ status: 413 });
  });

  it('writes the queue to storage once, after the task that queued the messages', async () => {
    const rapport = core();
    for (let i = 0; i < FLUSH_AT - 1; i++) rapport.track('E' + i);
    expect(queued()).toEqual([]);
    await settle();
    expect(queued()).toHaveLength(FLUSH_AT - 1);
  });

  it('copies properties: later changes by the page do not alter what was recorded', async () => {
    const fetch = mockFetch();
    const properties = { step: 1 };
    core().track('A', properties);
    properties.step = 2;
    await settle(FLUSH_INTERVAL_MS);
    expect(sentOf(fetch)[0]).toMatchObject({ properties: { step: 1 } });
  });

  it('flush() sends at once and resolves when the request is done', async () => {
    const fetch = mockFetch();
    const rapport = core();
    rapport.track('A');
    await rapport.flush();
    expect(fetch).toHaveBeenCalledTimes(1);
    await expect(rapport.flush()).resolves.toBeUndefined();
  });

  it('flush() also sends what was queued while a request was in flight', async () => {
    let release!: () => void;
    let calls = 0;
    const fetch = mockFetch(async () => {
      if (++calls === 1) await new Promise<void>((r) => (release = r));
      return json({ success: true });
    });
    const rapport = core();
    rapport.track('A');
    const first = rapport.flush();
    await settle();
    rapport.track('B');
    const second = rapport.flush();
    release();
    await Promise.all([first, second]);
    const events = batchesOf(fetch).flatMap((b) => b.batch.map((m) => (m as { event: string }).event));
    expect(events).toEqual(['A', 'B']);
  });
});

describe('answers of the server', () => {
  it.each([400, 401, 403, 413, 422])('drops the batch on %i, tells onError, never retries', async (status) => {
    const fetch = mockFetch(() => json({ error: 'no', details: ['x'] }, status));
    const onError = vi.fn();
    const rapport = core({ onError });
    rapport.track('A');
    await settle(FLUSH_INTERVAL_MS);
    expect(onError).toHaveBeenCalledTimes(1);
    const error: DeliveryError = onError.mock.calls[0][0];
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ status, details: { error: 'no' } });
    expect(queued()).toEqual([]);
    await settle(10 * BACKOFF_MAX_MS);
    expect(fetch).toHaveBeenCalledTimes(1);
    // The queue moves on.
    rapport.track('B');
    await settle(FLUSH_INTERVAL_MS);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('reports messages the server rejected in a 200', async () => {
    const rejected = [{ index: 0, code: 'invalid', field: 'event', message: 'too long' }];
    mockFetch(() => json({ success: true, rejected }));
    const onError = vi.fn();
    core({ onError }).track('A');
    await settle(FLUSH_INTERVAL_MS);
    expect(onError.mock.calls[0][0]).toMatchObject({ status: 200, details: { rejected } });
  });

  it('waits as long as Retry-After says on 429 (seconds)', async () => {
    let calls = 0;
    const fetch = mockFetch(() =>
      ++calls == 1 ? json({ error: 'slow down' }, 429, { 'Retry-After': '30' }) : json({ success: true }),
    );
    core().track('A');
    await settle(FLUSH_INTERVAL_MS);
    expect(fetch).toHaveBeenCalledTimes(1);
    await settle(29_999);
    expect(fetch).toHaveBeenCalledTimes(1);
    await settle(1);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(sentOf(fetch).map((m) => m.messageId)).toEqual([sentOf(fetch)[0].messageId, sentOf(fetch)[0].messageId]);
    expect(queued()).toEqual([]);
  });

  it('waits as long as Retry-After says on 429 (HTTP date)', async () => {
    let calls = 0;
    const fetch = mockFetch(() =>
      ++calls == 1
        ? json({}, 429, { 'Retry-After': new Date(Date.now() + 5_000).toUTCString() })
        : json({ success: true }),
    );
    core().track('A');
    await settle(FLUSH_INTERVAL_MS);
    await settle(3_999);
    expect(fetch).toHaveBeenCalledTimes(1);
    await settle(1_000);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('retries 5xx with exponential backoff and full jitter, then gives the batch up', async () => {
    // Full jitter draws the wait from [0, cap); at 0.5 it is half the cap: 500, 1000, 2000, ...
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const fetch = mockFetch(() => json({ error: 'down' }, 503));
    const onError = vi.fn();
    core({ onError }).track('A');
    await settle(FLUSH_INTERVAL_MS);
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)) / 2;
      await settle(wait - 1);
      expect(fetch).toHaveBeenCalledTimes(attempt);
      await settle(1);
      expect(fetch).toHaveBeenCalledTimes(attempt + 1);
    }
    // The tenth 5xx in a row drops the batch: one message the server cannot take must not block
    // the queue for ever.
    expect(queued()).toEqual([]);
    expect(onError.mock.calls.at(-1)![0]).toMatchObject({ status: 503 });
    await settle(10 * BACKOFF_MAX_MS);
    expect(fetch).toHaveBeenCalledTimes(MAX_ATTEMPTS);
  });

  it('counts only server errors toward giving a batch up, not network failures or 429s before them', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    let calls = 0;
    const fetch = mockFetch(() =>
      ++calls <= MAX_ATTEMPTS
        ? Promise.reject(new TypeError('Failed to fetch'))
        : calls == MAX_ATTEMPTS + 1
          ? json({}, 429, { 'Retry-After': '1' })
          : json({ error: 'down' }, 503),
    );
    core().track('A');
    while (fetch.mock.calls.length < MAX_ATTEMPTS + 2) await settle(1000);
    await settle();
    // Ten failures so far, one of them from the server: the batch is kept.
    expect(queued()).toHaveLength(1);
    await settle(20 * BACKOFF_MAX_MS);
    expect(fetch).toHaveBeenCalledTimes(2 * MAX_ATTEMPTS + 1);
    expect(queued()).toEqual([]);
  });

  it('keeps retrying through network failures, keeping every message', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const fetch = networkDown();
    const onError = vi.fn();
    core({ onError }).track('A');
    await settle(FLUSH_INTERVAL_MS);
    await settle(20 * BACKOFF_MAX_MS);
    expect(fetch.mock.calls.length).toBeGreaterThan(MAX_ATTEMPTS);
    expect(queued()).toHaveLength(1);
    expect(onError.mock.calls[0][0]).toBeInstanceOf(TypeError);
    mockFetch();
    await settle(BACKOFF_MAX_MS);
    expect(queued()).toEqual([]);
  });
});

describe('persistence', () => {
  it('keeps unsent messages in localStorage and sends them on the next page', async () => {
    networkDown();
    const first = core();
    first.track('Offline 1');
    first.track('Offline 2');
    await settle(FLUSH_INTERVAL_MS);
    expect(queued()).toHaveLength(2);

    const fetch = mockFetch();
    const next = core();
    next.track('Online');
    await settle(FLUSH_INTERVAL_MS);
    // The first page's instance retries too here (in a browser it is gone); the server stores
    // each messageId once.
    const events = new Map(sentOf(fetch).map((m) => [m.messageId, (m as { event: string }).event]));
    expect([...events.values()]).toEqual(['Offline 1', 'Offline 2', 'Online']);
    expect(sentOf(fetch)[0].anonymousId).toBe(next.anonymousId());
  });

  it(`keeps at most ${MAX_QUEUE}, dropping the oldest and counting them in context.dropped`, async () => {
    networkDown();
    const rapport = core();
    for (let i = 0; i < MAX_QUEUE + 10; i++) rapport.track('E' + i);
    // The queue is written once, after the task that filled it.
    await settle();
    const kept = queued() as { event: string; context: { dropped?: number } }[];
    expect(kept).toHaveLength(MAX_QUEUE);
    expect(kept[0].event).toBe('E10');
    // Each message over the cap carries the count of what it pushed out.
    expect(kept.map((m) => m.context.dropped || 0).reduce((a, b) => a + b)).toBe(10);

    // Dropped carriers pass their count on.
    for (let i = 0; i < MAX_QUEUE; i++) rapport.track('F' + i);
    await settle();
    const later = queued() as { context: { dropped?: number } }[];
    expect(later.map((m) => m.context.dropped || 0).reduce((a, b) => a + b)).toBe(MAX_QUEUE + 10);
  });

  it('ignores a queue in storage that is not one', async () => {
    localStorage.setItem('rapport_q_' + WRITE_KEY, '{"not":"a queue"');
    const fetch = mockFetch();
    core().track('A');
    await settle(FLUSH_INTERVAL_MS);
    expect(sentOf(fetch)).toHaveLength(1);
  });
});

describe('beacon', () => {
  const beacon = (ok = true) => {
    const sendBeacon = vi.fn((_url: string | URL, _data?: BodyInit | null) => ok);
    Object.defineProperty(navigator, 'sendBeacon', { value: sendBeacon, configurable: true });
    return sendBeacon;
  };
  const payloads = async (sendBeacon: ReturnType<typeof beacon>) =>
    Promise.all(
      sendBeacon.mock.calls.map(async ([url, data]) => {
        const blob = data as Blob;
        return { url, type: blob.type, body: JSON.parse(await blob.text()) as BatchRequest };
      }),
    );

  it('hands what waits to sendBeacon on pagehide: text/plain, write key in the body', async () => {
    const sendBeacon = beacon();
    const fetch = mockFetch();
    const rapport = core();
    rapport.track('Leaving');
    window.dispatchEvent(new Event('pagehide'));
    const [sent] = await payloads(sendBeacon);
    expect(sent.url).toBe(HOST + '/v1/batch');
    expect(sent.type).toMatch(/^text\/plain/);
    expect(sent.body.writeKey).toBe(WRITE_KEY);
    expect(sent.body.batch.map((m) => (m as { event: string }).event)).toEqual(['Leaving']);
    expect(queued()).toEqual([]);
    await settle(FLUSH_INTERVAL_MS);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('does so when the page becomes hidden', async () => {
    const sendBeacon = beacon();
    core().track('Tab Switched');
    vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(sendBeacon).toHaveBeenCalledTimes(1);
  });

  it('splits beacons under 64 KiB and keeps what the browser refused for the next page', async () => {
    let accepted = 0;
    const sendBeacon = vi.fn(() => ++accepted <= 1);
    Object.defineProperty(navigator, 'sendBeacon', { value: sendBeacon, configurable: true });
    const rapport = core();
    const big = 'x'.repeat(20_000);
    for (let i = 0; i < 6; i++) rapport.track('Big', { big });
    window.dispatchEvent(new Event('pagehide'));
    expect(sendBeacon).toHaveBeenCalledTimes(2);
    const sizes = (sendBeacon.mock.calls as unknown as [string, Blob][]).map(([, blob]) => blob.size);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    const sentInFirst = JSON.parse(await (sendBeacon.mock.calls as unknown as [string, Blob][])[0][1].text()).batch;
    expect(queued()).toHaveLength(6 - sentInFirst.length);
  });

  it('leaves the batch of a fetch in flight alone', async () => {
    const sendBeacon = beacon();
    let answer: (res: Response) => void = () => {};
    mockFetch(() => new Promise<Response>((resolve) => (answer = resolve)));
    const rapport = core();
    rapport.track('In Flight');
    await settle(FLUSH_INTERVAL_MS);
    rapport.track('Waiting');
    window.dispatchEvent(new Event('pagehide'));
    const [sent] = await payloads(sendBeacon);
    expect(sent.body.batch.map((m) => (m as { event: string }).event)).toEqual(['Waiting']);
    answer(json({ success: true }));
    await settle(0);
    expect(queued()).toEqual([]);
  });
});

describe('policy', () => {
  it('backs off exponentially with full jitter, capped', () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect([1, 2, 3, 4, 10].map(backoff)).toEqual([1000, 2000, 4000, 8000, BACKOFF_MAX_MS]);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(backoff(5)).toBe(0);
  });

  it('reads Retry-After as seconds or a date, capped', () => {
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    expect(retryAfter('120')).toBe(120_000);
    expect(retryAfter('Thu, 01 Jan 2026 00:00:10 GMT')).toBe(10_000);
    expect(retryAfter('99999999')).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfter('Wed, 31 Dec 2025 00:00:00 GMT')).toBeUndefined();
    expect(retryAfter('soon')).toBeUndefined();
    expect(retryAfter(null)).toBeUndefined();
  });

  it('never retries 4xx but 429', () => {
    expect([400, 401, 403, 404, 410, 413, 422].every(isFinal)).toBe(true);
    expect([200, 204, 429, 500, 502, 503].some(isFinal)).toBe(false);
  });
});
