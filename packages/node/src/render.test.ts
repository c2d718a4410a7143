import { describe, expect, it } from 'vitest';
import { ID_COOKIE, visitorId } from './cookie.js';
import { escapeHtml, renderSlot } from './render.js';

describe('renderSlot', () => {
  const offer = { offerId: 'of-1', variant: 'offer' as const, content: { title: 'Thailand <10% off>', text: 'In "May"', image: 'https://cdn.example/t.jpg', link: '/tours/thai', linkText: 'See' } };

  it('renders the offer as the SDK would, with the decision for the SDK in an attribute', () => {
    const html = renderSlot('home-hero', offer, { defaultHtml: '<h1>Welcome</h1>', attributes: { class: 'hero' } });
    expect(html).toBe(
      '<div data-rapport-slot="home-hero" data-rapport-decision="{&#34;offerId&#34;:&#34;of-1&#34;,&#34;variant&#34;:&#34;offer&#34;}" class="hero">' +
        '<div class="rapport-offer"><img class="rapport-offer__image" src="https://cdn.example/t.jpg" alt="">' +
        '<div class="rapport-offer__title">Thailand &#60;10% off&#62;</div><p class="rapport-offer__text">In &#34;May&#34;</p>' +
        '<a class="rapport-offer__link" href="/tours/thai">See</a></div></div>',
    );
  });

  it('keeps the default for no decision and for the control group, which the SDK still counts', () => {
    expect(renderSlot('a', null, { defaultHtml: 'Hi' })).toBe('<div data-rapport-slot="a" data-rapport-decision="null">Hi</div>');
    expect(renderSlot('a', { offerId: 'of-1', variant: 'control', content: null }, { defaultHtml: 'Hi', tag: 'section' })).toBe(
      '<section data-rapport-slot="a" data-rapport-decision="{&#34;offerId&#34;:&#34;of-1&#34;,&#34;variant&#34;:&#34;control&#34;}">Hi</section>',
    );
  });

  it('drops what could run: javascript: links, odd tags and attribute names, markup in the name', () => {
    const html = renderSlot('x"><script>', { offerId: 'o', variant: 'offer', content: { title: 'T', link: 'javascript:alert(1)', image: '//evil.example/x.png' } }, {
      defaultHtml: 'd',
      tag: 'img src=x onerror=alert(1)',
      attributes: { 'onclick="x"': 'y' },
    });
    expect(html).not.toMatch(/<script|javascript:|evil|onerror|onclick/);
    expect(html).toContain('<div class="rapport-offer"><div class="rapport-offer__title">T</div></div>');
    // Nothing usable in the content: the default, and no decision for the SDK to count.
    expect(renderSlot('a', { offerId: 'o', variant: 'offer', content: { link: 'javascript:x' } }, { defaultHtml: 'd' })).toBe('<div data-rapport-slot="a" data-rapport-decision="null">d</div>');
  });
});

