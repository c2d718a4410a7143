import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../test-support/receiver.js';
import { newWebhookSecret, retryAfterOf, retryDelayMs, RETRY_WINDOW_MS, sendWebhook, shouldRetry, signWebhook } from './webhook.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(answer: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

/** What a receiver does by the Standard Webhooks spec, written apart from the module under test. */
function verifies(secret: string, { headers, body }: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest();
  return String(headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',');
      const given = Buffer.from(signature ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(204).end();

describe('webhook signatures', () => {
  it('reproduce the test vector published with the Standard Webhooks reference libraries', () => {
    // Secret, id, timestamp, body and signature as the Standard Webhooks libraries' tests give them.
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('refuse a secret that is not whsec_ and base64', () => {
    expect(() => signWebhook('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'id', 1, '{}')).toThrow(/whsec_/);
    expect(() => signWebhook('whsec_not base64!', 'id', 1, '{}')).toThrow(/base64/);
    expect(newWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
  });
});

describe('sendWebhook', () => {
  it('posts the payload signed, with the same id and a fresh timestamp on every attempt', async () => {
    const secret = newWebhookSecret();
    const { url, received } = await receiver(ok);
    let now = 1_700_000_000_000;
    const attempt = { url, secret, id: 'run_1:2', payload: { event: 'cart abandoned', total: 42 }, now: () => now };
    expect(await sendWebhook(attempt)).toEqual({ kind: 'delivered', status: 204 });
    now += 65_000;
    expect(await sendWebhook(attempt)).toEqual({ kind: 'delivered', status: 204 });
    expect(received.map((r) => r.headers['webhook-id'])).toEqual(['run_1:2', 'run_1:2']);
    expect(received.map((r) => r.headers['webhook-timestamp'])).toEqual(['1700000000', '1700000065']);
    expect(received.every((r) => verifies(secret, r))).toBe(true);
    expect(JSON.parse(received[0].body)).toEqual({ event: 'cart abandoned', total: 42 });
    expect(received[0].headers['content-type']).toBe('application/json');
    // A receiver holding another secret, or given another body, refuses it.
    expect(verifies(newWebhookSecret(), received[0])).toBe(false);
    expect(verifies(secret, { ...received[0], body: received[0].body.replace('42', '43') })).toBe(false);
  });

  it('asks for a retry on 5xx, 408 and 429, with the receiver\'s Retry-After', async () => {
    const statuses = [500, 503, 408, 429];
    const { url } = await receiver((_req, res, n) => {
      const status = statuses[n - 1];
      res.writeHead(status, status === 429 ? { 'retry-after': '7' } : {}).end('busy, try later');
    });
    const secret = newWebhookSecret();
    const outcomes = [];
    for (let i = 0; i < statuses.length; i++) outcomes.push(await sendWebhook({ url, secret, id: `x${i}`, payload: {} }));
    expect(outcomes.map((o) => [o.kind, o.status])).toEqual(statuses.map((s) => ['retry', s]));
    expect(outcomes[0]).toMatchObject({ error: 'HTTP 500: busy, try later', retryAfterMs: null });
    expect(outcomes[3]).toMatchObject({ retryAfterMs: 7_000 });
  });

  it('gives up at once on other answers, and follows no redirect', async () => {
    const answers = [404, 400, 301];
    const { url, received } = await receiver((_req, res, n) => {
      const status = answers[n - 1];
      res.writeHead(status, status === 301 ? { location: '/elsewhere' } : {}).end();
    });
    const secret = newWebhookSecret();
    for (const status of answers) {
      expect(await sendWebhook({ url, secret, id: 'x', payload: {} })).toMatchObject({ kind: 'failed', status });
    }
    expect(received).toHaveLength(3);
    expect(await sendWebhook({ url: 'ftp://127.0.0.1/x', secret, id: 'x', payload: {} })).toMatchObject({ kind: 'failed', status: null });
    expect(await sendWebhook({ url: 'not a url', secret, id: 'x', payload: {} })).toMatchObject({ kind: 'failed', status: null });
  });

  it('asks for a retry when the receiver does not answer in time, or cannot be reached', async () => {
    const { url } = await receiver(() => {});
    const secret = newWebhookSecret();
    const started = Date.now();
    expect(await sendWebhook({ url, secret, id: 'x', payload: {}, timeoutMs: 200 })).toMatchObject({ kind: 'retry', status: null, error: expect.stringMatching(/timeout/) });
    expect(Date.now() - started).toBeLessThan(2_000);
    const closed = await receiver(ok);
    await closed.close();
    expect(await sendWebhook({ url: closed.url, secret, id: 'x', payload: {} })).toMatchObject({ kind: 'retry', error: 'ECONNREFUSED' });
  });

  it('reads no more of a failing answer than it quotes', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const limit = 200 * 1024 * 1024;
    let written = 0;
    let gone = false;
    const { url } = await receiver((_req, res) => {
      res.writeHead(500);
      // 200 MB, as fast as the client takes them, until it goes away.
      const pump = () => {
        while (!gone && written < limit && res.write(chunk)) written += chunk.length;
        if (!gone && written < limit) res.once('drain', pump);
      };
      res.on('close', () => (gone = true));
      pump();
    });
    const outcome = await sendWebhook({ url, secret: newWebhookSecret(), id: 'x', payload: {} });
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.error.length).toBeLessThan(220);
    // What the sockets buffered before the client let go, not the 200 MB.
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('retries', () => {
  it('back off exponentially from 5 s to an hour, jittered, never below 1 s or the receiver\'s wish', () => {
    const top = () => 1;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, { random: top }))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(30, { random: top })).toBe(3_600_000);
    expect(retryDelayMs(1, { random: () => 0 })).toBe(1_000);
    expect(retryDelayMs(1, { random: () => 0.5 })).toBe(2_500);
    expect(retryDelayMs(1, { random: () => 0, retryAfterMs: 7_000 })).toBe(7_000);
  });

  it('stop when the next attempt would fall past a day after the first', () => {
    expect(shouldRetry(0, RETRY_WINDOW_MS - 1_000, 1_000)).toBe(true);
    expect(shouldRetry(0, RETRY_WINDOW_MS - 1_000, 1_001)).toBe(false);
  });

  it('read Retry-After as seconds or as an HTTP date, at most a day', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(retryAfterOf('120', now)).toBe(120_000);
    expect(retryAfterOf('Wed, 02 Dec 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterOf('999999', now)).toBe(RETRY_WINDOW_MS);
    expect(retryAfterOf('soon', now)).toBeNull();
    expect(retryAfterOf(null, now)).toBeNull();
  });
});
