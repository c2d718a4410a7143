/** Limits of the collect API, as Segment's HTTP tracking API has them. */

/** Largest message, as JSON bytes: a message of a batch counts with the batch's shared `context` merged in. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** Largest request body of `/v1/batch`. */
export const MAX_BATCH_BYTES = 500 * 1024;
/**
 * Most JSON bytes that the messages of one request may store, summed over its messages with the
 * batch's shared `context` copied into each. It is the batch limit: a request never stores more
 * than the largest request could carry, however much a shared context repeats. Messages past it
 * are rejected one by one (`too_large`, field `context` when the shared context is the cause).
 */
export const MAX_STORED_BATCH_BYTES = MAX_BATCH_BYTES;
/** Longest id (`messageId`, `anonymousId`, `userId`, `previousId`, `groupId`). */
export const MAX_ID_LENGTH = 256;
/** Longest event or page name. */
export const MAX_NAME_LENGTH = 256;
/** Deepest nesting of objects and arrays inside a message. */
export const MAX_DEPTH = 32;
/**
 * Largest absolute value of an amount that Rapport sums (`properties.revenue`, `properties.total`):
 * a trillion of any currency unit, far past any real order, and small enough that sums of amounts
 * stay finite and exact to the cent. A message with a larger amount is rejected, naming the field.
 */
export const MAX_AMOUNT = 1e12;
/** Inactivity after which the next event starts a new session. */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;
