import { isBlockedId } from '../identity/blocked.js';
import {
  MAX_AMOUNT,
  MAX_DEPTH,
  MAX_ID_LENGTH,
  MAX_MESSAGE_BYTES,
  MAX_NAME_LENGTH,
  MAX_STORED_BATCH_BYTES,
  MESSAGE_TYPES,
  type JsonObject,
  type MessageIssue,
  type MessageType,
} from '@rapport/protocol';
import { ORDER_AMOUNT_FIELDS } from '../profiles/computed.js';
import { AUTO_MESSAGE_ID_BYTES } from './normalize.js';

/** A message that passed validation: ids and names checked, free-form parts cleaned. */
export interface ValidMessage {
  type: MessageType;
  messageId: string | null;
  anonymousId: string | null;
  userId: string | null;
  previousId: string | null;
  groupId: string | null;
  name: string | null;
  timestamp: string | null;
  sentAt: string | null;
  properties: JsonObject | null;
  traits: JsonObject | null;
  context: JsonObject;
  /** The whole message as sent, cleaned, unknown fields included, the batch's shared context merged in. */
  raw: JsonObject;
}

export type Validation =
  | {
      ok: true;
      message: ValidMessage;
      warnings: MessageIssue[];
      /** JSON bytes of the message as it will be stored (`raw`), the batch's shared context included. */
      bytes: number;
    }
  | { ok: false; issue: MessageIssue };

/** Keys that could reach an object's prototype if some code ever merged them naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set(MESSAGE_TYPES);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
// Control characters and lone surrogates make an id that cannot round-trip through UTF-8 storage.
// eslint-disable-next-line no-control-regex
const BAD_ID_CHARS = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Longest value kept for strings of `context` that Rapport reads (URLs, user agent...). */
export const MAX_CONTEXT_STRING = 4096;

class Invalid extends Error {
  constructor(
    readonly field: string | undefined,
    message: string,
    readonly code = 'invalid',
  ) {
    super(message);
  }
}

export interface ValidateOptions {
  /** The type fixed by the endpoint (`/v1/track`...); the message may omit it. */
  type?: MessageType;
  /** The batch's shared context (see `prepareSharedContext`), merged under the message's own. */
  shared?: SharedContext | null;
  /**
   * Bytes the request may still store (of `MAX_STORED_BATCH_BYTES`); a larger message is rejected
   * as `too_large`. Without it only the per-message limit applies.
   */
  remainingBytes?: number;
  /** The site's blocked identifier values (see `identity/blocked.ts`). @default none but the empty */
  blockedIds?: readonly string[];
}

/**
 * Checks one message of the Segment spec for shape, bounds and size, merges the batch's shared
 * context into it, and returns it typed with its stored size, or the reason it was rejected (with
 * the field concerned). Never throws.
 *
 * The size is that of the message as stored, shared context included, so that a context sent once
 * for a batch cannot multiply what the batch stores. It is computed from sizes measured once per
 * batch, and the merge is made only for a message that fits: a rejected message costs the work of
 * its own bytes, never the shared context's again.
 */
export function validateMessage(input: unknown, index: number, options: ValidateOptions = {}): Validation {
  const warnings: MessageIssue[] = [];
  try {
    if (!isObject(input)) throw new Invalid(undefined, 'a message must be a JSON object');
    // The body is bounded (500 KB), so walking before measuring costs no more than measuring.
    const removed = clean(input);
    for (const path of removed) {
      warnings.push({ index, code: 'field_dropped', field: path, message: `key ${path} is not allowed and was dropped` });
    }
    const message = shape(input, options.type, index, warnings, options.blockedIds ?? []);
    checkContext(message.context, index, warnings);
    if (message.properties) checkAmounts(message.properties);
    const bytes = storedBytes(input, message, options);
    if (options.shared) {
      const merged = { ...options.shared.context, ...message.context };
      input.context = merged;
      message.context = merged;
    }
    return { ok: true, message, warnings, bytes };
  } catch (error) {
    if (error instanceof Invalid) {
      return { ok: false, issue: { index, code: error.code, field: error.field, message: error.message } };
    }
    if (error instanceof RangeError) {
      return { ok: false, issue: { index, code: 'invalid', message: 'message is nested too deeply' } };
    }
    throw error;
  }
}

