import { createHmac, randomBytes } from 'node:crypto';

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
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: webhookHeaders(attempt.secret, attempt.id, timestamp, body),
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = timedOut ? `no answer within ${timeoutMs} ms (timeout)` : (cause?.code ?? cause?.message ?? (error as Error).message);
    return { kind: 'retry', status: null, error: why, retryAfterMs: null };
  }
  const status = response.status;
  if (status >= 200 && status < 300) {
    await response.body?.cancel().catch(() => {});
    return { kind: 'delivered', status };
  }
  const error = `HTTP ${status}${await excerpt(response)}`;
  if (status >= 500 || status === 408 || status === 429) {
    return { kind: 'retry', status, error, retryAfterMs: retryAfterOf(response.headers.get('retry-after'), Date.now()) };
  }
  return { kind: 'failed', status, error };
}

/** The start of a failing answer's body, for the dead letters; never more than 64 KB read. */
async function excerpt(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut off mid-way still says enough.
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_ERROR_BODY)).replace(/\s+/g, ' ').trim();
  return text ? `: ${text.slice(0, ERROR_EXCERPT)}` : '';
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
