import type { Context, JsonObject } from '@rapport/protocol';

/**
 * Options of {@link createRapport}. The script tag reads the same options from its `data-*`
 * attributes (`data-write-key`, `data-require-consent`, `data-clicks="false"`, ...).
 *
 * @example
 * createRapport({
 *   writeKey: 'wk_live_123',
 *   host: 'https://rapport.example.com',
 *   requireConsent: true,
 *   onError: (error) => console.warn('rapport', error),
 * });
 */
export interface RapportOptions {
  /** The site's write key, from the Rapport console. Public: it can only send. */
  writeKey: string;
  /**
   * Origin of the Rapport server, without a trailing path.
   * @default '' (the page's own origin; the script tag uses the origin it was loaded from)
   */
  host?: string;
  /**
   * Where the SDK sends, when that is not `host`: a path of the site's own origin that forwards
   * to Rapport (`'/rp'`, see `rapportProxy()` of `@rapport/node`), so that blockers' lists of
   * third-party hosts do not drop the site's events. A path or a full URL; wins over `host`.
   * @default undefined (`host`)
   */
  apiHost?: string;
  /**
   * Receives every error the SDK catches: failed deliveries (with `status` and `details`),
   * rejected messages, bad arguments. The SDK never throws into the page and never logs.
   * @default undefined (errors are dropped)
   */
  onError?: (error: unknown) => void;
  /**
   * Domain attribute of the anonymous id cookie, to share one id across subdomains
   * (`'.example.com'`).
   * @default undefined (the page's host only)
   */
  cookieDomain?: string;
  /**
   * Consent mode: nothing is stored (no cookie, no localStorage) and nothing is sent until
   * `consent(true)`. Events of the page are held in memory until then.
   * @default false
   */
  requireConsent?: boolean;
  /**
   * Treat Global Privacy Control (`navigator.globalPrivacyControl`) and Do Not Track as an
   * opt-out: nothing is stored or sent for such visitors, and slots keep their defaults. GPC is
   * binding in California and Colorado; `false` (`data-honor-privacy-signals="false"`) ignores
   * both, for a site that records consent otherwise.
   * @default true
   */
  honorPrivacySignals?: boolean;
  /**
   * Cookieless mode (`data-cookieless`): no cookie and nothing in localStorage, not even read.
   * Messages carry no anonymous id; the server derives one from the site, the truncated IP and
   * the user agent with a salt that changes every day, so a visitor's visits of one day join up,
   * and those of different days do not. Slots still work. `identify` still links the day's visits
   * to the user.
   * @default false
   */
  cookieless?: boolean;
  /**
   * Record a page view on load and on single-page-app navigations (pushState, replaceState,
   * popstate).
   * @default true
   */
  pageviews?: boolean;
  /**
   * Count a change of the URL's hash as a navigation (for hash-routed apps).
   * @default false
   */
  hashChanges?: boolean;
  /**
   * Record clicks on links, buttons and `[data-rapport-track]` elements.
   * @default true
   */
  clicks?: boolean;
  /**
   * Record form submits (form id, name and field names; never values).
   * @default true
   */
  forms?: boolean;
  /**
   * Fill `[data-rapport-slot]` elements with personalized offers.
   * @default true
   */
  slots?: boolean;
  /**
   * Milliseconds to wait for the offers of the page's slots before keeping the default content.
   * @default 400
   */
  slotTimeout?: number;
}

/** Options of {@link Rapport.identify}. */
export interface IdentifyOptions {
  /**
   * hex(HMAC-SHA256(site secret, userId)), computed by the site's backend. Kept with the user id
   * and sent as `context.userHash` with every message that carries it.
   */
  userHash?: string;
}

/**
 * The SDK, as `window.rapport` or from {@link createRapport}. Every method is safe to call with
 * any arguments: mistakes go to `onError`, never into the page.
 */
export interface Rapport {
  /**
   * Records a page view. Called automatically on load and on SPA navigations unless
   * `pageviews: false`.
   * @example rapport.page('Pricing', { plan: 'pro' });
   */
  page(name?: string | JsonObject, properties?: JsonObject): void;
  /**
   * Records an event.
   * @example rapport.track('Order Completed', { orderId: 'o-1', revenue: 120, currency: 'EUR' });
   */
  track(event: string, properties?: JsonObject): void;
  /**
   * Ties the visitor to a user id of the site (after login or sign-up) and records traits.
   * The user id is remembered until `reset()`. Traits alone: `identify({ plan: 'pro' })`. A user
   * id is a string or a number of 1 to 256 characters; anything else goes to `onError`.
   * @example rapport.identify('u-42', { email: 'ann@example.com' }, { userHash: 'a1b2…' });
   */
  identify(userId: string | JsonObject, traits?: JsonObject, options?: IdentifyOptions): void;
  /**
   * Links a new user id to a previous id (by default the current user or anonymous id).
   * @example rapport.alias('u-42');
   */
  alias(userId: string, previousId?: string): void;
  /**
   * Logout: a new anonymous id; the user id, user hash, session and first touch are forgotten.
   * @example logoutButton.onclick = () => rapport.reset();
   */
  reset(): void;
  /**
   * Stops all storing and sending, remembered in this browser; the waiting queue is deleted.
   * @example rapport.optOut();
   */
  optOut(): void;
  /**
   * Undoes `optOut()`.
   * @example rapport.optIn();
   */
  optIn(): void;
  /**
   * Gives (`true`) or withdraws (`false`) consent. Withdrawing deletes everything stored.
   * @example cmp.on('consent', (ok) => rapport.consent(ok));
   */
  consent(granted: boolean): void;
  /**
   * Sends what waits now. Resolves when the attempt is over; never rejects.
   * @example await rapport.flush();
   */
  flush(): Promise<void>;
  /**
   * Calls back once the SDK has started: the first page view is recorded and the slots of the
   * page are filled (or kept at their default).
   * @example rapport.ready(() => console.log(rapport.anonymousId()));
   */
  ready(callback: () => void): void;
  /**
   * The anonymous id of this browser.
   * @example fetch('/cart', { headers: { 'X-Rapport-Id': rapport.anonymousId() } });
   */
  anonymousId(): string;
  /**
   * The user id given to `identify`, if any.
   * @example if (!rapport.userId()) showLogin();
   */
  userId(): string | undefined;
}

/**
 * What a module sees of the SDK: the public API and a few internals. Modules (clickstream
 * capture, slots) are plain functions the core knows only by this type, so a bundle that leaves
 * one out does not carry its code.
 */
export interface Core extends Rapport {
  readonly options: Readonly<RapportOptions>;
  /** `options.apiHost`, else `options.host`, without a trailing slash. */
  readonly host: string;
  /** The context every message carries now (page, campaign, session, first touch, ...). */
  context(): Context;
  /** Whether the SDK may store and send now (opt-out, consent, privacy signals). */
  active(): boolean;
  /** Wraps a function so that it never throws; errors go to `onError`. */
  guard<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | undefined;
  /** Hands an error to `onError`. */
  report(error: unknown): void;
}

/**
 * An opt-in part of the SDK. It may return a promise that `ready()` waits for.
 *
 * @example
 * const logNavigation: Module = (core) => { core.track('SDK Started'); };
 * createCore({ writeKey: 'wk' }, [capture, logNavigation]);
 */
export type Module = (core: Core) => void | Promise<unknown>;

/**
 * An error given to `onError` about a delivery: `status` is the HTTP status (absent for network
 * failures), `details` the server's answer (its `rejected` list or error body).
 */
export interface DeliveryError extends Error {
  status?: number;
  details?: unknown;
}