function shape(m: JsonObject, pathType: MessageType | undefined, index: number, warnings: MessageIssue[], blocked: readonly string[]): ValidMessage {
  let type = m.type;
  if (type === undefined && pathType) type = pathType;
  if (typeof type !== 'string' || !MESSAGE_TYPE_SET.has(type)) {
    throw new Invalid('type', `type must be one of ${MESSAGE_TYPES.join(', ')}`);
  }
  if (pathType && type !== pathType) {
    throw new Invalid('type', `type "${type}" does not match the endpoint /v1/${pathType}`);
  }
  const messageType = type as MessageType;
  m.type = messageType;
  const anonymousId = senderId(m, 'anonymousId', index, warnings, blocked);
  const userId = senderId(m, 'userId', index, warnings, blocked);
  const messageId = id(m, 'messageId');
  let previousId: string | null = null;
  let groupId: string | null = null;
  let name: string | null = null;

  switch (messageType) {
    case 'track':
      name = text(m, 'event', true);
      break;
    case 'page':
    case 'screen':
      name = text(m, 'name', false);
      break;
    case 'alias':
      previousId = id(m, 'previousId');
      if (!previousId) throw new Invalid('previousId', 'alias needs a previousId');
      if (isBlockedId(previousId, blocked)) throw new Invalid('previousId', `previousId "${previousId}" is a blocked identifier value: it names no one`, 'blocked_id');
      if (!userId) throw new Invalid('userId', 'alias needs a userId');
      break;
    case 'group':
      groupId = id(m, 'groupId');
      if (!groupId) throw new Invalid('groupId', 'group needs a groupId');
      break;
  }
  if (!anonymousId && !userId) throw new Invalid('anonymousId', 'a message needs an anonymousId or a userId');

  const context = optionalObject(m, 'context') ?? {};
  m.context = context;
  return {
    type: messageType,
    messageId,
    anonymousId,
    userId,
    previousId,
    groupId,
    name,
    timestamp: date(m, 'timestamp') ?? date(m, 'originalTimestamp'),
    sentAt: date(m, 'sentAt'),
    properties: messageType === 'identify' || messageType === 'alias' ? null : optionalObject(m, 'properties'),
    // RudderStack's browser SDK sends an identify's traits in context.traits only.
    traits:
      messageType === 'identify'
        ? (optionalObject(m, 'traits') ?? (isObject(context.traits) ? context.traits : null))
        : messageType === 'group'
          ? optionalObject(m, 'traits')
          : null,
    context,
    raw: m,
  };
}

/**
 * The sender's ids, where `""` means absent: RudderStack's browser SDK sends `userId: ""` on every
 * anonymous event. So does a blocked value (`"null"`, `"guest"`: see `identity/blocked.ts`), with
 * a warning. The field is removed from the stored message, so nothing downstream can take it for
 * an id; the message then needs the other id.
 */
function senderId(m: JsonObject, field: 'anonymousId' | 'userId', index: number, warnings: MessageIssue[], blocked: readonly string[]): string | null {
  if (m[field] !== '') {
    const value = id(m, field);
    if (value === null || !isBlockedId(value, blocked)) return value;
    delete m[field];
    warnings.push({ index, code: 'blocked_id', field, message: `${field} "${value}" is a blocked identifier value and was treated as absent` });
    return null;
  }
  delete m[field];
  warnings.push({
    index,
    code: field === 'userId' ? 'empty_user_id' : 'empty_anonymous_id',
    field,
    message: `${field} is empty and was treated as absent`,
  });
  return null;
}

/** Ids may arrive as numbers (Segment allows it); they are kept as strings. */
function id(m: JsonObject, field: string): string | null {
  const value = m[field];
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isFinite(value)) {
    m[field] = String(value);
    return String(value);
  }
  if (typeof value !== 'string') throw new Invalid(field, `${field} must be a string`);
  if (value.length === 0) throw new Invalid(field, `${field} must not be empty`);
  if (value.length > MAX_ID_LENGTH) throw new Invalid(field, `${field} is longer than ${MAX_ID_LENGTH} characters`);
  if (BAD_ID_CHARS.test(value)) {
    throw new Invalid(field, `${field} contains a control character or an unpaired surrogate`);
  }
  return value;
}

