import type { OfferContent, SlotDecision } from '@rapport/protocol';

/** The SDK's attributes: a slot, and the decision the server made for it. */
const SLOT_ATTR = 'data-rapport-slot';
const DECISION_ATTR = 'data-rapport-decision';

/** Text for HTML: element content and quoted attribute values alike. */
export const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** An absolute http(s) URL or a path of the page's own site; anything else (javascript:) is dropped. */
const safeUrl = (url: unknown): string | undefined => {
  if (typeof url !== 'string') return undefined;
  if (/^\/(?![/\\])/.test(url)) return url;
  try {
    return /^https?:$/.test(new URL(url).protocol) ? url : undefined;
  } catch {
    return undefined;
  }
};

// Formatters by locale and currency: building one costs far more than formatting with it.
const formats = new Map<string, Intl.NumberFormat>();

/**
 * A price as the browser SDK shows it: in the currency when it is a known code, else the number;
 * a malformed locale falls back to the default one.
 */
function formatPrice(value: number, currency: string | null, locale: string | undefined): string {
  if (!currency) return String(value);
  const format = (tag: string | undefined) => {
    const key = `${tag ?? ''} ${currency}`;
    let found = formats.get(key);
    if (!found) {
      found = new Intl.NumberFormat(tag, { style: 'currency', currency });
      // Keys come from the catalog and the site's code: few, but not to be trusted to stay few.
      if (formats.size < 1000) formats.set(key, found);
    }
    return found.format(value);
  };
  try {
    try {
      return format(locale);
    } catch {
      return format(undefined);
    }
  } catch {
    return String(value);
  }
}

/**
 * Recommended products as HTML, the same cards as the browser SDK's cards module renders
 * (`rapport-cards`, `rapport-card`, `__image`, `__name`, `__price`, with `data-rapport-product`
 * and the 1-based `data-rapport-position`, which the SDK reads to record the product events).
 * A card is a link only for an http(s) URL or a path of the site. Null without items.
 */
function renderCards(content: OfferContent, locale: string | undefined): string | null {
  const limit = content.limit! > 0 ? content.limit! : Infinity;
  let html = '';
  let position = 0;
  for (const item of Array.isArray(content.items) ? content.items : []) {
    // Without an id a card could not be counted: left out, and positions stay contiguous.
    if (!item || typeof item.productId !== 'string' || position >= limit) continue;
    position += 1;
    const url = safeUrl(item.url);
    const image = safeUrl(item.imageUrl);
    const tag = url ? 'a' : 'div';
    html += `<${tag} class="rapport-card"${url ? ` href="${escapeHtml(url)}"` : ''} data-rapport-product="${escapeHtml(item.productId)}" data-rapport-position="${position}">`;
    if (image) html += `<img class="rapport-card__image" src="${escapeHtml(image)}" alt="${item.name ? escapeHtml(item.name) : ''}" loading="lazy">`;
    if (item.name) html += `<span class="rapport-card__name">${escapeHtml(item.name)}</span>`;
    if (typeof item.price === 'number' && Number.isFinite(item.price)) {
      html += `<span class="rapport-card__price">${escapeHtml(formatPrice(item.price, item.currency, locale))}</span>`;
    }
    html += `</${tag}>`;
  }
  if (!html) return null;
  const title = content.title ? `<div class="rapport-cards__title">${escapeHtml(content.title)}</div>` : '';
  return `<div class="rapport-cards">${title}${html}</div>`;
}

/**
 * An offer's content as HTML, the same elements and class names as the browser SDK renders
 * (`rapport-offer`, `__image`, `__title`, `__text`, `__link`; product cards for
 * `type: 'recommendations'`), so one stylesheet fits both. Every value is escaped: the content
 * is data, never markup. Null when nothing of it is usable. `locale` formats prices.
 */
export function renderOffer(content: OfferContent, locale?: string): string | null {
  if (content.type === 'recommendations') return renderCards(content, locale);
  const image = safeUrl(content.image);
  const link = safeUrl(content.link);
  let html = '';
  if (image) html += `<img class="rapport-offer__image" src="${escapeHtml(image)}" alt="">`;
  if (content.title) html += `<div class="rapport-offer__title">${escapeHtml(content.title)}</div>`;
  if (content.text) html += `<p class="rapport-offer__text">${escapeHtml(content.text)}</p>`;
  if (link) html += `<a class="rapport-offer__link" href="${escapeHtml(link)}">${escapeHtml(content.linkText || content.title || link)}</a>`;
  // Nothing usable: the slot keeps its default, as in the browser.
  return html ? `<div class="rapport-offer">${html}</div>` : null;
}

/** Options of {@link renderSlot}. */
export interface RenderSlotOptions {
  /** What the slot shows without an offer, and to the control group: the site's own HTML. */
  defaultHtml: string;
  /** The element. @default 'div' */
  tag?: string;
  /** More attributes of the element (`class`, `id`), escaped here. */
  attributes?: Record<string, string>;
  /**
   * The page's language, for the prices of product cards (the SDK uses the page's `lang`).
   * @default the server's locale
   */
  locale?: string;
}

/**
 * A slot rendered on the server: the offer of the decision (or the default), with the decision in
 * `data-rapport-decision`. The browser SDK then neither hides the slot nor asks for it again; it
 * records the impression, the click or the control exposure as for a decision of its own.
 *
 * @example
 * const { slots } = await rapport.decide({ anonymousId, slots: ['home-hero'] });
 * html += renderSlot('home-hero', slots['home-hero'], { defaultHtml: '<h1>Welcome</h1>' });
 * // <div data-rapport-slot="home-hero" data-rapport-decision="{&#34;offerId&#34;:...}">...</div>
 */
export function renderSlot(name: string, decision: SlotDecision | null | undefined, options: RenderSlotOptions): string {
  const tag = /^[a-z][a-z0-9-]*$/i.test(options.tag ?? '') ? options.tag! : 'div';
  const content = decision && decision.variant === 'offer' ? decision.content : null;
  const offer = content ? renderOffer(content, options.locale) : null;
  // The SDK needs only who and which group, the content is in the HTML already; for product
  // cards also the kind and the strategy, which its product events carry.
  const shown =
    decision && (decision.variant === 'control' || offer)
      ? {
          offerId: decision.offerId,
          variant: decision.variant,
          ...(content && content.type === 'recommendations' ? { content: { type: content.type, strategy: content.strategy } } : {}),
        }
      : null;
  const attributes = Object.entries(options.attributes ?? {})
    .filter(([key]) => /^[a-z][a-z0-9-]*$/i.test(key))
    .map(([key, value]) => ` ${key}="${escapeHtml(value)}"`)
    .join('');
  return `<${tag} ${SLOT_ATTR}="${escapeHtml(name)}" ${DECISION_ATTR}="${escapeHtml(JSON.stringify(shown))}"${attributes}>${offer ?? options.defaultHtml}</${tag}>`;
}
