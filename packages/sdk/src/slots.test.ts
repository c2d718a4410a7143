import { RECOMMENDATION_EVENTS, SLOT_EVENTS } from '@rapport/protocol';
import type { DecideRequest, DecideResponse, SlotDecision, TrackMessage } from '@rapport/protocol';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as cardsSource from './cards';
import { PENDING_ATTR, SLOT_TIMEOUT_MS, cardsModule, renderOffer, safeUrl, slots } from './slots';
import { HOST, WRITE_KEY, type FetchMock, json, mockFetch, sentOf, setUrl, settle, start } from './test-helpers';
import type { RapportOptions } from './types';

/** An IntersectionObserver the test drives: `show(el, ratio)` reports a visibility change. */
class FakeIntersectionObserver {
  static all: FakeIntersectionObserver[] = [];
  targets: Element[] = [];
  disconnected = false;
  constructor(
    private callback: (entries: Partial<IntersectionObserverEntry>[]) => void,
    public options: IntersectionObserverInit,
  ) {
    FakeIntersectionObserver.all.push(this);
  }
  observe(el: Element) {
    this.targets.push(el);
  }
  disconnect() {
    this.disconnected = true;
  }
  static show(el: Element, ratio: number) {
    for (const o of this.all)
      if (!o.disconnected && o.targets.includes(el))
        o.callback([{ target: el, isIntersecting: ratio > 0, intersectionRatio: ratio }]);
  }
}

beforeEach(() => {
  FakeIntersectionObserver.all = [];
  vi.stubGlobal('IntersectionObserver', FakeIntersectionObserver);
});

const decide = (answer: DecideResponse | (() => Promise<Response>)): FetchMock =>
  mockFetch((url) =>
    url.endsWith('/v1/decide')
      ? typeof answer == 'function'
        ? answer()
        : json(answer)
      : json({ success: true }),
  );
const decideRequests = (fetch: FetchMock): DecideRequest[] =>
  fetch.mock.calls.filter(([url]) => url.endsWith('/v1/decide')).map(([, init]) => JSON.parse(init.body as string));
const tracked = (fetch: FetchMock) =>
  sentOf(fetch)
    .filter((m): m is TrackMessage => m.type == 'track')
    .map((m) => [m.event, m.properties]);
const withSlots = (options: Partial<RapportOptions> = {}) => start({ pageviews: false, ...options }, [slots]);
const slot = (name = 'home-hero') => document.querySelector<HTMLElement>(`[data-rapport-slot="${name}"]`)!;

const offer = {
  offerId: 'of-1',
  variant: 'offer' as const,
  content: {
    title: 'Family holidays in Thailand',
    text: '10% off in May',
    image: 'https://cdn.example/thai.jpg',
    link: '/offers/thailand',
    linkText: 'See the tours',
  },
};

describe('renderOffer', () => {
  it('builds the offer with stable class names', () => {
    const el = renderOffer(offer.content, () => {});
    expect(el.outerHTML).toBe(
      '<div class="rapport-offer">' +
        '<img class="rapport-offer__image" src="https://cdn.example/thai.jpg" alt="">' +
        '<div class="rapport-offer__title">Family holidays in Thailand</div>' +
        '<p class="rapport-offer__text">10% off in May</p>' +
        '<a class="rapport-offer__link" href="https://shop.example/offers/thailand">See the tours</a>' +
        '</div>',
    );
  });

  it('shows markup from the server as text: nothing is parsed, nothing runs', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const el = renderOffer({ title: evil, text: '<script>alert(2)</script>', linkText: evil, link: 'https://ok.example/' }, () => {});
    expect(el.querySelector('.rapport-offer__title')!.textContent).toBe(evil);
    expect(el.querySelector('.rapport-offer__text')!.textContent).toBe('<script>alert(2)</script>');
    expect(el.querySelector('.rapport-offer__link')!.textContent).toBe(evil);
    expect(el.querySelectorAll('img, script')).toHaveLength(0);
  });

  it('drops links and images that are not http(s)', () => {
    for (const url of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', 'ftp://x.example/'])
      expect(safeUrl(url)).toBeUndefined();
    expect(safeUrl(undefined)).toBeUndefined();
    expect(safeUrl({ toString: () => 'https://x.example/' })).toBeUndefined();
    const el = renderOffer({ title: 'T', link: 'javascript:alert(1)', image: 'data:image/png;base64,xx' }, () => {});
    expect(el.querySelector('a, img')).toBeNull();
    expect(el.textContent).toBe('T');
  });

  it('falls back to the title, then the URL, for the link text', () => {
    expect(renderOffer({ title: 'T', link: 'https://x.example/a' }, () => {}).querySelector('a')!.textContent).toBe('T');
    expect(renderOffer({ link: 'https://x.example/a' }, () => {}).querySelector('a')!.textContent).toBe('https://x.example/a');
  });
});