function text(m: JsonObject, field: string, required: boolean): string | null {
  const value = m[field];
  if (value === undefined || value === null || value === '') {
    if (required) throw new Invalid(field, `${field} is required`);
    return null;
  }
  if (typeof value !== 'string') throw new Invalid(field, `${field} must be a string`);
  if (value.length > MAX_NAME_LENGTH) throw new Invalid(field, `${field} is longer than ${MAX_NAME_LENGTH} characters`);
  if (BAD_ID_CHARS.test(value)) throw new Invalid(field, `${field} contains a control character or an unpaired surrogate`);
  return value;
}

function date(m: JsonObject, field: string): string | null {
  const value = m[field];
  if (value === undefined || value === null) return null;
  if (!isIsoDate(value)) throw new Invalid(field, `${field} must be an ISO-8601 date-time string`);
  return value;
}

/** The dates the wire accepts (`timestamp`, `sentAt`, a batch's `sentAt`): ISO-8601 that parses. */
export function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value));
}

function optionalObject(m: JsonObject, field: string): JsonObject | null {
  const value = m[field];
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new Invalid(field, `${field} must be a JSON object`);
  return value;
}

/**
 * Amounts that profiles sum (`properties.revenue`, `properties.total`) must be numbers a currency
 * can have: past `MAX_AMOUNT` a sum loses the cent, and past the double range it becomes Infinity,
 * which JSON stores as null. Text that is not a number is left to the reader, which ignores it.
 */
function checkAmounts(properties: JsonObject) {
  for (const key of ORDER_AMOUNT_FIELDS) {
    const value = properties[key];
    // JSON.parse reads 1e400 as Infinity; numeric text counts like a number, as the reader takes it.
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (Number.isNaN(n)) continue;
    if (Math.abs(n) > MAX_AMOUNT) {
      const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
      throw new Invalid(`properties.${key}`, `properties.${key} is ${shown}; an amount must lie between -${MAX_AMOUNT} and ${MAX_AMOUNT}`);
    }
  }
}

/**
 * JSON bytes of the message as stored, with the shared context merged under its own context (which
 * `shape` always sets, `{}` when absent) and the message id the server gives a message without
 * one; throws `too_large` past the message limit (on the message as sent, with the shared context)
 * or past what the request may still store.
 */
function storedBytes(m: JsonObject, message: ValidMessage, options: ValidateOptions): number {
  const ownBytes = jsonBytes(m);
  const bytes = ownBytes + (options.shared ? sharedBytesIn(options.shared, message.context) : 0);
  // The field is `context` when the shared context is what takes the message past a limit.
  const withShared = options.shared && bytes !== ownBytes ? " with the batch's shared context" : '';
  if (bytes > MAX_MESSAGE_BYTES) {
    const field = withShared && ownBytes <= MAX_MESSAGE_BYTES ? 'context' : undefined;
    throw new Invalid(field, `message is ${bytes} bytes${withShared}, over the limit of ${MAX_MESSAGE_BYTES}`, 'too_large');
  }
  const stored = bytes + (message.messageId === null ? AUTO_MESSAGE_ID_BYTES : 0);
  if (options.remainingBytes !== undefined && stored > options.remainingBytes) {
    throw new Invalid(
      withShared ? 'context' : undefined,
      `message is ${bytes} bytes${withShared}, past the ${MAX_STORED_BATCH_BYTES} bytes that one request may store; ` +
        (withShared ? 'send context per message, or smaller batches' : 'send smaller batches'),
      'too_large',
    );
  }
  return stored;
}

