import {
  MAX_DEPTH,
  MAX_ID_LENGTH,
  MAX_MESSAGE_BYTES,
  MAX_NAME_LENGTH,
  MESSAGE_TYPES,
  type JsonObject,
  type MessageIssue,
  type MessageType,
} from '@rapport/protocol';

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
  /** The whole message as sent, cleaned, unknown fields included. */
  raw: JsonObject;
}

export type Validation =
  | { ok: true; message: ValidMessage; warnings: MessageIssue[] }
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
  /** Skip measuring the message: the caller knows the whole body is under the limit. */
  sizeKnownSmall?: boolean;
}

/**
 * Checks one message of the Segment spec in the order size, shape, bounds, and returns it
 * typed, or the reason it was rejected (with the field concerned). Never throws.
 */
export function validateMessage(input: unknown, index: number, options: ValidateOptions = {}): Validation {
  const warnings: MessageIssue[] = [];
  try {
    if (!isObject(input)) throw new Invalid(undefined, 'a message must be a JSON object');
    if (!options.sizeKnownSmall) {
      const bytes = Buffer.byteLength(JSON.stringify(input));
      if (bytes > MAX_MESSAGE_BYTES) {
        throw new Invalid(undefined, `message is ${bytes} bytes, over the limit of ${MAX_MESSAGE_BYTES}`, 'too_large');
      }
    }
    const removed = clean(input);
    for (const path of removed) {
      warnings.push({ index, code: 'field_dropped', field: path, message: `key ${path} is not allowed and was dropped` });
    }
    const message = shape(input, options.type);
    checkContext(message.context, index, warnings);
    return { ok: true, message, warnings };
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

function shape(m: JsonObject, pathType: MessageType | undefined): ValidMessage {
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
  const anonymousId = id(m, 'anonymousId');
  const userId = id(m, 'userId');
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
    traits: messageType === 'identify' || messageType === 'group' ? optionalObject(m, 'traits') : null,
    context,
    raw: m,
  };
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
function clean(root: JsonObject): string[] {
  const removed: string[] = [];
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 0, path: '' }];
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
