import { createHmac } from 'node:crypto';
import {
  redirectSignedText,
  type Context,
  type DecideRequest,
  type DecideResponse,
  type JsonObject,
  type Message,
  type RedirectQuery,
} from '@rapport/protocol';
import { Delivery, type FlushResult } from './delivery.js';
import { VERSION } from './version.js';

/** Options of {@link createRapport}. */
export interface RapportNodeOptions {
  /** The Rapport server, e.g. `https://rapport.example.com`. */
  host: string;
  /** The site's write key. */
  writeKey: string;
  /**
   * The site secret. With it calls are trusted: user ids need no `userHash`, `context.ip` is
   * believed, and signed links (`redirectUrl`) and first-party proxying become possible. Keep it
   * on the server. @default undefined (calls go with the write key, as a browser's do)
   */
  secret?: string;
  /** Milliseconds `decide()` waits before it keeps the defaults. @default 150 */
  timeout?: number;
  /** Queued messages that start a delivery by themselves. @default 20 */
  flushAt?: number;
  /** Milliseconds after which queued messages are sent by themselves; 0: only on `flush()`. @default 1000 */
  flushInterval?: number;
  /** Tries per batch before `flush()` gives it up. @default 3 */
  attempts?: number;
  /** Receives what failed: `decide()` timeouts, refused or undeliverable batches. @default undefined */
  onError?: (error: unknown) => void;
  /** For tests, or a runtime with a fetch of its own. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Who a call is about: one of the two ids at least. */
export type Who = { anonymousId: string; userId?: string } | { anonymousId?: string; userId: string };

/** Fields every message takes besides who it is about. */
export interface MessageFields {
  context?: Context;
  /** When it happened. @default now */
  timestamp?: Date | string;
  /** Your id of the message, so a retry of yours is stored once. @default a new UUID */
  messageId?: string;
}

export type TrackInput = Who & MessageFields & { event: string; properties?: JsonObject };
export type PageInput = Who & MessageFields & { name?: string; properties?: JsonObject };
export type IdentifyInput = Who & MessageFields & { traits?: JsonObject };
export type DecideInput = Omit<DecideRequest, 'writeKey'> & Who;

/** Fields of {@link RapportClient.redirectUrl}. */
export type RedirectInput = Partial<Who> & {
  /** The target: an absolute http(s) URL. */
  to: string;
  /** Event recorded on the click. @default 'Link Clicked' */
  event?: string;
  properties?: JsonObject;
  /** Seconds the link stays valid. @default forever */
  expiresIn?: number;
};

export interface RapportClient {
  /**
   * The decisions for the slots of a page being rendered. Never throws: on a timeout, an error
   * or a refusal the answer is `{ slots: {} }`, every slot keeping its default.
   */
  decide(request: DecideInput): Promise<DecideResponse>;
  track(message: TrackInput): void;
  page(message: PageInput): void;
  identify(message: IdentifyInput): void;
  /** Sends everything queued; resolves when it is delivered or given up on, never rejects. */
  flush(): Promise<FlushResult>;
  /** `hex(HMAC-SHA256(secret, userId))`, for a page that identifies its visitor in the browser. */
  userHash(userId: string): string;
  /** A signed `/v1/r` link: records the click, then forwards to `to`. Needs the secret. */
  redirectUrl(input: RedirectInput): string;
  /** Stops the timer, sends what is queued. */
  close(): Promise<FlushResult>;
}

/**
 * Rapport for a site's own server: decisions for server-rendered pages, and the Segment wire
 * (`track`, `page`, `identify`) with a `flush()` that awaits delivery, for serverless functions.
 *
 * @example
 * import { createRapport, visitorId, renderSlot } from '@rapport/node';
 * const rapport = createRapport({ host: 'https://rapport.example.com', writeKey: 'wk_live_123', secret: process.env.RAPPORT_SECRET });
 * const { anonymousId, setCookie } = visitorId(req.headers.cookie);
 * const { slots } = await rapport.decide({ anonymousId, slots: ['home-hero'], context: { page: { url } } });
 * rapport.track({ userId: 'u-42', event: 'Order Completed', properties: { revenue: 120 } });
 * await rapport.flush();
 */
export function createRapport(options: RapportNodeOptions): RapportClient {
  const host = options.host.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(host)) throw new TypeError(`createRapport: host must be an http(s) URL, got "${options.host}"`);
  if (!options.writeKey) throw new TypeError('createRapport: writeKey is required');
  const doFetch = options.fetch ?? globalThis.fetch;
  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {}
  };
  const secret = options.secret;
  const auth: Record<string, string> = secret
    ? { authorization: `Bearer ${secret}` }
    : { authorization: `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}` };
  const delivery = new Delivery({
    url: `${host}/v1/batch`,
    headers: auth,
    fetch: doFetch,
    attempts: options.attempts ?? 3,
    timeout: 10_000,
    onError: report,
  });
  const flushAt = options.flushAt ?? 20;
  const interval = options.flushInterval ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const enqueue = (message: Message) => {
    if (!message.anonymousId && !message.userId) {
      report(new TypeError(`rapport: a ${message.type} needs an anonymousId or a userId`));
      return;
    }
    if (!delivery.push(message)) return;
    if (delivery.pending >= flushAt) void delivery.flush();
    else if (interval > 0 && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void delivery.flush();
      }, interval);
      // A pending send must not keep a script alive; flush() is how to wait for it.
      timer.unref?.();
    }
  };

  const common = (type: Message['type'], input: Who & MessageFields): Message =>
    ({
      type,
      messageId: input.messageId ?? crypto.randomUUID(),
      ...(input.anonymousId ? { anonymousId: input.anonymousId } : {}),
      ...(input.userId ? { userId: input.userId } : {}),
      timestamp: input.timestamp instanceof Date ? input.timestamp.toISOString() : (input.timestamp ?? new Date().toISOString()),
      context: { ...input.context, library: { name: '@rapport/node', version: VERSION } },
    }) as Message;

  const sign = (text: string) => {
    if (!secret) throw new TypeError('rapport: signing needs the site secret (createRapport({ secret }))');
    return createHmac('sha256', secret).update(text).digest('base64url');
  };

  return {
    async decide(request) {
      const body: DecideRequest = {
        slots: request.slots,
        ...(request.anonymousId ? { anonymousId: request.anonymousId } : {}),
        ...(request.userId ? { userId: request.userId } : {}),
        ...(request.context ? { context: request.context } : {}),
        ...(secret ? {} : { writeKey: options.writeKey }),
      };
      try {
        const res = await doFetch(`${host}/v1/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(secret ? auth : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeout ?? 150),
        });
        if (!res.ok) throw Object.assign(new Error(`rapport: /v1/decide answered ${res.status}: ${(await res.text()).slice(0, 500)}`), { status: res.status });
        const answer = (await res.json()) as DecideResponse;
        if (!answer || typeof answer.slots !== 'object' || answer.slots === null) throw new Error('rapport: /v1/decide answered without slots');
        return answer;
      } catch (error) {
        report(error);
        return { slots: {} };
      }
    },
    track(input) {
      enqueue({ ...common('track', input), event: input.event, ...(input.properties ? { properties: input.properties } : {}) } as Message);
    },
    page(input) {
      enqueue({ ...common('page', input), ...(input.name ? { name: input.name } : {}), ...(input.properties ? { properties: input.properties } : {}) } as Message);
    },
    identify(input) {
      enqueue({ ...common('identify', input), ...(input.traits ? { traits: input.traits } : {}) } as Message);
    },
    flush() {
      clearTimeout(timer);
      timer = undefined;
      return delivery.flush();
    },
    userHash(userId) {
      if (!secret) throw new TypeError('rapport: userHash needs the site secret (createRapport({ secret }))');
      return createHmac('sha256', secret).update(userId, 'utf8').digest('hex');
    },
    redirectUrl(input) {
      const target = new URL(input.to);
      if (!/^https?:$/.test(target.protocol)) throw new TypeError(`rapport: redirectUrl needs an http(s) target, got "${input.to}"`);
      const query: RedirectQuery = {
        k: options.writeKey,
        // What the server will parse and send the browser to: the normalised URL is what is signed.
        to: target.href,
        ...(input.event ? { e: input.event } : {}),
        ...(input.anonymousId ? { a: input.anonymousId } : {}),
        ...(input.userId ? { u: input.userId } : {}),
        ...(input.properties ? { p: JSON.stringify(input.properties) } : {}),
        ...(input.expiresIn ? { x: String(Math.floor(Date.now() / 1000) + input.expiresIn) } : {}),
      };
      const search = new URLSearchParams(query as unknown as Record<string, string>);
      search.set('s', sign(redirectSignedText(query)));
      return `${host}/v1/r?${search}`;
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
      return delivery.flush();
    },
  };
}
