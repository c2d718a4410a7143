import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { type FetchMock, mockFetch, sentOf, settle } from './test-helpers';
import type { Rapport } from './types';

type Global = typeof globalThis & { rapport?: Rapport & { q?: unknown[]; options?: object } };
const global = globalThis as Global;

/** A script tag as the page has it; inserted through innerHTML, which never loads scripts. */
const scriptTag = (attributes: string, { current = true } = {}) => {
  document.head.innerHTML = `<script ${attributes}></script>`;
  const script = document.head.querySelector('script')!;
  if (current) Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
  return script;
};

/** Runs the script-tag build's entry as the browser would: once per load. */
const load = async () => {
  vi.resetModules();
  await import('./script-tag');
};

const run = (code: string) => new Function(code)();

/** The snippet exactly as the README documents it. */
const snippet = () => {
  // A path string: under happy-dom, URL is happy-dom's, which node:fs does not take.
  const readme = readFileSync(import.meta.dirname + '/../README.md', 'utf8');
  const block = readme.split('<!-- snippet -->')[1].split('```')[1];
  return block.match(/<script>([\s\S]*?)<\/script>/)![1];
};

const clean = () => {
  delete global.rapport;
  delete (document as { currentScript?: unknown }).currentScript;
  document.head.innerHTML = '';
};

const hosts = (fetch: FetchMock) => fetch.mock.calls.map(([url]) => new URL(url).origin);

describe('script tag', () => {
  it('creates window.rapport, sends to the origin it came from and records a page view', async () => {
    clean();
    scriptTag('async src="https://rapport.example.com/sdk.js" data-write-key="wk_live"');
    const fetch = mockFetch();
    await load();
    expect(typeof global.rapport!.track).toBe('function');
    await settle(1000);
    expect(hosts(fetch)).toEqual(['https://rapport.example.com']);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['page']);
    expect(JSON.parse(fetch.mock.calls[0][1].body as string).writeKey).toBe('wk_live');
    clean();
  });

  it('takes data-host and other options from data-* attributes', async () => {
    clean();
    document.body.innerHTML = `<a href="/x">x</a>`;
    // `="true"`: happy-dom leaves attributes with an empty value out of dataset, browsers do not.
    scriptTag(
      'src="https://cdn.example/sdk.js" data-write-key="wk" data-host="https://rapport.example.com/" data-clicks="false" data-require-consent="true"',
    );
    const fetch = mockFetch();
    await load();
    document.querySelector('a')!.click();
    await settle(1000);
    expect(fetch).not.toHaveBeenCalled();
    global.rapport!.consent(true);
    await settle(1000);
    expect(hosts(fetch)).toEqual(['https://rapport.example.com']);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['page']);
    clean();
  });

  it('sends to data-api-host, a path of the page\'s own origin, when a first-party proxy serves it', async () => {
    clean();
    // The page is https://shop.example/ (test-helpers); the proxy mounts Rapport at /rp.
    scriptTag('async src="/rp/sdk.js" data-write-key="wk" data-api-host="/rp/"');
    const fetch = mockFetch();
    await load();
    await settle(1000);
    expect(fetch.mock.calls.map(([url]) => url)).toEqual(['/rp/v1/batch']);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['page']);
    clean();
  });

  it('finds its tag without document.currentScript', async () => {
    clean();
    scriptTag('src="https://rapport.example.com/sdk.js" data-write-key="wk"', { current: false });
    const fetch = mockFetch();
    await load();
    await settle(1000);
    expect(hosts(fetch)).toEqual(['https://rapport.example.com']);
    clean();
  });

  it('replays the calls the async snippet queued, in order, before the first page view', async () => {
    clean();
    run(snippet());
    const onError = vi.fn();
    global.rapport!.options = { onError };
    const ready = vi.fn();
    global.rapport!.identify('u-1', { plan: 'pro' });
    global.rapport!.track('Early Bird');
    global.rapport!.ready(ready);
    global.rapport!.track(undefined as never);
    expect(global.rapport!.q).toHaveLength(4);

    scriptTag('async src="https://rapport.example.com/sdk.js" data-write-key="wk"');
    const fetch = mockFetch();
    await load();
    await settle(1000);
    expect(global.rapport!.q).toBeUndefined();
    expect(global.rapport!.userId()).toBe('u-1');
    expect(sentOf(fetch).map((m) => [m.type, m.userId])).toEqual([
      ['identify', 'u-1'],
      ['track', 'u-1'],
      ['page', 'u-1'],
    ]);
    expect(ready).toHaveBeenCalledTimes(1);
    // The snippet's options reached the SDK: the bad call was reported there.
    expect(onError).toHaveBeenCalledTimes(1);
    clean();
  });

  it('replays the calls after a malformed queue entry', async () => {
    clean();
    run(snippet());
    global.rapport!.q!.push(null as never, ['track', null as never]);
    global.rapport!.track('After The Bad Ones');
    scriptTag('async src="https://rapport.example.com/sdk.js" data-write-key="wk"');
    const fetch = mockFetch();
    await load();
    await settle(1000);
    expect(sentOf(fetch).map((m) => m.event ?? m.type)).toEqual(['After The Bad Ones', 'page']);
    clean();
  });

  it('keeps the first copy when loaded twice', async () => {
    clean();
    scriptTag('src="https://rapport.example.com/sdk.js" data-write-key="wk"');
    mockFetch();
    await load();
    const first = global.rapport;
    await load();
    expect(global.rapport).toBe(first);
    clean();
  });

  it('adds no global but rapport', async () => {
    clean();
    scriptTag('src="https://rapport.example.com/sdk.js" data-write-key="wk"');
    mockFetch();
    const before = new Set(Object.getOwnPropertyNames(globalThis));
    await load();
    await settle(1000);
    const added = Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name));
    expect(added).toEqual(['rapport']);
    clean();
  });

  it('does nothing, quietly, without a write key or a usable tag', async () => {
    clean();
    scriptTag('src="https://rapport.example.com/sdk.js"');
    const fetch = mockFetch();
    await expect(load()).resolves.toBeUndefined();
    expect(global.rapport).toBeUndefined();
    clean();
    await expect(load()).resolves.toBeUndefined();
    expect(global.rapport).toBeUndefined();
    await settle(1000);
    expect(fetch).not.toHaveBeenCalled();
  });
});
