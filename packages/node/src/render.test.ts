import { describe, expect, it } from 'vitest';
import { ID_COOKIE, visitorId } from './cookie.js';
import { renderSlot } from './render.js';

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