describe('renderSlot with product recommendations', () => {
  const recommendations = {
    offerId: 'of-recs',
    variant: 'offer' as const,
    content: {
      type: 'recommendations' as const,
      strategy: 'bought-together' as const,
      items: [
        { productId: 'p-1', name: 'Tent <2 person>', price: 120, currency: 'EUR', url: '/p/1', imageUrl: 'https://cdn.example/1.jpg', reason: 'bought together with p-9', score: 0.9 },
        { productId: 'p-"2', name: null, price: 45.5, currency: null, url: 'javascript:alert(1)', imageUrl: 'data:image/png;base64,x', reason: 'trending', score: 0.5 },
      ],
    },
  };
  const eur = (value: number, locale?: string) => new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' }).format(value);

  it("renders the SDK's product cards, with the kind and strategy in the decision for its product events", () => {
    const html = renderSlot('home-recs', recommendations, { defaultHtml: '<p>Popular</p>', locale: 'en-US' });
    expect(html).toBe(
      '<div data-rapport-slot="home-recs" data-rapport-decision="{&#34;offerId&#34;:&#34;of-recs&#34;,&#34;variant&#34;:&#34;offer&#34;,' +
        '&#34;content&#34;:{&#34;type&#34;:&#34;recommendations&#34;,&#34;strategy&#34;:&#34;bought-together&#34;}}">' +
        '<div class="rapport-cards">' +
        '<a class="rapport-card" href="/p/1" data-rapport-product="p-1" data-rapport-position="1">' +
        '<img class="rapport-card__image" src="https://cdn.example/1.jpg" alt="Tent &#60;2 person&#62;" loading="lazy">' +
        '<span class="rapport-card__name">Tent &#60;2 person&#62;</span>' +
        `<span class="rapport-card__price">${eur(120, 'en-US')}</span></a>` +
        // No safe link: a div; no name, no image: only the price, as a plain number without currency.
        '<div class="rapport-card" data-rapport-product="p-&#34;2" data-rapport-position="2">' +
        '<span class="rapport-card__price">45.5</span></div>' +
        '</div></div>',
    );
    expect(eur(120, 'en-US')).toBe('€120.00');
    expect(html).not.toMatch(/javascript:|data:image|<2/);
  });

  it("puts the offer's title above the cards, escaped", () => {
    const titled = { ...recommendations, content: { ...recommendations.content, title: 'Goes <well>' } };
    expect(renderSlot('home-recs', titled, { defaultHtml: '' })).toContain('<div class="rapport-cards"><div class="rapport-cards__title">Goes &#60;well&#62;</div><a class="rapport-card"');
  });

  it('formats prices in the given locale, falling back to the default one for a malformed locale', () => {
    const price = (locale: string) => /rapport-card__price">([^<]*)</.exec(renderSlot('r', recommendations, { defaultHtml: '', locale })!)![1];
    expect(price('de-DE')).toBe(escapeHtml(eur(120, 'de-DE')));
    expect(price('en_US')).toBe(escapeHtml(eur(120)));
  });

  it('keeps the default without items, leaves out items without an id, and shows at most `limit`', () => {
    const empty = { ...recommendations, content: { ...recommendations.content, items: [] } };
    expect(renderSlot('r', empty, { defaultHtml: 'd' })).toBe('<div data-rapport-slot="r" data-rapport-decision="null">d</div>');
    const item = recommendations.content.items[0];
    const html = renderSlot('r', { ...recommendations, content: { ...recommendations.content, limit: 2, items: [{ ...item, productId: 1 as never }, item, { ...item, productId: 'p-3' }, { ...item, productId: 'p-4' }] } }, { defaultHtml: 'd' });
    expect([...html.matchAll(/data-rapport-product="([^"]*)" data-rapport-position="(\d)"/g)].map((m) => [m[1], m[2]])).toEqual([
      ['p-1', '1'],
      ['p-3', '2'],
    ]);
  });
});

describe('visitorId', () => {
  it("reads the SDK's cookie", () => {
    expect(visitorId(`other=1; ${ID_COOKIE}=4b1e-aa; x=y`)).toEqual({ anonymousId: '4b1e-aa' });
    expect(visitorId(`${ID_COOKIE}=a%2Db`)).toEqual({ anonymousId: 'a-b' });
  });

  it('makes a new id for a first-time visitor, with the cookie the SDK would write', () => {
    const { anonymousId, setCookie } = visitorId(undefined, { domain: '.shop.example' });
    expect(anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    expect(setCookie).toBe(`${ID_COOKIE}=${anonymousId}; Path=/; Max-Age=31536000; SameSite=Lax; Domain=.shop.example; Secure`);
    expect(visitorId('', { secure: false }).setCookie).not.toContain('Secure');
    // Consent mode: an id for this page only, nothing stored.
    expect(visitorId('', { create: false }).setCookie).toBeUndefined();
  });

  it('takes no value that could break a header or is not an id', () => {
    for (const bad of ['a%0D%0ASet-Cookie:%20x=1', 'x'.repeat(200), '%E0%A4%A', '']) {
      const id = visitorId(`${ID_COOKIE}=${bad}`);
      expect(id.anonymousId).not.toBe(bad);
      expect(id.setCookie).toBeDefined();
    }
  });
});
