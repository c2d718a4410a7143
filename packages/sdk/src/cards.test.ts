import type { RecommendedItem } from '@rapport/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderCards } from './cards';
import './test-helpers';

const item = (productId: string, fields: Partial<RecommendedItem> = {}): RecommendedItem => ({
  productId,
  name: `Product ${productId}`,
  price: 12.5,
  currency: 'EUR',
  url: `https://shop.example/p/${productId}`,
  imageUrl: `https://cdn.example/${productId}.jpg`,
  reason: 'trending',
  score: 1,
  ...fields,
});
const cards = (items: RecommendedItem[], onClick = () => {}) =>
  renderCards({ type: 'recommendations', strategy: 'trending', items }, onClick);
const eur = (value: number, locale = 'en-US') =>
  new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' }).format(value);

afterEach(() => {
  document.documentElement.removeAttribute('lang');
});

describe('renderCards', () => {
  it("puts the offer's title above the cards, as text", () => {
    const root = renderCards({ type: 'recommendations', title: '<b>For you</b>', items: [{ productId: 'p1', name: 'Tent', price: null, currency: null, url: null, imageUrl: null, reason: 'trending', score: 1 }] }, () => {})!;
    const title = root.firstElementChild!;
    expect(title.className).toBe('rapport-cards__title');
    expect(title.textContent).toBe('<b>For you</b>');
    expect(root.querySelector('b')).toBeNull();
    expect(root.querySelector('.rapport-card')!.getAttribute('data-rapport-position')).toBe('1');
  });

  it('builds one card per item with stable class names, positions and product ids', () => {
    document.documentElement.lang = 'en-US';
    const root = cards([item('p-1'), item('p-2', { price: 1234 })])!;
    expect(root.outerHTML).toBe(
      '<div class="rapport-cards">' +
        '<a class="rapport-card" href="https://shop.example/p/p-1" data-rapport-product="p-1" data-rapport-position="1">' +
        '<img class="rapport-card__image" src="https://cdn.example/p-1.jpg" alt="Product p-1" loading="lazy">' +
        '<span class="rapport-card__name">Product p-1</span>' +
        `<span class="rapport-card__price">${eur(12.5)}</span>` +
        '</a>' +
        '<a class="rapport-card" href="https://shop.example/p/p-2" data-rapport-product="p-2" data-rapport-position="2">' +
        '<img class="rapport-card__image" src="https://cdn.example/p-2.jpg" alt="Product p-2" loading="lazy">' +
        '<span class="rapport-card__name">Product p-2</span>' +
        `<span class="rapport-card__price">${eur(1234)}</span>` +
        '</a>' +
        '</div>',
    );
    expect(eur(12.5)).toBe('€12.50');
  });

  it("formats prices in the page's language, and keeps the number without a usable currency", () => {
    document.documentElement.lang = 'de-DE';
    const root = cards([
      item('a'),
      item('b', { currency: null }),
      item('c', { currency: 'not a currency' }),
      item('d', { price: null }),
    ])!;
    const prices = [...root.children].map((card) => card.querySelector('.rapport-card__price')?.textContent);
    expect(prices).toEqual([eur(12.5, 'de-DE'), '12.5', '12.5', undefined]);
    // A malformed lang attribute: the browser's language instead of no formatting at all.
    document.documentElement.lang = 'en_US';
    expect(cards([item('a')])!.querySelector('.rapport-card__price')!.textContent).toBe(
      new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR' }).format(12.5),
    );
  });

  it('shows markup in names as text: nothing is parsed, nothing runs', () => {
    const evil = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const root = cards([item('p-1', { name: evil, imageUrl: null })])!;
    expect(root.querySelector('.rapport-card__name')!.textContent).toBe(evil);
    expect(root.querySelectorAll('img, script')).toHaveLength(0);
    const withImage = cards([item('p-1', { name: '" onload="alert(1)' })])!;
    expect(withImage.querySelector('img')!.getAttribute('alt')).toBe('" onload="alert(1)');
    expect(withImage.querySelector('img')!.getAttributeNames()).toEqual(['class', 'src', 'alt', 'loading']);
  });

  it('drops links and images that are not http(s): a card without a link is a div', () => {
    const root = cards([
      item('p-1', { url: 'javascript:alert(1)', imageUrl: 'data:image/svg+xml,<svg onload=alert(1)>' }),
      item('p-2', { url: ' JavaScript:alert(1)', imageUrl: 'javascript:alert(1)' }),
      item('p-3', { url: null, imageUrl: null, name: null }),
    ])!;
    expect(root.querySelectorAll('a, img')).toHaveLength(0);
    expect([...root.children].map((card) => [card.tagName, card.className, card.getAttribute('data-rapport-position')])).toEqual([
      ['DIV', 'rapport-card', '1'],
      ['DIV', 'rapport-card', '2'],
      ['DIV', 'rapport-card', '3'],
    ]);
    expect(root.outerHTML).not.toMatch(/javascript|data:/i);
    // Relative URLs resolve against the page, as for offers.
    expect(cards([item('p-1', { url: '/p/1' })])!.querySelector('a')!.getAttribute('href')).toBe('https://shop.example/p/1');
  });

  it('calls back with the item and its position on a click', () => {
    const onClick = vi.fn();
    const items = [item('p-1'), item('p-2', { url: null })];
    const root = cards(items, onClick)!;
    document.body.appendChild(root);
    const [first, second] = root.children as unknown as HTMLElement[];
    first.addEventListener('click', (event) => event.preventDefault());
    first.click();
    second.click();
    expect(onClick.mock.calls).toEqual([
      [items[0], 1],
      [items[1], 2],
    ]);
  });

  it('is null without items, and leaves out items without a product id, keeping positions contiguous', () => {
    expect(cards([])).toBeNull();
    // A title alone is nothing to show.
    expect(renderCards({ type: 'recommendations', title: 'For you', items: [] }, () => {})).toBeNull();
    expect(renderCards({ type: 'recommendations' }, () => {})).toBeNull();
    expect(renderCards({ type: 'recommendations', items: 'oops' as never }, () => {})).toBeNull();
    const root = cards([item('p-1'), { ...item('x'), productId: 7 as never }, null as never, item('p-3')])!;
    expect([...root.children].map((card) => [card.getAttribute('data-rapport-product'), card.getAttribute('data-rapport-position')])).toEqual([
      ['p-1', '1'],
      ['p-3', '2'],
    ]);
  });

  it('shows at most `limit` cards', () => {
    const root = renderCards({ type: 'recommendations', limit: 2, items: [item('a'), item('b'), item('c')] }, () => {})!;
    expect(root.children).toHaveLength(2);
  });
});
