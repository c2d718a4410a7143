import {
  MAX_MESSAGE_BYTES,
  type CollectResponse,
  type ErrorBody,
  type JsonObject,
  type MessageIssue,
  type MessageType,
} from '@rapport/protocol';
import { enrich, type RequestFacts } from '../enrich/enrich.js';
import { verifyUserHash } from '../identity/verify.js';
import type { Store } from '../store/store.js';
import type { IngestEvent, Site } from '../store/types.js';
import { correctedTimestamp, messageIdOf, skewOf } from './normalize.js';
import { isIsoDate, isObject, validateMessage, type ValidMessage } from './validate.js';

export interface CollectInput {
  site: Site;
  /** Authenticated with the site secret rather than the public write key. */
  trusted: boolean;
  /** The parsed JSON body. */
  body: unknown;
  bodyBytes: number;
  /** `batch`, or the type fixed by a single-message endpoint. */
  endpoint: 'batch' | MessageType;
  clientIp: string | null;
  userAgent: string | null;
  receivedAt: number;
}

export type CollectOutcome = { status: 200; body: CollectResponse } | { status: 400; body: ErrorBody };

/**
 * One collect call: validates every message (the valid rest is kept when some are bad), applies
 * identity verification, normalizes times and ids, enriches, and stores; answers only once the
 * store has committed.
 */
export async function collect(store: Store, input: CollectInput): Promise<CollectOutcome> {
  const listed = messagesOf(input);
  if ('error' in listed) return { status: 400, body: listed };
  const { messages, batchSentAt } = listed;

  const rejected: MessageIssue[] = [];
  const warnings: MessageIssue[] = [];
  const events: IngestEvent[] = [];
  const firstIndexOf = new Map<string, number>();
  const sizeKnownSmall = input.bodyBytes <= MAX_MESSAGE_BYTES;

  messages.forEach((raw, index) => {
    const validation = validateMessage(raw, index, {
      type: input.endpoint === 'batch' ? undefined : input.endpoint,
      sizeKnownSmall,
    });
    if (!validation.ok) {
      rejected.push(validation.issue);
      return;
    }
    warnings.push(...validation.warnings);
    const message = validation.message;
    const issue = applyVerification(message, input, index, warnings);
    if (issue) {
      rejected.push(issue);
      return;
    }
    const messageId = messageIdOf(message, input.receivedAt);
    const first = firstIndexOf.get(messageId);
    if (first !== undefined) {
      warnings.push({
        index,
        code: 'duplicate',
        field: 'messageId',
        message: `messageId repeats message ${first} of this batch; it is stored once`,
      });
      return;
    }
    firstIndexOf.set(messageId, index);
    events.push(toIngestEvent(message, messageId, input, batchSentAt, index, warnings));
  });

  if (events.length === 0 && rejected.length > 0) {
    return {
      status: 400,
      body: { error: rejected.length === 1 ? rejected[0].message : 'no valid message in the batch', details: rejected },
    };
  }
  if (events.length) await store.ingest(input.site, events);

  const body: CollectResponse = { success: true };
  if (rejected.length) {
    body.accepted = messages.length - rejected.length;
    body.rejected = rejected;
  }
  if (warnings.length) body.warnings = warnings;
  return { status: 200, body };
}

function messagesOf(input: CollectInput): { messages: unknown[]; batchSentAt: string | null } | ErrorBody {
  const body = input.body;
  if (!isObject(body)) return { error: 'the body must be a JSON object' };
  if (input.endpoint !== 'batch') {
    delete body.writeKey;
    return { messages: [body], batchSentAt: null };
  }
  if (!Array.isArray(body.batch)) return { error: 'the body must be an object with a "batch" array of messages' };
  if (body.batch.length === 0) return { error: '"batch" is empty: send at least one message' };
  const sentAt = body.sentAt;
  if (sentAt !== undefined && sentAt !== null && !isIsoDate(sentAt)) {
    return { error: 'sentAt must be an ISO-8601 date-time string' };
  }
  // Context given once for the whole batch applies to each message; the message's own wins.
  const shared = isObject(body.context) ? body.context : null;
  const messages = shared
    ? body.batch.map((m: unknown) => (isObject(m) ? { ...m, context: { ...shared, ...(isObject(m.context) ? m.context : {}) } } : m))
    : body.batch;
  return { messages, batchSentAt: typeof sentAt === 'string' ? sentAt : null };
}

/**
 * When the site requires verified identities, a browser message whose user id has no valid
 * `context.userHash` counts as anonymous. Returns a rejection when nothing is left to count it by.
 */
function applyVerification(
  message: ValidMessage,
  input: CollectInput,
  index: number,
  warnings: MessageIssue[],
): MessageIssue | null {
  const site = input.site;
  if (!message.userId || input.trusted || !site.settings.requireUserHash) return null;
  if (verifyUserHash(site.secret, message.userId, message.context.userHash)) return null;
  const why = message.context.userHash === undefined ? 'has no context.userHash' : 'has an invalid context.userHash';
  if (message.type === 'alias' || !message.anonymousId) {
    return {
      index,
      code: 'unverified_user',
      field: 'context.userHash',
      message: `userId ${why}; this site requires verified user ids and the message has no anonymous id to fall back on`,
    };
  }
  warnings.push({
    index,
    code: 'unverified_user',
    field: 'context.userHash',
    message: `userId ${why}; the message was stored as anonymous`,
  });
  message.userId = null;
  return null;
}

function toIngestEvent(
  message: ValidMessage,
  messageId: string,
  input: CollectInput,
  batchSentAt: string | null,
  index: number,
  warnings: MessageIssue[],
): IngestEvent {
  const skew = skewOf(message, batchSentAt, input.receivedAt);
  const facts: RequestFacts = {
    clientIp: input.clientIp,
    userAgentHeader: input.userAgent,
    trusted: input.trusted,
    skew,
  };
  const raw: JsonObject = message.raw;
  raw.messageId = messageId;
  return {
    messageId,
    type: message.type,
    name: message.name,
    anonymousId: message.anonymousId,
    userId: message.userId,
    previousId: message.previousId,
    timestamp: correctedTimestamp(message, skew, input.receivedAt, index, warnings),
    receivedAt: input.receivedAt,
    traits: message.traits,
    properties: message.properties,
    message: raw,
    enrichment: enrich(message, input.site, facts),
  };
}
