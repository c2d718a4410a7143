/** Limits of the collect API, as Segment's HTTP tracking API has them. */

/** Largest message, as JSON bytes. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** Largest request body of `/v1/batch`. */
export const MAX_BATCH_BYTES = 500 * 1024;
/** Longest id (`messageId`, `anonymousId`, `userId`, `previousId`, `groupId`). */
export const MAX_ID_LENGTH = 256;
/** Longest event or page name. */
export const MAX_NAME_LENGTH = 256;
/** Deepest nesting of objects and arrays inside a message. */
export const MAX_DEPTH = 32;
/** Inactivity after which the next event starts a new session. */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;
