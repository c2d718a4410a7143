/**
 * The delivery policy, in one place: how the SDK batches, retries and bounds what it keeps.
 * Modelled on Segment's backoff.ts and Snowplow's emitter; the README repeats these numbers.
 */

/** A batch is sent as soon as this many messages wait. */
export const FLUSH_AT = 20;
/** Otherwise a batch is sent this long after the first waiting message. */
export const FLUSH_INTERVAL_MS = 1000;
/** Messages kept when the server cannot be reached; past it the oldest are dropped. */
export const MAX_QUEUE = 500;
/**
 * Largest request body. Browsers refuse keepalive fetches and beacons over 64 KiB, so batches are
 * split below that, with room for the envelope.
 */
export const MAX_REQUEST_BYTES = 60 * 1024;
/** First retry waits up to this long; each further one doubles it. */
export const BACKOFF_BASE_MS = 1000;
/** No retry waits longer than this, unless the server's Retry-After says so. */
export const BACKOFF_MAX_MS = 60_000;
/** A Retry-After larger than this is shortened to it (timers overflow past 2^31 ms). */
export const RETRY_AFTER_MAX_MS = 10 * 60_000;
/**
 * Server errors (5xx) in a row after which a batch is dropped, so that one message the server
 * cannot take does not block the queue forever. Network failures and 429s never count (nor break
 * the row): an offline visitor keeps every message (up to MAX_QUEUE) until the network returns.
 */
export const MAX_ATTEMPTS = 10;

/**
 * Statuses that a retry cannot fix (400, 401, 403, 413, 422, ...): the batch is dropped and
 * reported to `onError`. Every 4xx but 429 is final; 429 waits for its Retry-After.
 */
export const isFinal = (status: number): boolean => status >= 400 && status < 500 && status != 429;

/**
 * Delay before retry number `attempt` (1, 2, ...): exponential backoff with full jitter, so that
 * many browsers failing together do not come back together.
 */
export const backoff = (attempt: number): number =>
  Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date), if it has any. */
export const retryAfter = (header: string | null): number | undefined => {
  if (header) {
    const ms = /^\d+$/.test(header.trim()) ? +header * 1000 : Date.parse(header) - Date.now();
    if (ms >= 0) return Math.min(ms, RETRY_AFTER_MAX_MS);
  }
};
