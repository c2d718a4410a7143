/**
 * Messages of the Segment tracking spec, as Rapport accepts them on `/v1/batch` and `/v1/{type}`.
 * Unknown extra fields are allowed everywhere: the server keeps them.
 */

/** The six message types of the Segment spec. */
export const MESSAGE_TYPES = ['track', 'page', 'identify', 'alias', 'screen', 'group'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/**
 * The short paths of Segment's browser library (analytics-next), accepted beside the long ones:
 * `/v1/t` is `/v1/track`, and `/v1/b` is `/v1/batch`.
 */
export const SHORT_PATHS: Readonly<Record<string, MessageType | 'batch'>> = {
  t: 'track',
  p: 'page',
  i: 'identify',
  a: 'alias',
  s: 'screen',
  g: 'group',
  b: 'batch',
};

/** A JSON object as it arrives on the wire. */
export type JsonObject = { [key: string]: unknown };

/** `context.page`: what the browser knows about the page the message comes from. */
export interface PageContext {
  url?: string;
  path?: string;
  referrer?: string;
  title?: string;
  search?: string;
  /** Rapport's SDK: the URL of the page viewed before this one, to rebuild navigation paths. */
  previous?: string;
  [key: string]: unknown;
}

/** `context.campaign`: UTM parameters and advertising click ids of the landing URL. */
export interface Campaign {
  name?: string;
  source?: string;
  medium?: string;
  term?: string;
  content?: string;
  [clickIdOrExtra: string]: string | undefined;
}

/** First touch as the SDK remembers it from the visitor's first page view. */
export interface FirstTouch {
  referrer?: string;
  landingUrl?: string;
  campaign?: Campaign;
  /** ISO-8601 time of the first visit. */
  at?: string;
}

export interface Context {
  page?: PageContext;
  campaign?: Campaign;
  userAgent?: string;
  locale?: string;
  timezone?: string;
  /** Only honoured on calls made with the site secret; browsers get the socket address. */
  ip?: string;
  library?: { name: string; version: string };
  /** hex(HMAC-SHA256(site secret, userId)), computed by the site's backend. */
  userHash?: string;
  /** Rapport's SDK: the browser session id. */
  sessionId?: string;
  firstTouch?: FirstTouch;
  /**
   * Rapport's SDK: how many messages its bounded queue dropped (oldest first) before this one
   * could be sent, so that a gap in the data shows.
   */
  dropped?: number;
  /**
   * Rapport's SDK in cookieless mode: the browser stores nothing and sends no anonymousId; the
   * server derives one per day from the site, the truncated IP and the user agent.
   */
  cookieless?: boolean;
  [key: string]: unknown;
}

interface BaseMessage {
  type: MessageType;
  messageId?: string;
  anonymousId?: string;
  userId?: string;
  /** ISO-8601 time of the event on the sender's clock. */
  timestamp?: string;
  /** ISO-8601 time the sender sent the message; used to correct clock skew. */
  sentAt?: string;
  context?: Context;
  integrations?: JsonObject;
  [key: string]: unknown;
}

export interface TrackMessage extends BaseMessage {
  type: 'track';
  event: string;
  properties?: JsonObject;
}

export interface PageMessage extends BaseMessage {
  type: 'page';
  name?: string;
  category?: string;
  properties?: JsonObject;
}

export interface ScreenMessage extends BaseMessage {
  type: 'screen';
  name?: string;
  properties?: JsonObject;
}

export interface IdentifyMessage extends BaseMessage {
  type: 'identify';
  traits?: JsonObject;
}

export interface AliasMessage extends BaseMessage {
  type: 'alias';
  previousId: string;
  userId: string;
}

export interface GroupMessage extends BaseMessage {
  type: 'group';
  groupId: string;
  traits?: JsonObject;
}

export type Message =
  | TrackMessage
  | PageMessage
  | ScreenMessage
  | IdentifyMessage
  | AliasMessage
  | GroupMessage;

/** Body of `POST /v1/batch`. `writeKey` is for senders that cannot set headers (sendBeacon). */
export interface BatchRequest {
  batch: Message[];
  sentAt?: string;
  context?: Context;
  writeKey?: string;
}

/** A message of a batch that was rejected, or kept with a remark. */
export interface MessageIssue {
  /** Position of the message in the batch (0 for the single-message endpoints). */
  index: number;
  /** Machine-readable reason, e.g. `invalid`, `too_large`, `duplicate`, `unverified_user`. */
  code: string;
  /** The field concerned, as a path (`context.page.url`), when there is one. */
  field?: string;
  message: string;
}

/**
 * Answer of the collect endpoints. `success` is true when every accepted message is committed;
 * `rejected` lists messages that were not stored, `warnings` stored messages with a remark.
 */
export interface CollectResponse {
  success: true;
  accepted?: number;
  rejected?: MessageIssue[];
  warnings?: MessageIssue[];
}
