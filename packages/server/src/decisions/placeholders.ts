import type { JsonObject, OfferContent } from '@rapport/protocol';

const PLACEHOLDER = /\{\{\s*traits\.([A-Za-z0-9_.$-]{1,100})\s*(?:\|([^}]{0,100}))?\}\}/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const MAX_FILLED = 200;

/**
 * Fills `{{traits.firstName}}` placeholders (with an optional default: `{{traits.firstName|friend}}`)
 * from the visitor's traits. Values a visitor typed are escaped for where they land: in `link`
 * and `image` they are URL-encoded, so a trait can never turn a link into `javascript:` or leave
 * its query; in text fields control characters are removed and the result stays plain text,
 * which the SDK shows with `textContent` and the console with escaping JSX, never as HTML.
 */
export function fillContent(content: OfferContent, traits: JsonObject): OfferContent {
  const out: OfferContent = content.type ? { type: content.type, strategy: content.strategy, limit: content.limit } : {};
  for (const key of ['title', 'text', 'linkText'] as const) {
    if (content[key] !== undefined) out[key] = fill(content[key]!, traits, (v) => v.replace(CONTROL, ''));
  }
  for (const key of ['link', 'image'] as const) {
    if (content[key] !== undefined) out[key] = fill(content[key]!, traits, encodeURIComponent);
  }
  return out;
}

function fill(template: string, traits: JsonObject, escape: (value: string) => string): string {
  return template.replace(PLACEHOLDER, (_, path: string, fallback?: string) => {
    const value = path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as JsonObject)[k] : undefined), traits);
    const text = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : (fallback?.trim() ?? '');
    return escape(text.slice(0, MAX_FILLED));
  });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Fills the placeholders of an email template with the same rules as offers: in `text` values
 * lose their control characters, in `html` they are HTML-escaped, so that a trait a visitor
 * typed can never add markup or a link to a mail the site sends.
 *
 * @example
 * fillTemplate('<p>Hi {{traits.firstName|there}}</p>', { firstName: '<b>Ada' }, 'html'); // '<p>Hi &lt;b&gt;Ada</p>'
 */
export function fillTemplate(template: string, traits: JsonObject, kind: 'text' | 'html'): string {
  return fill(template, traits, (v) => {
    const plain = v.replace(CONTROL, '');
    return kind === 'html' ? plain.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]) : plain;
  });
}

/** Whether a content template uses a placeholder (the console previews them with sample traits). */
export const hasPlaceholders = (text: string) => new RegExp(PLACEHOLDER.source).test(text);
