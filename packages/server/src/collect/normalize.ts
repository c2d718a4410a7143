import { createHash } from 'node:crypto';
import type { MessageIssue } from '@rapport/protocol';
import type { ValidMessage } from './validate.js';

const DAY_MS = 86_400_000;
/** Earlier than this, a timestamp is a broken clock, not history. */
const OLDEST_TIMESTAMP = Date.UTC(2000, 0, 1);

/**
 * The event time corrected for the sender's clock skew (`skewOf`), as Segment does:
 * `timestamp + (receivedAt - sentAt)`. Without a timestamp the event happened when it arrived.
 * A result more than a day in the future or before 2000 is replaced by `receivedAt`, with a
 * warning, rather than dropping the message.
 */
export function correctedTimestamp(
  message: ValidMessage,
  skew: number,
  receivedAt: number,
  index: number,
  warnings: MessageIssue[],
): number {
  if (!message.timestamp) return receivedAt;
  const corrected = Date.parse(message.timestamp) + skew;
  if (corrected > receivedAt + DAY_MS || corrected < OLDEST_TIMESTAMP) {
    warnings.push({
      index,
      code: 'timestamp_corrected',
      field: 'timestamp',
      message: `timestamp ${message.timestamp} is implausible after clock-skew correction; receivedAt was used`,
    });
    return receivedAt;
  }
  return corrected;
}

/** Clock-skew of a sender: what to add to its times to get the server's. */
export function skewOf(message: ValidMessage, batchSentAt: string | null, receivedAt: number): number {
  const sentAt = message.sentAt ?? batchSentAt;
  return sentAt ? receivedAt - Date.parse(sentAt) : 0;
}

const AUTO_ID_PREFIX = 'auto-';
const AUTO_ID_HEX_LENGTH = 32;

/** What the id of `messageIdOf` adds to a stored message that came without one (`,"messageId":"auto-…"`). */
export const AUTO_MESSAGE_ID_BYTES = `,"messageId":"${AUTO_ID_PREFIX}"`.length + AUTO_ID_HEX_LENGTH;

/**
 * A message without a messageId gets one derived from its content, so that an exact retry is
 * still stored once. Without a timestamp two identical messages could be two real events, so the
 * arrival time joins the hash and they stay apart.
 */
export function messageIdOf(message: ValidMessage, receivedAt: number): string {
  if (message.messageId) return message.messageId;
  const hash = createHash('sha256').update(JSON.stringify(message.raw));
  if (!message.timestamp) hash.update(String(receivedAt));
  return `${AUTO_ID_PREFIX}${hash.digest('hex').slice(0, AUTO_ID_HEX_LENGTH)}`;
}
