import {
  MAX_STORED_BATCH_BYTES,
  type CollectResponse,
  type ErrorBody,
  type JsonObject,
  type MessageIssue,
  type MessageType,
} from '@rapport/protocol';
import { enrich, type RequestFacts } from '../enrich/enrich.js';
import { verifyUserHash } from '../identity/verify.js';
import type { IngestEvent, Site, Trust } from '../store/types.js';
import type { AutomationStarter } from '../automations/starts.js';
import { HttpError, UNAVAILABLE_RETRY_AFTER_S } from '../http/errors.js';
import type { Ingester } from './ingester.js';
import { correctedTimestamp, messageIdOf, skewOf } from './normalize.js';
import { isIsoDate, isObject, prepareSharedContext, validateMessage, type SharedContext, type ValidMessage } from './validate.js';

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
  /** The anonymous id of this browser in cookieless mode (identity/cookieless.ts), asked for only when a message needs it. */
  cookielessId?: () => Promise<string>;
}

export type CollectOutcome = { status: 200; body: CollectResponse } | { status: 400; body: ErrorBody };

/**
 * One collect call: validates every message (the valid rest is kept when some are bad), applies
 * identity verification, normalizes times and ids, enriches, and stores; answers only once the
 * messages are durable and the automation runs they start are written.
 */
export async function collect(ingester: Ingester, input: CollectInput, starter?: AutomationStarter): Promise<CollectOutcome> {
  const listed = messagesOf(input);
  if ('error' in listed) return { status: 400, body: listed };
  const { messages, batchSentAt, shared } = listed;
  // A browser in cookieless mode stores no id and marks its messages: the server's id replaces
  // whatever id such a message names, so that a page cannot choose another visitor's. Server
  // calls (the site secret) name their own ids and are left as they are.
  if (!input.trusted && input.cookielessId && messages.some(isCookieless)) {
    const anonymousId = await input.cookielessId();
    for (const raw of messages) if (isCookieless(raw)) raw.anonymousId = anonymousId;
  }

  const rejected: MessageIssue[] = [];
  const warnings: MessageIssue[] = [...listed.warnings];
  const events: IngestEvent[] = [];
  const firstIndexOf = new Map<string, number>();
  // What this request may still store: a shared context copied into each message counts each time.
  let storable = MAX_STORED_BATCH_BYTES;

  messages.forEach((raw, index) => {
    const validation = validateMessage(raw, index, {
      type: input.endpoint === 'batch' ? undefined : input.endpoint,
      blockedIds: input.site.settings.blockedIds,
      shared,
      remainingBytes: storable,
    });
    if (!validation.ok) {
      rejected.push(validation.issue);
      return;
    }
    warnings.push(...validation.warnings);
    const message = validation.message;
    const verification = applyVerification(message, input, index, warnings);
    if ('issue' in verification) {
      rejected.push(verification.issue);
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
    events.push(toIngestEvent(message, messageId, verification.trust, input, batchSentAt, index, warnings));
    storable -= validation.bytes;
  });

  if (events.length === 0 && rejected.length > 0) {
    return {
      status: 400,
      body: { error: rejected.length === 1 ? rejected[0].message : 'no valid message in the batch', details: rejected },
    };
  }
  if (events.length) {
    const result = await ingester.ingest(input.site, events, starter && (await starter.ingestOptions(input.site.id)));
    // Before the answer: should this fail, the client's retry of the call (its messages now
    // duplicates, looked at again) starts what is missing.
    await starter?.afterIngest(input.site, events, result).catch((error: unknown) => {
      console.error('rapport: could not start the automations of a collect call', error);
      throw new HttpError(503, 'the messages are stored, but their automations could not be started: send them again', undefined, {
        'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S),
      });
    });
    for (const note of result.notes) {
      const { messageId, ...issue } = note;
      warnings.push({ index: firstIndexOf.get(messageId)!, ...issue });
    }
  }

  const body: CollectResponse = { success: true };
  if (rejected.length) {
    body.accepted = messages.length - rejected.length;
    body.rejected = rejected;
  }
  if (warnings.length) body.warnings = warnings;
  return { status: 200, body };
}

interface Listed {
  messages: unknown[];
  batchSentAt: string | null;
  /** The batch's `context`, which `validateMessage` merges under each message's own. */
  shared: SharedContext | null;
  /** About the shared context: they hold for every message. */
  warnings: MessageIssue[];
}

function messagesOf(input: CollectInput): Listed | ErrorBody {
  const body = input.body;
  if (!isObject(body)) return { error: 'the body must be a JSON object' };
  if (input.endpoint !== 'batch') {
    delete body.writeKey;
    return { messages: [body], batchSentAt: null, shared: null, warnings: [] };
  }
  if (!Array.isArray(body.batch)) return { error: 'the body must be an object with a "batch" array of messages' };
  if (body.batch.length === 0) return { error: '"batch" is empty: send at least one message' };
  const sentAt = body.sentAt;
  if (sentAt !== undefined && sentAt !== null && !isIsoDate(sentAt)) {
    return { error: 'sentAt must be an ISO-8601 date-time string' };
  }
  // Context given once for the whole batch applies to each message, the message's own entries
  // winning. It is checked and measured here once; copying it is left to validation, which counts
  // every copy against the limits before making it (a shared context must not multiply storage).
  const context = prepareSharedContext(body.context);
  if ('error' in context) return { error: context.error, details: [context.issue] };
  return {
    messages: body.batch,
    batchSentAt: typeof sentAt === 'string' ? sentAt : null,
    shared: context.shared,
    warnings: context.warnings,
  };
}

/**
 * How far a message's ids are vouched for (see `Trust`). When the site requires verified
 * identities, a browser message whose user id has no valid `context.userHash` counts as
 * anonymous; the answer is a rejection when nothing is left to count it by.
 */
function applyVerification(
  message: ValidMessage,
  input: CollectInput,
  index: number,
  warnings: MessageIssue[],
): { trust: Trust } | { issue: MessageIssue } {
  const site = input.site;
  if (input.trusted) return { trust: 'trusted' };
  if (!message.userId) return { trust: 'untrusted' };
  if (verifyUserHash(site.secret, message.userId, message.context.userHash)) return { trust: 'verified' };
  if (!site.settings.requireUserHash) return { trust: 'untrusted' };
  const why = message.context.userHash === undefined ? 'has no context.userHash' : 'has an invalid context.userHash';
  if (message.type === 'alias' || !message.anonymousId) {
    return {
      issue: {
        index,
        code: 'unverified_user',
        field: 'context.userHash',
        message: `userId ${why}; this site requires verified user ids and the message has no anonymous id to fall back on`,
      },
    };
  }
  warnings.push({
    index,
    code: 'unverified_user',
    field: 'context.userHash',
    message: `userId ${why}; the message was stored as anonymous`,
  });
  message.userId = null;
  return { trust: 'untrusted' };
}

function toIngestEvent(
  message: ValidMessage,
  messageId: string,
  trust: Trust,
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
    trust,
    timestamp: correctedTimestamp(message, skew, input.receivedAt, index, warnings),
    receivedAt: input.receivedAt,
    traits: message.traits,
    properties: message.properties,
    message: raw,
    enrichment: enrich(message, input.site, facts),
  };
}

/** A message of the SDK in cookieless mode: `context.cookieless: true`. */
export const isCookieless = (raw: unknown): raw is JsonObject => isObject(raw) && isObject(raw.context) && raw.context.cookieless === true;
