import type { PageMessage, TrackMessage } from '@rapport/protocol';
import { describe, expect, it } from 'vitest';
import { CAPTURE_EVENTS, capture, elementPath } from './capture';
import { type FetchMock, mockFetch, sentOf, setReferrer, setUrl, settle, start } from './test-helpers';
import type { RapportOptions } from './types';

const withCapture = (options: Partial<RapportOptions> = {}) => {
  const fetch = mockFetch();
  const rapport = start(options, [capture]);
  return { fetch, rapport };
};
const pages = (fetch: FetchMock) => sentOf(fetch).filter((m): m is PageMessage => m.type == 'page');
// happy-dom follows links like a browser; the tests stay on their page.
const click = (el: Element) => {
  el.addEventListener('click', (event) => event.preventDefault(), { once: true });
  el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
};

describe('page views', () => {
  it('records one on load, after the current script', async () => {
    const { fetch, rapport } = withCapture();
    rapport.identify('u-1');
    await settle(1000);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['identify', 'page']);
    expect(pages(fetch)[0].userId).toBe('u-1');
  });

  it('records SPA navigations by pushState, replaceState and popstate, with the page before', async () => {
    setReferrer('https://www.google.com/');
    const { fetch } = withCapture();
    await settle(0);
    history.pushState({}, '', '/tours');
    await settle(1);
    history.replaceState({}, '', '/tours?sort=price');
    await settle(1);
    history.replaceState({ scroll: 300 }, '', '/tours?sort=price');
    await settle(1);
    setUrl('https://shop.example/');
    window.dispatchEvent(new PopStateEvent('popstate'));
    await settle(1000);
    const views = pages(fetch).map((m) => m.context!.page!);
    expect(views.map((p) => p.url)).toEqual([
      'https://shop.example/',
      'https://shop.example/tours',
      'https://shop.example/tours?sort=price',
      'https://shop.example/',
    ]);
    expect(views.map((p) => p.previous)).toEqual([
      undefined,
      'https://shop.example/',
      'https://shop.example/tours',
      'https://shop.example/tours?sort=price',
    ]);
    // The first view keeps the document's referrer; later ones have the page before, as a
    // multi-page site would.
    expect(views[0].referrer).toBe('https://www.google.com/');
    expect(views[1].referrer).toBe('https://shop.example/');
  });

  it('waits for the router to set the new title', async () => {
    const { fetch } = withCapture();
    await settle(0);
    history.pushState({}, '', '/about');
    document.title = 'About us';
    await settle(1000);
    expect(pages(fetch)[1].context!.page!.title).toBe('About us');
  });

  it('ignores hash changes by default', async () => {
    const { fetch } = withCapture();
    await settle(0);
    history.pushState({}, '', '#reviews');
    setUrl('https://shop.example/#faq');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await settle(1000);
    expect(pages(fetch)).toHaveLength(1);
  });

  it('records hash changes with hashChanges on', async () => {
    setUrl('https://shop.example/#/home');
    const { fetch } = withCapture({ hashChanges: true });
    await settle(0);
    setUrl('https://shop.example/#/cart');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await settle(1000);
    expect(pages(fetch).map((m) => m.context!.page!.url)).toEqual([
      'https://shop.example/#/home',
      'https://shop.example/#/cart',
    ]);
  });

  it('can be switched off', async () => {
    const { fetch } = withCapture({ pageviews: false });
    await settle(0);
    history.pushState({}, '', '/elsewhere');
    await settle(1000);
    expect(pages(fetch)).toEqual([]);
  });

  it('leaves the History API working and its errors the page’s own', async () => {
    withCapture();
    await settle(0);
    history.pushState({ n: 1 }, '', '/x');
    expect(history.state).toEqual({ n: 1 });
    expect(location.pathname).toBe('/x');
  });
});

/** Starts capture without page views, runs `act` on the page, and returns what it sent. */
const recorded = async (act: () => void, options: Partial<RapportOptions> = {}) => {
  const { fetch } = withCapture({ pageviews: false, ...options });
  await settle(0);
  act();
  await settle(1000);
  return {
    tracks: sentOf(fetch).filter((m): m is TrackMessage => m.type == 'track'),
    wire: JSON.stringify(sentOf(fetch)),
  };
};

