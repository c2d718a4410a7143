// The offer editor's live preview: as the content fields change, the server fills the
// placeholders (with a sample customer's traits, or a real customer's) and this script draws the
// offer the way the SDK does: text through textContent, a link or an image only when it is an
// http(s) URL or a path of the site. Images are named, not loaded (the console's CSP).
(() => {
  'use strict';
  const box = document.getElementById('offer-preview');
  const form = document.getElementById('offer-form');
  if (!box || !form) return;
  const note = document.getElementById('preview-note');
  const customer = document.getElementById('preview-customer');
  const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  const KEYS = ['title', 'text', 'image', 'link', 'linkText'];

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    node.className = className;
    if (text) node.textContent = text;
    return node;
  };

  /** As the server's validator and the SDK read a link: http(s), or a path of the site. */
  const safeUrl = (value) => {
    if (!value) return null;
    if (value.startsWith('/') && !value.startsWith('//')) return value;
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch {
      return null;
    }
  };

  // Product cards are picked per visitor: the preview says so, under the title (as preview.tsx).
  function drawCards(content) {
    const offer = el('div', 'rapport-offer');
    if (content.title) offer.appendChild(el('div', 'rapport-offer__title', content.title));
    offer.appendChild(el('p', 'rapport-offer__text muted', `Product cards, filled in for each visitor: up to ${content.limit ?? 4} products (${content.strategy}).`));
    box.appendChild(offer);
  }

  function draw(content) {
    box.textContent = '';
    if (content.type === 'recommendations') return drawCards(content);
    const image = safeUrl(content.image);
    const link = safeUrl(content.link);
    if (!image && !content.title && !content.text && !link) {
      box.appendChild(el('p', 'muted preview-empty', 'Nothing to show yet: the slot keeps its default content.'));
      return;
    }
    const offer = el('div', 'rapport-offer');
    if (image) offer.appendChild(el('div', 'preview-image', `Image: ${image}`));
    if (content.title) offer.appendChild(el('div', 'rapport-offer__title', content.title));
    if (content.text) offer.appendChild(el('p', 'rapport-offer__text', content.text));
    if (link) {
      const a = el('a', 'rapport-offer__link', content.linkText || content.title || link);
      a.setAttribute('href', link);
      a.setAttribute('rel', 'noopener noreferrer nofollow');
      a.setAttribute('target', '_blank');
      offer.appendChild(a);
    }
    box.appendChild(offer);
  }

  let timer = 0;
  let sequence = 0;
  async function refresh() {
    const mine = ++sequence;
    const content = {};
    if (form.elements.contentKind.value === 'recommendations') {
      const limit = form.elements.limit.value.trim();
      Object.assign(content, { type: 'recommendations', strategy: form.elements.strategy.value, limit: limit === '' ? undefined : Number.isFinite(Number(limit)) ? Number(limit) : limit, title: form.elements.title.value });
    } else {
      for (const key of KEYS) content[key] = form.elements[key].value;
    }
    try {
      const res = await fetch(box.dataset.previewUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ site: box.dataset.site, content, customer: customer.value }),
      });
      const body = await res.json().catch(() => ({}));
      if (mine !== sequence) return;
      if (!res.ok) {
        note.textContent = res.status === 401 ? 'Your session has ended: log in again.' : body.error || `The preview failed (${res.status}).`;
        return;
      }
      draw(body.content);
      const who = body.traitsOf === 'customer' ? `Shown with the traits of ${customer.value.trim()}.` : 'Shown with the traits of a sample customer, Alex.';
      note.textContent = body.problem ? `${who} Not saved as it is: ${body.problem}` : who;
      note.classList.toggle('problem', Boolean(body.problem));
    } catch {
      if (mine === sequence) note.textContent = 'The preview is not available: is the server running?';
    }
  }

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  };
  for (const key of [...KEYS, 'contentKind', 'strategy', 'limit']) form.elements[key].addEventListener('input', schedule);
  customer.addEventListener('input', schedule);
})();