describe('slots', () => {
  it('asks once for every slot of the page, with the visitor and the page context', async () => {
    setUrl('https://shop.example/?utm_term=thailand&utm_source=google');
    document.body.innerHTML = `
      <div data-rapport-slot="home-hero">Welcome</div>
      <aside data-rapport-slot="sidebar">Sale</aside>
      <div data-rapport-slot="home-hero">Second hero</div>`;
    const fetch = decide({ slots: {} });
    const rapport = withSlots();
    rapport.identify('u-1', {}, { userHash: 'h-1' });
    await settle(0);
    const requests = decideRequests(fetch);
    expect(requests).toHaveLength(1);
    expect(fetch.mock.calls.find(([url]) => url.endsWith('/decide'))![0]).toBe(HOST + '/v1/decide');
    expect(typeof fetch.mock.calls.find(([url]) => url.endsWith('/decide'))![1].body).toBe('string');
    expect(requests[0]).toMatchObject({
      writeKey: WRITE_KEY,
      anonymousId: rapport.anonymousId(),
      userId: 'u-1',
      slots: ['home-hero', 'sidebar'],
      context: {
        userHash: 'h-1',
        page: { url: 'https://shop.example/?utm_term=thailand&utm_source=google' },
        campaign: { term: 'thailand', source: 'google' },
      },
    });
  });

  it('hides only the slots while waiting, then renders the offer', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero" style="visibility: visible">Welcome</div><p>page</p>`;
    let answer: (res: Response) => void = () => {};
    const fetch = decide(() => new Promise((resolve) => (answer = resolve)));
    const rapport = withSlots();
    await settle(0);
    expect(slot().style.visibility).toBe('hidden');
    expect(slot().hasAttribute(PENDING_ATTR)).toBe(true);
    expect(document.body.style.visibility).toBe('');
    expect(document.documentElement.style.visibility).toBe('');

    const ready = vi.fn();
    rapport.ready(ready);
    answer(json({ slots: { 'home-hero': offer } }));
    await settle(0);
    expect(slot().style.visibility).toBe('visible');
    expect(slot().hasAttribute(PENDING_ATTR)).toBe(false);
    expect(slot().querySelector('.rapport-offer__title')!.textContent).toBe('Family holidays in Thailand');
    expect(slot().textContent).not.toContain('Welcome');
    expect(slot().getAttribute('data-rapport-offer')).toBe('of-1');
    expect(ready).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it(`keeps the default after ${SLOT_TIMEOUT_MS} ms and ignores a late answer`, async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    let answer: (res: Response) => void = () => {};
    decide(() => new Promise((resolve) => (answer = resolve)));
    withSlots();
    await settle(SLOT_TIMEOUT_MS - 1);
    expect(slot().style.visibility).toBe('hidden');
    await settle(1);
    expect(slot().style.visibility).toBe('');
    expect(slot().textContent).toBe('Welcome');
    answer(json({ slots: { 'home-hero': offer } }));
    await settle(0);
    expect(slot().textContent).toBe('Welcome');
  });

  it('takes slotTimeout', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    decide(() => new Promise(() => {}));
    withSlots({ slotTimeout: 100 });
    await settle(100);
    expect(slot().style.visibility).toBe('');
  });

  it('keeps the default for null answers and failed requests, telling onError', async () => {
    document.body.innerHTML = `<div data-rapport-slot="a">A</div><div data-rapport-slot="b">B</div>`;
    decide({ slots: { a: null } });
    withSlots();
    await settle(0);
    expect(slot('a').textContent).toBe('A');
    expect(slot('b').textContent).toBe('B');

    const onError = vi.fn();
    document.body.innerHTML = `<div data-rapport-slot="c">C</div>`;
    decide(() => Promise.resolve(json({ error: 'down' }, 500)));
    withSlots({ onError });
    await settle(0);
    expect(slot('c').textContent).toBe('C');
    expect(slot('c').style.visibility).toBe('');
    expect(onError).toHaveBeenCalled();
    // Shaped like a failed delivery: the status says what went wrong.
    expect(onError.mock.calls[0][0]).toMatchObject({ status: 500 });
  });

  it('records an impression once at least half the slot is visible', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const fetch = decide({ slots: { 'home-hero': offer } });
    withSlots();
    await settle(0);
    expect(FakeIntersectionObserver.all[0].options).toMatchObject({ threshold: 0.5 });
    FakeIntersectionObserver.show(slot(), 0.2);
    await settle(1000);
    expect(tracked(fetch)).toEqual([]);
    FakeIntersectionObserver.show(slot(), 0.6);
    FakeIntersectionObserver.show(slot(), 1);
    await settle(1000);
    expect(tracked(fetch)).toEqual([[SLOT_EVENTS.impression, { offerId: 'of-1', slot: 'home-hero', variant: 'offer' }]]);
  });

  it('records a click when the offer link is followed', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const fetch = decide({ slots: { 'home-hero': offer } });
    withSlots();
    await settle(0);
    const link = slot().querySelector('a')!;
    link.addEventListener('click', (event) => event.preventDefault());
    link.click();
    await settle(1000);
    expect(tracked(fetch)).toEqual([[SLOT_EVENTS.click, { offerId: 'of-1', slot: 'home-hero', variant: 'offer' }]]);
  });

  it('keeps the default for a control visitor and records the exposure once, when visible', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const fetch = decide({ slots: { 'home-hero': { offerId: 'of-1', variant: 'control', content: null } } });
    withSlots();
    await settle(0);
    expect(slot().textContent).toBe('Welcome');
    expect(slot().style.visibility).toBe('');
    FakeIntersectionObserver.show(slot(), 1);
    FakeIntersectionObserver.show(slot(), 1);
    await settle(1000);
    expect(tracked(fetch)).toEqual([[SLOT_EVENTS.control, { offerId: 'of-1', slot: 'home-hero', variant: 'control' }]]);
  });

  it('records right away where IntersectionObserver is missing', async () => {
    vi.stubGlobal('IntersectionObserver', undefined);
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const fetch = decide({ slots: { 'home-hero': offer } });
    withSlots();
    await settle(1000);
    expect(tracked(fetch).map(([event]) => event)).toEqual([SLOT_EVENTS.impression]);
  });

  it('fills slots that appear later, asking only about them', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const fetch = decide({ slots: { 'home-hero': offer, sidebar: { ...offer, offerId: 'of-2' } } });
    withSlots();
    await settle(0);
    const later = document.createElement('div');
    later.setAttribute('data-rapport-slot', 'sidebar');
    later.textContent = 'Sale';
    document.body.appendChild(later);
    await settle(1);
    await settle(0);
    expect(decideRequests(fetch).map((r) => r.slots)).toEqual([['home-hero'], ['sidebar']]);
    expect(slot('sidebar').getAttribute('data-rapport-offer')).toBe('of-2');
    await settle(1000);
    expect(decideRequests(fetch)).toHaveLength(2);
  });

  it('asks nothing when the page has no slot', async () => {
    const fetch = decide({ slots: {} });
    withSlots();
    await settle(1000);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('can be switched off', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const fetch = decide({ slots: {} });
    withSlots({ slots: false });
    await settle(1000);
    document.body.appendChild(document.createElement('p'));
    await settle(1000);
    expect(fetch).not.toHaveBeenCalled();
    expect(slot().style.visibility).toBe('');
  });
});

