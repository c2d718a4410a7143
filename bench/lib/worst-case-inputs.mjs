// The request bodies of bench/worst-case.mjs: the worst inputs of the security issue's findings
// 4 to 6, and the ordinary input of the same kind that each is measured against.

import { SHOP, USER_AGENTS } from './world.mjs';

/** Longest string of `context` the collect API keeps (MAX_CONTEXT_STRING of collect/validate.ts). */
export const MAX_CONTEXT_STRING = 4096;
export const PAGE_URL = `${SHOP}/landing`;

/**
 * A referrer of one kind, with a host of its own for each `i` (and `tag`, so that hosts differ
 * between runs too):
 *   ordinary     a Google search (the host repeats, as real referrers do; the query differs)
 *   labelsN      a host of N labels: https://a.a.….a.u123.com/
 *   longest4096  the longest referrer the wire keeps: 4,096 characters of labels
 */
export function referrerOf(kind, i, tag = '') {
  if (kind === 'ordinary') return `https://www.google.com/search?q=family+holiday+thailand+${i}${tag}`;
  const labels = /^labels(\d+)$/.exec(kind);
  if (labels) return `https://${'a.'.repeat(Number(labels[1]) - 2)}u${i}${tag}.com/`;
  if (kind === 'longest4096') {
    // The unique label first: a cut at 4,096 characters must not make two hosts equal.
    const head = `https://u${i}${tag}.`;
    const tail = 'com/';
    let middle = 'a.'.repeat(Math.floor((MAX_CONTEXT_STRING - head.length - tail.length) / 2));
    if (head.length + middle.length + tail.length < MAX_CONTEXT_STRING) middle = `a${middle}`;
    return head + middle + tail;
  }
  throw new Error(`unknown referrer kind ${kind}`);
}

/** Labels of a referrer's host. */
export const labelsOf = (referrer) => new URL(referrer).hostname.split('.').length;

/** A page message as the SDK sends it (about 2 KB with a 1,000-label referrer). */
export function pageMessage({ anonymousId, messageId, referrer, i }) {
  const path = `/c/travel`;
  return {
    type: 'page',
    name: 'Travel',
    messageId,
    anonymousId,
    timestamp: new Date().toISOString(),
    properties: { path, title: 'Travel', category: 'catalog' },
    context: {
      page: { url: `${SHOP}${path}?v=${i}`, path, referrer, title: 'Travel' },
      userAgent: USER_AGENTS[i % USER_AGENTS.length],
      locale: 'de-DE',
      timezone: 'Europe/Berlin',
      library: { name: 'rapport.js', version: '0.1.0' },
    },
  };
}

/** A `/v1/decide` body for the 3 slots of a page that `referrer` led to. */
export function decideBody({ anonymousId, referrer, i = 0 }) {
  return {
    anonymousId,
    slots: ['home-hero', 'sidebar', 'footer'],
    context: { page: { url: `${SHOP}/c/travel?v=${i}`, path: '/c/travel', referrer, title: 'Travel' }, userAgent: USER_AGENTS[i % USER_AGENTS.length], locale: 'de-DE' },
  };
}

/**
 * Finding 5: 500 tiny track messages under a batch-level `context` of 2,000 keys (about 68 KB):
 * the old code copied the shared context into every stored message.
 */
export function sharedContextBatch({ anonymousId, tag, keys = 2000, messages = 500 }) {
  const context = {};
  for (let k = 0; k < keys; k++) context[`c${String(k).padStart(4, '0')}`] = 'vvv';
  const batch = [];
  for (let m = 0; m < messages; m++) batch.push({ type: 'track', event: 'E', messageId: `${tag}-${m}`, anonymousId });
  return { batch, context, sentAt: new Date().toISOString() };
}

/**
 * The baseline of finding 5: an ordinary batch of at least `bytes` bytes, as a server-side
 * Segment library sends it: a small shared context (library), each message with its own page.
 */
export function ordinaryBatch({ anonymousId, tag, bytes }) {
  const body = { batch: [], context: { library: { name: 'analytics-node', version: '2.1.0' } }, sentAt: new Date().toISOString() };
  let size = JSON.stringify(body).length;
  for (let m = 0; size < bytes; m++) {
    const message = {
      type: 'track',
      event: ['Product Viewed', 'Product Added', 'Clicked'][m % 3],
      messageId: `${tag}-${m}`,
      anonymousId,
      properties: { product_id: `p-${String(m).padStart(5, '0')}`, category: 'shoes', price: 49.9, currency: 'EUR' },
      context: { page: { url: `${SHOP}/p/${m}`, path: `/p/${m}`, referrer: `${SHOP}/c/shoes`, title: `Product ${m}` }, locale: 'de-DE' },
    };
    body.batch.push(message);
    size += JSON.stringify(message).length + 1;
  }
  return body;
}

/** Finding 6: the n-th distinct event name, 150 characters. */
export const uniqueName = (n) => `${'e'.repeat(140)}-${String(n).padStart(9, '0')}`;

const ORDINARY_NAMES = ['Product Viewed', 'Product Added', 'Clicked', 'Product Viewed', 'Checkout Started'];

/** A batch of `count` tiny track messages on one anonymous id, from `nameOf(k)` for k = first.. */
export function trackBatch({ anonymousId, first, count, nameOf, tag }) {
  const batch = [];
  const now = Date.now();
  for (let k = first; k < first + count; k++) {
    batch.push({ type: 'track', event: nameOf(k), messageId: `${tag}-${k}`, anonymousId, timestamp: new Date(now - (first + count - k)).toISOString() });
  }
  return { batch, sentAt: new Date(now).toISOString() };
}

/** Repeating names: what an ordinary visitor's events are called. */
export const ordinaryName = (k) => ORDINARY_NAMES[k % ORDINARY_NAMES.length];
