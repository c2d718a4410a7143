/**
 * Product cards for offers whose content is recommendations. Built on its own as
 * `dist/sdk-cards.js` and loaded by the slots with a dynamic import only when a decision has
 * `type: 'recommendations'`: most pages never show one, and the script tag stays small.
 */
import type { OfferContent, RecommendedItem } from '@rapport/protocol';
import { safeUrl } from './slots';

/**
 * The content's items as product cards, built with createElement and textContent only, like
 * the offers of the slots: names and prices are text, and only http(s) links and images are kept.
 * Class names are stable for sites to style: `rapport-cards` (with the offer's title in
 * `rapport-cards__title`), `rapport-card`, `rapport-card__image`, `__name`, `__price`. Each card carries `data-rapport-product` (the
 * product id) and `data-rapport-position` (1-based), which the slot reads for its events.
 * Null when there is nothing to show, so the slot keeps its default.
 */
export const renderCards = (
  content: OfferContent,
  onClick: (item: RecommendedItem, position: number) => void,
): HTMLElement | null => {
  const root = document.createElement('div');
  root.className = 'rapport-cards';
  // One formatter per currency: building one costs far more than formatting with it.
  const formats: Record<string, Intl.NumberFormat> = {};
  const format = (currency: string, locale?: string) =>
    formats[currency] || (formats[currency] = new Intl.NumberFormat(locale, { style: 'currency', currency }));
  // Intl's first use on a page costs 15–30 ms: paid here, in a module loaded only for cards, not
  // by every page. In the page's language; a malformed `lang` falls back to the browser's, and
  // an unknown currency code to the plain number.
  const price = (value: number, currency: string | null) => {
    if (!currency) return String(value);
    try {
      try {
        return format(currency, document.documentElement.lang || undefined).format(value);
      } catch {
        return format(currency).format(value);
      }
    } catch {
      return String(value);
    }
  };
  const limit = content.limit! > 0 ? content.limit : undefined;
  let position = 0;
  (Array.isArray(content.items) ? content.items : []).forEach((item) => {
    // Without an id a card could not be counted: it is left out, and positions stay contiguous.
    if (!item || typeof item.productId != 'string' || (limit && position >= limit)) return;
    const url = safeUrl(item.url);
    const image = safeUrl(item.imageUrl);
    const at = ++position;
    const card = root.appendChild(document.createElement(url ? 'a' : 'div'));
    const part = (tag: string, name: string, text?: string) => {
      const el = card.appendChild(document.createElement(tag));
      el.className = 'rapport-card__' + name;
      if (text != null) el.textContent = text;
      return el;
    };
    card.className = 'rapport-card';
    if (url) card.setAttribute('href', url);
    card.setAttribute('data-rapport-product', item.productId);
    card.setAttribute('data-rapport-position', String(at));
    if (image) {
      const img = part('img', 'image');
      img.setAttribute('src', image);
      img.setAttribute('alt', item.name ? String(item.name) : '');
      img.setAttribute('loading', 'lazy');
    }
    if (item.name) part('span', 'name', String(item.name));
    if (typeof item.price == 'number' && isFinite(item.price)) part('span', 'price', price(item.price, item.currency));
    card.addEventListener('click', () => onClick(item, at));
  });
  if (!position) return null;
  if (content.title) {
    const title = root.insertBefore(document.createElement('div'), root.firstChild);
    title.className = 'rapport-cards__title';
    title.textContent = String(content.title);
  }
  return root;
};