describe('clicks', () => {
  it('records a link with its trimmed text, its href and a short path', async () => {
    document.body.innerHTML = `
      <main><div class="card featured"><a href="/tours/thailand">
        Thailand   tours
      </a></div></main>`;
    const sent = await recorded(() => click(document.querySelector('a')!));
    expect(sent.tracks).toMatchObject([
      {
        event: CAPTURE_EVENTS.link,
        properties: {
          text: 'Thailand tours',
          href: 'https://shop.example/tours/thailand',
          path: 'main > div.card > a',
        },
      },
    ]);
  });

  it('records the link around what was clicked, buttons, and [data-rapport-track] by its name', async () => {
    document.body.innerHTML = `
      <a href="/cart" id="cart-link"><span><img alt="">Cart</span></a>
      <button type="button">  Add to cart </button>
      <section data-rapport-track="Newsletter Teaser"><p>Get <b>news</b></p></section>
      <p id="plain">not interesting</p>`;
    const sent = await recorded(() => {
      click(document.querySelector('img')!);
      click(document.querySelector('button')!);
      click(document.querySelector('b')!);
      click(document.querySelector('#plain')!);
    });
    expect(sent.tracks.map((m) => [m.event, m.properties])).toEqual([
      [CAPTURE_EVENTS.link, { text: 'Cart', href: 'https://shop.example/cart', path: 'a#cart-link' }],
      [CAPTURE_EVENTS.button, { text: 'Add to cart', path: 'button' }],
      ['Newsletter Teaser', { text: 'Get news', path: 'section' }],
    ]);
  });

  it('caps the text', async () => {
    document.body.innerHTML = `<button>${'long '.repeat(100)}</button>`;
    const sent = await recorded(() => click(document.querySelector('button')!));
    expect((sent.tracks[0].properties!.text as string).length).toBe(100);
  });

  it('never sends what a visitor typed: no input values, no editable text', async () => {
    document.body.innerHTML = `
      <form><input name="email" value="ann@example.com"><input type="submit" value="secret-label">
      <div contenteditable="true" role="button">my diary</div></form>`;
    const sent = await recorded(() => {
      (document.querySelector('input[name=email]') as HTMLInputElement).value = 'typed@example.com';
      click(document.querySelector('input[name=email]')!);
      click(document.querySelector('input[type=submit]')!);
      click(document.querySelector('[contenteditable]')!);
    }, { forms: false });
    expect(sent.tracks).toHaveLength(2);
    expect(sent.wire).not.toContain('ann@example.com');
    expect(sent.wire).not.toContain('typed@example.com');
    expect(sent.wire).not.toContain('secret-label');
    expect(sent.wire).not.toContain('my diary');
  });

  it('records nothing inside [data-rapport-ignore]', async () => {
    document.body.innerHTML = `<div data-rapport-ignore><a href="/account">Ann Smith</a></div>`;
    const sent = await recorded(() => click(document.querySelector('a')!));
    expect(sent.tracks).toEqual([]);
  });

  it('can be switched off', async () => {
    document.body.innerHTML = `<a href="/x">x</a>`;
    const sent = await recorded(() => click(document.querySelector('a')!), { clicks: false });
    expect(sent.tracks).toEqual([]);
  });

  it('sees clicks that the page stops from bubbling', async () => {
    document.body.innerHTML = `<button>Buy</button>`;
    document.querySelector('button')!.addEventListener('click', (e) => e.stopPropagation());
    const sent = await recorded(() => click(document.querySelector('button')!));
    expect(sent.tracks).toHaveLength(1);
  });
});

describe('forms', () => {
  const submit = (form: HTMLFormElement) => form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));

  it('records the form id and name and its field names, never values', async () => {
    document.body.innerHTML = `
      <form id="signup" name="newsletter">
        <input name="email" value="ann@example.com">
        <input name="password" type="password" value="hunter2">
        <select name="country"><option value="TH" selected>Thailand</option></select>
        <textarea name="note">call me</textarea>
        <input type="checkbox" name="email" value="yes" checked>
        <input id="no-name" value="orphan">
        <input name="id" value="shadow-id"><input name="name" value="shadow-name">
      </form>`;
    const sent = await recorded(() => submit(document.querySelector('form')!));
    expect(sent.tracks).toMatchObject([
      {
        event: CAPTURE_EVENTS.form,
        properties: {
          id: 'signup',
          name: 'newsletter',
          fields: ['email', 'password', 'country', 'note', 'no-name', 'id', 'name'],
          path: 'form#signup',
        },
      },
    ]);
    for (const value of ['ann@example.com', 'hunter2', 'TH', 'Thailand', 'call me', 'orphan', 'shadow'])
      expect(sent.wire).not.toContain(value);
  });

  it('can be switched off', async () => {
    document.body.innerHTML = `<form><input name="q"></form>`;
    const sent = await recorded(() => submit(document.querySelector('form')!), { forms: false });
    expect(sent.tracks).toEqual([]);
  });
});

describe('elementPath', () => {
  it('stops at an id, at the body, or after four levels', () => {
    document.body.innerHTML = `<div id="app"><main><ul class="list x"><li><a><svg class="icon"></svg></a></li></ul></main></div>`;
    expect(elementPath(document.querySelector('a'))).toBe('main > ul.list > li > a');
    expect(elementPath(document.querySelector('svg'))).toBe('ul.list > li > a > svg.icon');
    expect(elementPath(document.querySelector('main'))).toBe('div#app > main');
    expect(elementPath(document.body)).toBe('');
  });
});
