import { RECOMMENDATION_EVENTS, SLOT_EVENTS } from '@rapport/protocol';
import type { DecideRequest, DecideResponse, OfferContent, SlotDecision } from '@rapport/protocol';
import type { renderCards } from './cards';
import { deliveryError } from './delivery';
import type { Module } from './types';

/** Attribute that marks a personalized slot; its value names the slot. */
export const SLOT_ATTR = 'data-rapport-slot';
/** Attribute a slot carries while its offer is being fetched (the slot is hidden meanwhile). */
export const PENDING_ATTR = 'data-rapport-pending';
/**
 * Attribute of a slot that the server rendered (see `@rapport/node`): the slot's decision as
 * JSON, `null` for "keep the default".
 */
export const DECISION_ATTR = 'data-rapport-decision';
/** Default of `slotTimeout`. */
export const SLOT_TIMEOUT_MS = 400;
/** Attribute of a product card: the product's id; `data-rapport-position` is its 1-based place. */
const PRODUCT_ATTR = 'data-rapport-product';

/** What `dist/sdk-cards.js` exports. */
export interface CardsModule {
  renderCards: typeof renderCards;
}

/**
 * Where the product cards come from: `{host}/sdk-cards.js`, imported the first time a slot's
 * offer is recommendations, so that pages without any do not download their code. An object so
 * that tests can stand in for the import; the comments keep the bundlers of applications that
 * use the ESM build from trying to resolve a URL of the server at build time.
 */
export const cardsModule = {
  load: (host: string): Promise<CardsModule> =>
    import(/* webpackIgnore: true */ /* @vite-ignore */ host + '/sdk-cards.js'),
};

/** The URL when it is http(s), resolved against the page; anything else (javascript:, data:) is dropped. */
export const safeUrl = (url: unknown): string | undefined => {
  try {
    const parsed = new URL(url as string, location.href);
    if (typeof url == 'string' && /^https?:$/.test(parsed.protocol)) return parsed.href;
  } catch {}
};

/**
 * An offer as DOM nodes, built with createElement and textContent only: nothing the server sends
 * is parsed as HTML, so no script can run. Class names are stable for sites to style:
 * `rapport-offer`, `rapport-offer__image`, `__title`, `__text`, `__link`.
 */
export const renderOffer = (content: OfferContent, onFollow: () => void): HTMLElement => {
  const make = (tag: string, part: string, text?: unknown) => {
    const el = document.createElement(tag);
    el.className = 'rapport-offer' + part;
    if (text) el.textContent = String(text);
    return el;
  };
  const root = make('div', '');
  const image = safeUrl(content.image);
  const link = safeUrl(content.link);
  if (image) {
    const img = root.appendChild(make('img', '__image'));
    img.setAttribute('src', image);
    img.setAttribute('alt', '');
  }
  if (content.title) root.appendChild(make('div', '__title', content.title));
  if (content.text) root.appendChild(make('p', '__text', content.text));
  if (link) {
    const a = root.appendChild(make('a', '__link', content.linkText || content.title || link));
    a.setAttribute('href', link);
    a.addEventListener('click', onFollow);
  }
  return root;
};

const recommends = (decision: SlotDecision) => !!decision.content && decision.content.type == 'recommendations';

/**
 * Personalized slots: `<div data-rapport-slot="home-hero">default</div>`. All slots of the page
 * are decided in one `POST /v1/decide`; slots added later (SPA) are decided when they appear.
 * A slot is hidden (only it, never the page) until its answer or `slotTimeout`, after which it
 * keeps its default content. An offer's impression is recorded once at least half of the slot
 * is visible, a click when its link is followed; a control visitor keeps the default, and the
 * control exposure is recorded under the same visibility rule, so both groups count alike.
 * A slot with `data-rapport-decision` was decided and rendered by the server: it is not hidden
 * and not asked for, and its events are recorded the same way. Product recommendations are
 * rendered by the cards module, imported only for them; their cards also record the product
 * list's impression and the product's click.
 */
