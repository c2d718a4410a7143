import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

/** The most of a response body read, only to quote it in an error. */
const MAX_ERROR_BODY = 64 * 1024;
/** Quoted from a failing response's body. */
const ERROR_EXCERPT = 200;
const DEFAULT_TIMEOUT_MS = 10_000;
/** Retries end once the next attempt would fall this long after the first: then a dead letter. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
const FIRST_RETRY_MS = 5_000;
const LONGEST_WAIT_MS = 60 * 60 * 1000;

/**
 * A new endpoint secret in the Standard Webhooks form: `whsec_` and 24 random bytes in base64.
 *
 * @example
 * newWebhookSecret(); // 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith('whsec_')) throw new Error('a webhook secret starts with "whsec_"');
  const encoded = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw new Error('a webhook secret is whsec_ and base64');
  return Buffer.from(encoded, 'base64');
}

/**
 * The `webhook-signature` value of the Standard Webhooks scheme: HMAC-SHA256, keyed with the
 * secret's decoded bytes, of `id.timestamp.body`, as `v1,<base64>`.
 *
 * @example
 * signWebhook(secret, 'msg_1', 1_700_000_000, '{"a":1}'); // 'v1,K5oZ…'
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The headers of one delivery attempt.
 *
 * @example
 * const headers = webhookHeaders(secret, 'run_1:2', Math.floor(Date.now() / 1000), body);
 */
export function webhookHeaders(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Rapport-Webhooks/0.1',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signWebhook(secret, id, timestampSeconds, body),
  };
}

export type WebhookOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; status: number | null; error: string; retryAfterMs: number | null }
  | { kind: 'failed'; status: number | null; error: string };

export interface WebhookAttempt {
  url: string;
  secret: string;
  /** The idempotency key: the same on every attempt, so that a receiver can drop repeats. */
  id: string;
  payload: unknown;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * One delivery attempt: a signed POST of the payload as JSON, no redirects followed, within a
 * timeout. 2xx is delivered; 5xx, 408, 429, a timeout or a network error are worth a retry
 * (with the receiver's `Retry-After`, when it gives one); any other answer is final.
 *
 * @example
 * const outcome = await sendWebhook({ url, secret, id: `${run.id}:${position}`, payload });
 * if (outcome.kind === 'retry') run.dueAt = now + retryDelayMs(run.attempts + 1, { retryAfterMs: outcome.retryAfterMs });
 */
export async function sendWebhook(attempt: WebhookAttempt): Promise<WebhookOutcome> {
  let url: URL;
  try {
    url = new URL(attempt.url);
  } catch {
    return { kind: 'failed', status: null, error: `not a URL: ${attempt.url}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'failed', status: null, error: 'a webhook URL is http: or https:' };
  const body = JSON.stringify(attempt.payload);
  const timestamp = Math.floor((attempt.now ?? Date.now)() / 1000);
  const timeoutMs = attempt.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let answer: Answer;
  try {
    answer = await post(url, webhookHeaders(attempt.secret, attempt.id, timestamp, body), body, timeoutMs);
  } catch (error) {
    const e = error as Error & { code?: string };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (timeout)` : (e.code ?? e.message);
    return { kind: 'retry', status: null, error: why, retryAfterMs: null };
  }
  const status = answer.status;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const text = answer.excerpt.replace(/\s+/g, ' ').trim();
  const error = `HTTP ${status}${text ? `: ${text.slice(0, ERROR_EXCERPT)}` : ''}`;
  if (status >= 500 || status === 408 || status === 429) {
    return { kind: 'retry', status, error, retryAfterMs: retryAfterOf(answer.retryAfter, Date.now()) };
  }
  return { kind: 'failed', status, error };
}

interface Answer {
  status: number;
  retryAfter: string | null;
  /** The start of the body, read only for a failing answer, at most 64 KB. */
  excerpt: string;
}

/**
 * Connections kept open to each receiver between deliveries, at most 50 at once (the scheduler's
 * batch): Node's own HTTP client over them sends several times what `fetch` does per core.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 50 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 50 }),
};

/** One POST, no redirect followed, the whole exchange within `timeoutMs`. */
function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, {
      method: 'POST',
      agent: agents[url.protocol as 'http:' | 'https:'],
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => request.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), timeoutMs);
    request.on('error', (error) => settle(() => reject(error)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const retryAfter = (response.headers['retry-after'] as string | undefined) ?? null;
      const failing = status < 200 || status >= 300;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (!failing) return;
        if (size < MAX_ERROR_BODY) chunks.push(chunk);
        size += chunk.length;
        // A failing receiver that streams on is not read to its end.
        if (size >= MAX_ERROR_BODY) response.destroy();
      });
      // At its end, or cut off mid-way: what came still says enough.
      const finish = () => settle(() => resolve({ status, retryAfter, excerpt: Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_ERROR_BODY)) }));
      response.on('end', finish);
      response.on('close', finish);
      response.on('error', finish);
    });
    request.end(body);
  });
}

/** `Retry-After` as seconds or as an HTTP date, in ms from `now`, at most a day; null when absent or unreadable. */
export function retryAfterOf(header: string | null, now: number): number | null {
  if (!header) return null;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(ms, 0), RETRY_WINDOW_MS);
}

/**
 * How long to wait before retry number `attempt` (1 is the first retry): exponential backoff
 * from 5 s, doubling, at most an hour, with full jitter so that the retries of many runs that
 * failed together do not come back together; at least 1 s, and at least the receiver's
 * `Retry-After`.
 *
 * @example
 * retryDelayMs(3); // somewhere in 1–20 s
 */
export function retryDelayMs(attempt: number, options: { random?: () => number; retryAfterMs?: number | null } = {}): number {
  const cap = Math.min(LONGEST_WAIT_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.max(1_000, Math.round((options.random ?? Math.random)() * cap));
  return Math.max(jittered, options.retryAfterMs ?? 0);
}

/** Whether a retry `delayMs` from `now` still falls within the retry window of the first attempt. */
export function shouldRetry(firstAttemptAt: number, now: number, delayMs: number): boolean {
  return now + delayMs - firstAttemptAt <= RETRY_WINDOW_MS;
}