describe('bootstrapped slots (decided while the server rendered the page)', () => {
  const rendered = (decision: unknown, inner = '<a href="/offers/thailand">See the tours</a>') =>
    `<div data-rapport-slot="home-hero" data-rapport-decision='${JSON.stringify(decision)}'>${inner}</div>`;

  it('neither hides the slot nor asks again, and keeps what the server rendered', async () => {
    document.body.innerHTML = rendered({ offerId: 'of-1', variant: 'offer' });
    const before = slot().innerHTML;
    const fetch = decide({ slots: { 'home-hero': { ...offer, offerId: 'of-other' } } });
    const rapport = withSlots();
    expect(slot().style.visibility).toBe('');
    expect(slot().hasAttribute(PENDING_ATTR)).toBe(false);
    const ready = vi.fn();
    rapport.ready(ready);
    await settle(1000);
    expect(decideRequests(fetch)).toEqual([]);
    expect(ready).toHaveBeenCalledTimes(1);
    expect(slot().innerHTML).toBe(before);
    expect(slot().getAttribute('data-rapport-offer')).toBe('of-1');
  });

  it('records the impression when visible and the click on a rendered link, as for a decision of its own', async () => {
    document.body.innerHTML = rendered({ offerId: 'of-1', variant: 'offer' });
    const fetch = decide({ slots: {} });
    withSlots();
    await settle(0);
    FakeIntersectionObserver.show(slot(), 0.2);
    await settle(1000);
    expect(tracked(fetch)).toEqual([]);
    FakeIntersectionObserver.show(slot(), 0.7);
    const link = slot().querySelector('a')!;
    link.addEventListener('click', (event) => event.preventDefault());
    link.click();
    await settle(1000);
    const properties = { offerId: 'of-1', slot: 'home-hero', variant: 'offer' };
    expect(tracked(fetch)).toEqual([
      [SLOT_EVENTS.impression, properties],
      [SLOT_EVENTS.click, properties],
    ]);
  });

  it('records the click on a link that the parser had not reached when the slot was adopted', async () => {
    // The slot's opening tag is in the page, its link still in the network: the SDK adopts the
    // slot (a mutation) before the link exists.
    document.body.innerHTML = rendered({ offerId: 'of-1', variant: 'offer' }, 'Loading');
    const fetch = decide({ slots: {} });
    withSlots();
    await settle(0);
    expect(slot().getAttribute('data-rapport-offer')).toBe('of-1');
    const link = document.createElement('a');
    link.href = '/offers/thailand';
    link.innerHTML = '<span>See the tours</span>';
    link.addEventListener('click', (event) => event.preventDefault());
    slot().appendChild(link);
    link.querySelector('span')!.click();
    // A click in the slot beside its links is no click on the offer.
    slot().click();
    await settle(1000);
    expect(tracked(fetch)).toEqual([[SLOT_EVENTS.click, { offerId: 'of-1', slot: 'home-hero', variant: 'offer' }]]);
  });

  it('records a control exposure, once, when visible', async () => {
    document.body.innerHTML = rendered({ offerId: 'of-1', variant: 'control', content: null }, 'Welcome');
    const fetch = decide({ slots: {} });
    withSlots();
    await settle(0);
    FakeIntersectionObserver.show(slot(), 1);
    FakeIntersectionObserver.show(slot(), 1);
    await settle(1000);
    expect(tracked(fetch)).toEqual([[SLOT_EVENTS.control, { offerId: 'of-1', slot: 'home-hero', variant: 'control' }]]);
    expect(slot().textContent).toBe('Welcome');
    expect(decideRequests(fetch)).toEqual([]);
  });

  it('takes null as "keep the default", and a malformed decision goes to onError without asking', async () => {
    const onError = vi.fn();
    document.body.innerHTML =
      rendered(null, 'Welcome') + `<div data-rapport-slot="sidebar" data-rapport-decision="{oops">Sale</div>`;
    const fetch = decide({ slots: {} });
    withSlots({ onError });
    await settle(1000);
    expect(decideRequests(fetch)).toEqual([]);
    expect(tracked(fetch)).toEqual([]);
    expect(slot().textContent).toBe('Welcome');
    expect(onError).toHaveBeenCalledWith(expect.any(SyntaxError));
  });

  it('still decides the slots of the page that the server left to the browser', async () => {
    document.body.innerHTML = rendered({ offerId: 'of-1', variant: 'offer' }) + '<aside data-rapport-slot="sidebar">Sale</aside>';
    const fetch = decide({ slots: { sidebar: { ...offer, offerId: 'of-2' } } });
    withSlots();
    await settle(0);
    expect(decideRequests(fetch).map((r) => r.slots)).toEqual([['sidebar']]);
    expect(slot('sidebar').getAttribute('data-rapport-offer')).toBe('of-2');
  });
});

