import type { OfferContent } from '@rapport/protocol';
import { safeHref } from '../ui/format.js';
import { DEFAULT_PRODUCT_COUNT } from './form.js';

/**
 * How the SDK shows a link or an image: only an http(s) URL or a path of the site; anything
 * else (`javascript:`, `data:`) is left out, as the SDK leaves it out.
 */
export function previewUrl(value: string | undefined): string | null {
  if (!value) return null;
  if (value.startsWith('/') && !value.startsWith('//')) return value;
  return safeHref(value);
}

/**
 * An offer's content as the visitor would see it in the slot, built like the SDK builds it:
 * text as text, never markup. Images are not loaded in the console (its Content-Security-Policy
 * allows none from other sites): a placeholder names the URL. offer-preview.js redraws this
 * same structure as the editor's fields change.
 */
export function OfferPreview(props: { content: OfferContent }) {
  const c = props.content;
  if (c.type === 'recommendations') return <CardsNote content={c} />;
  const image = previewUrl(c.image);
  const link = previewUrl(c.link);
  if (!image && !c.title && !c.text && !link) {
    return <p class="muted preview-empty">Nothing to show yet: the slot keeps its default content.</p>;
  }
  return (
    <div class="rapport-offer">
      {image ? <div class="preview-image">{`Image: ${image}`}</div> : null}
      {c.title ? <div class="rapport-offer__title">{c.title}</div> : null}
      {c.text ? <p class="rapport-offer__text">{c.text}</p> : null}
      {link ? (
        <a class="rapport-offer__link" href={link} rel="noopener noreferrer nofollow" target="_blank">
          {c.linkText || c.title || link}
        </a>
      ) : null}
    </div>
  );
}

/**
 * Product cards depend on the visitor and the page (the product shown, what they viewed), so the
 * editor cannot draw them: it says what the slot will hold.
 */
function CardsNote(props: { content: OfferContent }) {
  const c = props.content;
  return (
    <div class="rapport-offer">
      {c.title ? <div class="rapport-offer__title">{c.title}</div> : null}
      <p class="rapport-offer__text muted">
        {`Product cards, filled in for each visitor: up to ${c.limit ?? DEFAULT_PRODUCT_COUNT} products${c.strategy ? ` (${c.strategy})` : ''}.`}
      </p>
    </div>
  );
}
