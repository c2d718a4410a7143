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

/**
 * An offer's content as HTML, the same elements and class names as the browser SDK renders
 * (`rapport-offer`, `__image`, `__title`, `__text`, `__link`), so one stylesheet fits both.
 * Every value is escaped: the content is data, never markup. Null when nothing of it is usable.
 */
export function renderOffer(content: OfferContent): string | null {
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
  const offer = decision && decision.variant === 'offer' && decision.content ? renderOffer(decision.content) : null;
  // The SDK needs only who and which group; the content is in the HTML already.
  const shown = decision && (decision.variant === 'control' || offer) ? { offerId: decision.offerId, variant: decision.variant } : null;
  const attributes = Object.entries(options.attributes ?? {})
    .filter(([key]) => /^[a-z][a-z0-9-]*$/i.test(key))
    .map(([key, value]) => ` ${key}="${escapeHtml(value)}"`)
    .join('');
  return `<${tag} ${SLOT_ATTR}="${escapeHtml(name)}" ${DECISION_ATTR}="${escapeHtml(JSON.stringify(shown))}"${attributes}>${offer ?? options.defaultHtml}</${tag}>`;
}