export const slots: Module = (core) => {
  const { options, guard } = core;
  if (options.slots === false) return;
  const wait = options.slotTimeout == null ? SLOT_TIMEOUT_MS : +options.slotTimeout;
  const seen = new WeakSet<Element>();
  let cards: CardsModule | undefined;

  const whenVisible = (el: Element, record: () => void) => {
    if (typeof IntersectionObserver != 'function') return record();
    const observer = new IntersectionObserver(
      guard((entries: IntersectionObserverEntry[]) => {
        if (entries.some((entry) => entry.isIntersecting && entry.intersectionRatio >= 0.5)) {
          observer.disconnect();
          record();
        }
      }),
      { threshold: 0.5 },
    );
    observer.observe(el);
  };

  // `rendered`: the server put the offer in the page already (a bootstrapped slot); only its
  // links, or its product cards, need counting.
  const show = (el: HTMLElement, slot: string, decision: SlotDecision, rendered?: boolean) => {
    const { offerId, content } = decision;
    const properties = { offerId, slot, variant: decision.variant };
    const track = (event: string) => () => core.track(event, properties);
    if (decision.variant == 'control') return whenVisible(el, track(SLOT_EVENTS.control));
    const follow = guard(track(SLOT_EVENTS.click));
    // Product recommendations: the product events carry the list's properties.
    const list = recommends(decision) && { offerId, slot, strategy: content!.strategy };
    const pick = (product: object) => {
      follow();
      core.track(RECOMMENDATION_EVENTS.click, { ...list, ...product });
    };
    if (!rendered) {
      const offer =
        content &&
        (list
          ? cards && cards.renderCards(content, (item, position) => pick({ product_id: item.productId, position }))
          : renderOffer(content, follow));
      // Nothing to show (no content, or none of it usable): the default stays.
      if (!offer || !offer.firstChild) return;
      el.textContent = '';
      el.appendChild(offer);
    }
    const productOf = (card: Element) => ({
      product_id: card.getAttribute(PRODUCT_ATTR),
      position: +card.getAttribute('data-rapport-position')!,
    });
    // One listener on the slot, which finds the link or card at the click: a slot the server
    // rendered can be adopted while the parser has not reached its links yet.
    if (rendered)
      el.addEventListener(
        'click',
        guard((event: Event) => {
          const target = event.target as Element;
          const hit = target.closest && target.closest(list ? '[' + PRODUCT_ATTR + ']' : 'a');
          if (hit && el.contains(hit)) list ? pick(productOf(hit)) : follow();
        }),
      );
    el.setAttribute('data-rapport-offer', offerId);
    whenVisible(el, () => {
      track(SLOT_EVENTS.impression)();
      // The cards in the slot, whoever rendered them: the list's impression names what was shown.
      if (list) core.track(RECOMMENDATION_EVENTS.impression, { ...list, products: Array.from(el.querySelectorAll('[' + PRODUCT_ATTR + ']'), productOf) });
    });
  };

  const fill = (): Promise<void> | undefined => {
    const els: HTMLElement[] = [];
    document.querySelectorAll<HTMLElement>('[' + SLOT_ATTR + ']').forEach((el) => {
      if (seen.has(el)) return;
      seen.add(el);
      const given = el.getAttribute(DECISION_ATTR);
      if (given == null) return els.push(el);
      // Decided while the server rendered the page: nothing to hide or to ask again, only the
      // impression, the click or the control exposure to record, as for an answer of ours.
      guard(() => {
        const decision: SlotDecision | null = JSON.parse(given);
        if (decision) show(el, el.getAttribute(SLOT_ATTR)!, decision, true);
      })();
    });
    // Without consent (or opted out) slots keep their default, also once consent comes: the
    // visitor has seen that content already. Slots that appear after it are decided.
    if (!els.length || !core.active()) return;
    const names: string[] = [];
    const visibility = els.map((el) => {
      const name = el.getAttribute(SLOT_ATTR)!;
      if (names.indexOf(name) < 0) names.push(name);
      el.setAttribute(PENDING_ATTR, '');
      const before = el.style.visibility;
      el.style.visibility = 'hidden';
      return before;
    });
    const request: DecideRequest = {
      writeKey: options.writeKey,
      anonymousId: core.anonymousId(),
      userId: core.userId(),
      slots: names,
      context: core.context(),
    };
    return new Promise<void>((resolve) => {
      // For each slot whichever comes first, its answer or the timeout; a late answer is ignored,
      // so a slot never flips from its default to an offer in front of the visitor. A slot with
      // recommendations stays hidden, within the same timeout, until the cards module is there;
      // the others show their answer meanwhile. Returns whether a slot waits for the module.
      const finish = guard((answer?: DecideResponse | void) => {
        let waiting = false;
        els.forEach((el, i) => {
          const slot = el.getAttribute(SLOT_ATTR)!;
          const decision = answer && answer.slots && answer.slots[slot];
          if (!el.hasAttribute(PENDING_ATTR)) return;
          if (decision && recommends(decision) && !cards) return (waiting = true);
          el.removeAttribute(PENDING_ATTR);
          el.style.visibility = visibility[i];
          if (decision) guard(show)(el, slot, decision);
        });
        if (!waiting) {
          clearTimeout(timer);
          resolve();
        }
        return waiting;
      });
      const timer = setTimeout(finish, wait);
      Promise.resolve()
        // text/plain like the batch: no CORS preflight to wait for.
        .then(() => fetch(core.host + '/v1/decide', { method: 'POST', body: JSON.stringify(request) }))
        .then<DecideResponse | void>((res) =>
          res.ok ? res.json() : core.report(deliveryError(res.status)),
        )
        .then((answer) => {
          if (finish(answer))
            return cardsModule.load(core.host).then((module) => {
              cards = module;
              finish(answer);
            });
        })
        // A failed module keeps the defaults of the slots that waited for it.
        .catch((error) => {
          core.report(error);
          finish();
        });
    });
  };

  if (typeof MutationObserver == 'function') {
    let pending: ReturnType<typeof setTimeout> | undefined;
    new MutationObserver(() => {
      clearTimeout(pending);
      pending = setTimeout(guard(fill));
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
  return fill();
};