describe('recommendation slots', () => {
  const recommendations: SlotDecision = {
    offerId: 'of-recs',
    variant: 'offer',
    content: {
      type: 'recommendations',
      strategy: 'viewed-together',
      limit: 4,
      items: [
        { productId: 'p-1', name: 'Tent', price: 120, currency: 'EUR', url: '/p/1', imageUrl: 'https://cdn.example/1.jpg', reason: 'viewed together with p-9', score: 0.9 },
        { productId: 'p-2', name: 'Stove', price: 45, currency: 'EUR', url: '/p/2', imageUrl: null, reason: 'viewed together with p-9', score: 0.5 },
      ],
    },
  };
  const list = { offerId: 'of-recs', slot: 'home-hero', strategy: 'viewed-together' };
  const viewed = [
    [SLOT_EVENTS.impression, { offerId: 'of-recs', slot: 'home-hero', variant: 'offer' }],
    [RECOMMENDATION_EVENTS.impression, { ...list, products: [{ product_id: 'p-1', position: 1 }, { product_id: 'p-2', position: 2 }] }],
  ];
  /** The module import, resolved by the test: `arrive()` hands over the cards, `fail()` rejects. */
  const importCards = () => {
    let arrive: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const load = vi.spyOn(cardsModule, 'load').mockImplementation(
      () =>
        new Promise((resolve, reject) => {
          arrive = () => resolve(cardsSource);
          fail = reject;
        }),
    );
    return { load, arrive: () => arrive(), fail: (error: Error) => fail(error) };
  };

  it('imports the cards module from the host only for recommendations, the slot hidden meanwhile', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div><div data-rapport-slot="sidebar">Sale</div>`;
    const module = importCards();
    decide({ slots: { 'home-hero': recommendations, sidebar: offer } });
    const rapport = withSlots();
    const ready = vi.fn();
    rapport.ready(ready);
    await settle(0);
    expect(module.load).toHaveBeenCalledTimes(1);
    expect(module.load).toHaveBeenCalledWith(HOST);
    // The plain offer shows at once; only the recommendations wait for their module.
    expect(slot('sidebar').querySelector('.rapport-offer')).not.toBeNull();
    expect(slot('sidebar').style.visibility).toBe('');
    expect(slot().style.visibility).toBe('hidden');
    expect(slot().hasAttribute(PENDING_ATTR)).toBe(true);
    expect(slot().textContent).toBe('Welcome');
    expect(ready).not.toHaveBeenCalled();

    module.arrive();
    await settle(0);
    expect(slot().style.visibility).toBe('');
    expect(slot().hasAttribute(PENDING_ATTR)).toBe(false);
    expect(slot().getAttribute('data-rapport-offer')).toBe('of-recs');
    expect([...slot().querySelectorAll('a.rapport-card')].map((a) => a.getAttribute('href'))).toEqual([
      'https://shop.example/p/1',
      'https://shop.example/p/2',
    ]);
    expect(slot().textContent).not.toContain('Welcome');
    expect(ready).toHaveBeenCalledTimes(1);
  });

  it('never imports the module for plain offers', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const module = importCards();
    decide({ slots: { 'home-hero': offer } });
    withSlots();
    await settle(1000);
    expect(module.load).not.toHaveBeenCalled();
    expect(slot().querySelector('.rapport-offer')).not.toBeNull();
  });

  it('records Offer Viewed and Product List Viewed once half visible, Offer Clicked and Product Clicked on a card', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const module = importCards();
    const fetch = decide({ slots: { 'home-hero': recommendations } });
    withSlots();
    await settle(0);
    module.arrive();
    await settle(0);
    FakeIntersectionObserver.show(slot(), 0.3);
    await settle(1000);
    expect(tracked(fetch)).toEqual([]);
    FakeIntersectionObserver.show(slot(), 0.5);
    FakeIntersectionObserver.show(slot(), 1);
    await settle(1000);
    expect(tracked(fetch)).toEqual(viewed);

    const card = slot().querySelector<HTMLElement>('[data-rapport-position="2"]')!;
    card.addEventListener('click', (event) => event.preventDefault());
    card.click();
    await settle(1000);
    expect(tracked(fetch).slice(2)).toEqual([
      [SLOT_EVENTS.click, { offerId: 'of-recs', slot: 'home-hero', variant: 'offer' }],
      [RECOMMENDATION_EVENTS.click, { ...list, product_id: 'p-2', position: 2 }],
    ]);
  });

  it('keeps the default when the module fails, telling onError and throwing nothing into the page', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const module = importCards();
    const onError = vi.fn();
    const fetch = decide({ slots: { 'home-hero': recommendations } });
    const rapport = withSlots({ onError });
    const ready = vi.fn();
    rapport.ready(ready);
    await settle(0);
    module.fail(new TypeError('Failed to fetch dynamically imported module'));
    await settle(0);
    expect(onError).toHaveBeenCalledWith(expect.any(TypeError));
    expect(slot().textContent).toBe('Welcome');
    expect(slot().style.visibility).toBe('');
    expect(slot().hasAttribute(PENDING_ATTR)).toBe(false);
    expect(slot().hasAttribute('data-rapport-offer')).toBe(false);
    expect(ready).toHaveBeenCalledTimes(1);
    FakeIntersectionObserver.show(slot(), 1);
    await settle(1000);
    expect(tracked(fetch)).toEqual([]);
  });

  it(`keeps the default when the module is later than the slot timeout, and ignores it then`, async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const module = importCards();
    decide({ slots: { 'home-hero': recommendations } });
    withSlots();
    await settle(SLOT_TIMEOUT_MS - 1);
    expect(slot().style.visibility).toBe('hidden');
    await settle(1);
    expect(slot().style.visibility).toBe('');
    expect(slot().textContent).toBe('Welcome');
    module.arrive();
    await settle(0);
    expect(slot().textContent).toBe('Welcome');
    expect(slot().querySelector('.rapport-cards')).toBeNull();
  });

  it('keeps the default when there are no items', async () => {
    document.body.innerHTML = `<div data-rapport-slot="a">A</div>`;
    vi.spyOn(cardsModule, 'load').mockResolvedValue(cardsSource);
    decide({ slots: { a: { ...recommendations, content: { type: 'recommendations', strategy: 'trending', items: [] } } } });
    withSlots();
    await settle(0);
    expect(slot('a').textContent).toBe('A');
    expect(slot('a').style.visibility).toBe('');
    expect(slot('a').hasAttribute('data-rapport-offer')).toBe(false);
  });

  it('keeps the default when the module is not what it should be', async () => {
    const onError = vi.fn();
    document.body.innerHTML = `<div data-rapport-slot="b">B</div>`;
    vi.spyOn(cardsModule, 'load').mockResolvedValue({} as never);
    decide({ slots: { b: recommendations } });
    withSlots({ onError });
    await settle(0);
    expect(slot('b').textContent).toBe('B');
    expect(slot('b').style.visibility).toBe('');
    expect(onError).toHaveBeenCalledWith(expect.any(TypeError));
  });

  it('imports the module once for slots that appear later', async () => {
    document.body.innerHTML = `<div data-rapport-slot="home-hero">Welcome</div>`;
    const load = vi.spyOn(cardsModule, 'load').mockResolvedValue(cardsSource);
    decide({ slots: { 'home-hero': recommendations, sidebar: { ...recommendations, offerId: 'of-2' } } });
    withSlots();
    await settle(0);
    const later = document.createElement('div');
    later.setAttribute('data-rapport-slot', 'sidebar');
    document.body.appendChild(later);
    await settle(1);
    await settle(0);
    expect(slot('sidebar').querySelectorAll('.rapport-card')).toHaveLength(2);
    expect(load).toHaveBeenCalledTimes(1);
  });

  describe('rendered by the server', () => {
    const rendered = `<div data-rapport-slot="home-hero" data-rapport-decision='${JSON.stringify({
      offerId: 'of-recs',
      variant: 'offer',
      content: { type: 'recommendations', strategy: 'viewed-together' },
    })}'><div class="rapport-cards">
      <a class="rapport-card" href="/p/1" data-rapport-product="p-1" data-rapport-position="1"><span class="rapport-card__name">Tent</span></a>
      <div class="rapport-card" data-rapport-product="p-2" data-rapport-position="2"><span class="rapport-card__name">Stove</span></div>
    </div></div>`;

    it('records the same events on the cards in the page, without importing the module', async () => {
      document.body.innerHTML = rendered;
      const module = importCards();
      const fetch = decide({ slots: {} });
      withSlots();
      await settle(0);
      expect(module.load).not.toHaveBeenCalled();
      expect(decideRequests(fetch)).toEqual([]);
      expect(slot().style.visibility).toBe('');
      FakeIntersectionObserver.show(slot(), 0.6);
      await settle(1000);
      expect(tracked(fetch)).toEqual(viewed);

      const [link, card] = slot().querySelectorAll<HTMLElement>('[data-rapport-product]');
      link.addEventListener('click', (event) => event.preventDefault());
      link.click();
      card.querySelector<HTMLElement>('.rapport-card__name')!.click();
      await settle(1000);
      const clicked = [SLOT_EVENTS.click, { offerId: 'of-recs', slot: 'home-hero', variant: 'offer' }];
      expect(tracked(fetch).slice(2)).toEqual([
        clicked,
        [RECOMMENDATION_EVENTS.click, { ...list, product_id: 'p-1', position: 1 }],
        clicked,
        [RECOMMENDATION_EVENTS.click, { ...list, product_id: 'p-2', position: 2 }],
      ]);
    });
  });
});