/** What the shared context adds to a message whose own context is `own`: the entries it does not override. */
function sharedBytesIn(shared: SharedContext, own: JsonObject): number {
  let bytes = shared.bytes;
  let count = shared.count;
  let ownCount = 0;
  for (const key in own) {
    ownCount++;
    const entry = shared.entryBytes.get(key);
    if (entry !== undefined) {
      bytes -= entry + 1;
      count--;
    }
  }
  if (count === 0) return 0;
  // `shared.bytes` counts a comma with every entry; into an empty object one comma fewer goes.
  return ownCount === 0 ? bytes - 1 : bytes;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * A batch's `context`, applied under each message's own (the message's entries win). Cleaned,
 * checked and measured once per batch, so that its cost does not repeat per message.
 */
export interface SharedContext {
  context: JsonObject;
  /** JSON bytes of each entry, `"key":value`. */
  entryBytes: Map<string, number>;
  /** Entries, each counted with a comma: what the context adds to a message that has a context. */
  bytes: number;
  count: number;
}

/**
 * Checks a batch's shared `context` once. Its warnings carry index 0 and name the field as in a
 * message (`context.page`): they hold for every message of the batch. A context nested too deep
 * is a reason to refuse the whole batch (`error`), since every message would carry it.
 */
export function prepareSharedContext(
  value: unknown,
): { shared: SharedContext | null; warnings: MessageIssue[] } | { error: string; issue: MessageIssue } {
  const warnings: MessageIssue[] = [];
  if (value === undefined || value === null) return { shared: null, warnings };
  if (!isObject(value)) {
    const message = "the batch's context is not a JSON object and was ignored";
    return { shared: null, warnings: [{ index: 0, code: 'field_dropped', field: 'context', message }] };
  }
  try {
    for (const path of clean(value, 1, 'context')) {
      warnings.push({ index: 0, code: 'field_dropped', field: path, message: `key ${path} of the batch's context is not allowed and was dropped` });
    }
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    const message = `the batch's context is nested deeper than ${MAX_DEPTH} levels`;
    const issue: MessageIssue = { index: 0, code: error.code, field: error.field, message };
    return { error: issue.message, issue };
  }
  checkContext(value, 0, warnings);
  const entryBytes = new Map<string, number>();
  let bytes = 0;
  for (const key of Object.keys(value)) {
    const entry = jsonBytes(key) + 1 + jsonBytes(value[key]);
    entryBytes.set(key, entry);
    bytes += entry + 1;
  }
  if (entryBytes.size === 0) return { shared: null, warnings };
  return { shared: { context: value, entryBytes, bytes, count: entryBytes.size }, warnings };
}

/** Fields of `context` that Rapport reads: a wrong type drops the field, not the message. */
function checkContext(context: JsonObject, index: number, warnings: MessageIssue[]) {
  const drop = (path: string, reason: string, holder: JsonObject, key: string) => {
    delete holder[key];
    warnings.push({ index, code: 'field_dropped', field: path, message: `${path} ${reason} and was dropped` });
  };
  const strings = (holder: JsonObject, prefix: string, keys: string[]) => {
    for (const key of keys) {
      const value = holder[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') drop(`${prefix}${key}`, 'is not a string', holder, key);
      else if (value.length > MAX_CONTEXT_STRING) holder[key] = value.slice(0, MAX_CONTEXT_STRING);
    }
  };
  // RudderStack sends its session id as a number; like ids, it is kept as a string.
  if (typeof context.sessionId === 'number' && Number.isFinite(context.sessionId)) context.sessionId = String(context.sessionId);
  strings(context, 'context.', ['userAgent', 'ip', 'locale', 'timezone', 'userHash', 'sessionId']);
  for (const key of ['page', 'campaign', 'firstTouch'] as const) {
    const value = context[key];
    if (value !== undefined && value !== null && !isObject(value)) drop(`context.${key}`, 'is not an object', context, key);
  }
  if (isObject(context.page)) {
    strings(context.page, 'context.page.', ['url', 'path', 'referrer', 'title', 'search', 'previous']);
  }
  if (isObject(context.campaign)) {
    strings(context.campaign, 'context.campaign.', Object.keys(context.campaign));
  }
  if (isObject(context.firstTouch)) {
    const first = context.firstTouch;
    strings(first, 'context.firstTouch.', ['referrer', 'landingUrl', 'at']);
    if (first.campaign !== undefined && !isObject(first.campaign)) {
      drop('context.firstTouch.campaign', 'is not an object', first, 'campaign');
    }
  }
}

/**
 * Drops keys that could pollute a prototype, anywhere in the message, and enforces the nesting
 * limit. Walks iteratively deep enough to reject pathological nesting without a stack overflow.
 */
function clean(root: JsonObject, rootDepth = 0, rootPath = ''): string[] {
  const removed: string[] = [];
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: rootDepth, path: rootPath }];
  while (stack.length) {
    const { value, depth, path } = stack.pop()!;
    if (depth > MAX_DEPTH) throw new Invalid(path || undefined, `message is nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (item !== null && typeof item === 'object') stack.push({ value: item, depth: depth + 1, path: `${path}[${i}]` });
      }
    } else if (value !== null && typeof value === 'object') {
      const object = value as JsonObject;
      for (const key of Object.keys(object)) {
        const childPath = path ? `${path}.${key}` : key;
        if (FORBIDDEN_KEYS.has(key)) {
          delete object[key];
          removed.push(childPath);
          continue;
        }
        const child = object[key];
        if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1, path: childPath });
      }
    }
  }
  return removed;
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
