import { SESSION_TIMEOUT_MS } from '@rapport/protocol';
import type { Context, FirstTouch, JsonObject, Message } from '@rapport/protocol';
import { campaignOf, idOf, knownTimezone, objectOr, pageOf, uuid } from './context';
import { createDelivery } from './delivery';
import { ID, createStore } from './storage';
import type { Core, IdentifyOptions, Module, RapportOptions } from './types';
import { VERSION } from './version';

/**
 * The SDK without any module: identity, context, privacy and delivery. {@link createRapport}
 * adds clickstream capture and slots; call this to pick modules yourself and ship less.
 *
 * @example
 * import { capture, createCore } from '@rapport/sdk';
 * const rapport = createCore({ writeKey: 'wk_live_123', host: 'https://rapport.example.com' }, [capture]);
 */
export function createCore(given: RapportOptions, modules: Module[] = []): Core {
  // A copy (and no crash on a missing object): the page cannot change options behind our back.
  const options = { ...given };
  const onError = options.onError;
  const host = (options.apiHost || options.host || '').replace(/\/+$/, '');
  const report = (error: unknown) => {
    try {
      if (onError) onError(error);
    } catch {}
  };
  const guard: Core['guard'] =
    (fn) =>
    (...args) => {
      try {
        return fn(...args);
      } catch (error) {
        report(error);
      }
    };

  const cookieless = options.cookieless;
  const store = createStore(options.cookieDomain, cookieless);
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
  const signals = options.honorPrivacySignals !== false && (nav.globalPrivacyControl === true || nav.doNotTrack == '1');
  let granted = !options.requireConsent || store.get('consent') == '1';
  // Opted out or signalled: nothing is even queued. Waiting for consent: queued in memory.
  const blocked = () => signals || store.get('out') == '1';
  const active = () => granted && !blocked();
  store.persist(active());

  let anonymousId = store.get(ID) || uuid();
  // Writing it back renews the cookie for a year and restores a lost cookie or localStorage copy.
  store.set(ID, anonymousId);
  let userId = store.get('user');
  let userHash = store.get('hash');
  let first: FirstTouch | undefined;
  try {
    first = objectOr(JSON.parse(store.get('first')!));
  } catch {}
  // A page's referrer is the document's for its first view; on later (SPA) views it is the page
  // before, as it would be on a multi-page site. `previous` is the page viewed before this one.
  let referrer = document.referrer;
  let previous: string | undefined;
  let current: string | undefined;

  const context = (): Context => {
    const now = Date.now();
    const [id, at] = (store.get('session') || '').split('.');
    const sessionId = id && now - +at < SESSION_TIMEOUT_MS ? id : uuid();
    store.set('session', sessionId + '.' + now);
    if (!first) {
      first = {
        referrer: document.referrer,
        landingUrl: location.href,
        campaign: campaignOf(location.search),
        at: new Date(now).toISOString(),
      };
      store.set('first', JSON.stringify(first));
    }
    return {
      page: pageOf(referrer, previous),
      campaign: campaignOf(location.search),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone: knownTimezone(),
      library: { name: 'rapport.js', version: VERSION },
      sessionId,
      firstTouch: first,
      userHash: userId ? userHash : undefined,
      cookieless: cookieless || undefined,
    };
  };

  const send = (type: Message['type'], fields: JsonObject) => {
    if (blocked()) return;
    const message = {
      type,
      messageId: uuid(),
      // Cookieless: the server derives the visitor's id of the day.
      anonymousId: cookieless ? undefined : anonymousId,
      userId,
      timestamp: new Date().toISOString(),
      context: context(),
      ...fields,
    } as Message;
    // The hash vouches for the stored user id only (alias may name another).
    if (message.userId != userId) message.context!.userHash = undefined;
    delivery.push(message);
  };

  const reset = () => {
    store.set(ID, (anonymousId = uuid()));
    store.set('user', (userId = userHash = first = undefined));
    store.set('hash', undefined);
    store.set('session', undefined);
    store.set('first', undefined);
  };

  const delivery = createDelivery({ url: host + '/v1/batch', writeKey: options.writeKey, store, active, report, guard });

  const core: Core = {
    options,
    host,
    context,
    active,
    guard,
    report,
    page: guard((name?: unknown, properties?: unknown) => {
      if (objectOr(name)) {
        properties = name;
        name = undefined;
      }
      if (current) previous = referrer = current;
      else if (!document.referrer.indexOf(location.origin + '/')) previous = document.referrer;
      current = location.href;
      send('page', { name: name == null ? undefined : String(name), properties: objectOr(properties) || {} });
    }),
    track: guard((event: unknown, properties?: unknown) => {
      if (!event || typeof event != 'string') throw new TypeError('rapport: event');
      send('track', { event, properties: objectOr(properties) || {} });
    }),
    identify: guard((id: unknown, traits?: unknown, opts?: IdentifyOptions) => {
      let next = userId;
      if (objectOr(id)) {
        opts = traits as IdentifyOptions;
        traits = id;
      } else next = idOf(id);
      if (next) {
        // A new user's hash comes with it; the same user keeps the one it has.
        userHash = (opts && opts.userHash) || (next == userId ? userHash : undefined);
        store.set('user', (userId = next));
        store.set('hash', userHash);
      }
      send('identify', { traits: objectOr(traits) || {} });
    }),
    alias: guard((to: unknown, from?: unknown) => {
      send('alias', { userId: idOf(to), previousId: from ? idOf(from) : userId || anonymousId });
    }),
    reset: guard(reset),
    optOut: guard(() => {
      delivery.clear();
      store.set('out', '1', true);
      store.persist(false);
    }),
    optIn: guard(() => {
      store.set('out', undefined, true);
      store.persist(active());
      delivery.flush();
    }),
    consent: guard((ok: boolean) => {
      if ((granted = !!ok)) {
        store.persist(active());
        store.set('consent', '1');
        delivery.flush();
      } else {
        // Withdrawn: what was stored and queued goes, and so does the identity it belonged to;
        // an opt-out stays, since the visitor's own refusal outranks the site's consent banner.
        const out = store.get('out');
        delivery.clear();
        store.clear();
        store.set('out', out, true);
        store.persist(false);
        reset();
      }
    }),
    flush: () => guard(delivery.flush)() || Promise.resolve(),
    ready: (callback) => {
      started.then(() => guard(callback)());
    },
    anonymousId: () => anonymousId,
    userId: () => userId,
  };

  // Modules start after the current script: the script tag replays queued calls (identify,
  // consent, ...) first, and the page's own code is not held up.
  const started = Promise.resolve().then(() =>
    Promise.all(modules.map((module) => Promise.resolve(guard(module)(core)).catch(report))),
  );
  return core;
}
