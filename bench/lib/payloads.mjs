// Request bodies as the SDK sends them: a batch of 20 messages from one visitor (each with
// about 100 bytes of properties and the SDK's context), and a decision for the 3 slots of a page.

import { randomUUID } from 'node:crypto';
import { KEYWORDS, SHOP, USER_AGENTS, anonymousIdOf, isKnown, landing, pick, productProperties, rng, shopPage, userIdOf } from './world.mjs';

export const EVENTS_PER_BATCH = 20;
export const SLOTS = ['home-hero', 'sidebar', 'footer'];

export const basicAuth = (writeKey) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

/** About 100 bytes, like productProperties: what a page call of a shop carries. */
function pageProperties(r, page) {
  return { path: page.path, title: page.title, category: pick(r, ['catalog', 'content', 'checkout']), search: pick(r, KEYWORDS), ab: 'b' };
}

/**
 * Picks who sends the next request: a returning visitor of the dataset with probability
 * `returning` (a known customer among them is logged in half the time), else a new browser.
 */
export function visitorPicker({ visitors, returning = 0.8, seed = 1 }) {
  const r = rng(seed);
  return () => {
    if (visitors > 0 && r() < returning) {
      const i = Math.floor(r() * visitors);
      const loggedIn = isKnown(i) && r() < 0.5;
      return { anonymousId: anonymousIdOf(i), userId: loggedIn ? userIdOf(i) : null, device: i % USER_AGENTS.length };
    }
    return { anonymousId: randomUUID(), userId: null, device: Math.floor(r() * USER_AGENTS.length) };
  };
}

/** A `POST /v1/batch` body: 20 page and track messages of one visitor browsing the shop. */
export function batchFactory({ visitors, returning = 0.8, seed = 2 }) {
  const r = rng(seed);
  const next = visitorPicker({ visitors, returning, seed: seed + 1 });
  return () => {
    const who = next();
    const now = Date.now();
    const land = landing(r);
    const sessionId = randomUUID();
    let referrer = land.referrer;
    let url = land.url;
    const batch = [];
    for (let k = 0; k < EVENTS_PER_BATCH; k++) {
      const page = k === 0 ? { path: new URL(url).pathname, title: 'Landing' } : shopPage(r);
      if (k > 0) {
        referrer = url;
        url = SHOP + page.path;
      }
      const context = {
        page: { url, path: page.path, referrer, title: page.title },
        userAgent: USER_AGENTS[who.device],
        locale: 'de-DE',
        timezone: 'Europe/Berlin',
        library: { name: 'rapport.js', version: '0.1.0' },
        sessionId,
      };
      const message = k % 2 === 0
        ? { type: 'page', name: page.title, properties: pageProperties(r, page) }
        : { type: 'track', event: pick(r, ['Product Viewed', 'Product Viewed', 'Product Added', 'Clicked']), properties: productProperties(r) };
      message.messageId = randomUUID();
      message.anonymousId = who.anonymousId;
      if (who.userId) message.userId = who.userId;
      message.timestamp = new Date(now - (EVENTS_PER_BATCH - k) * 1500).toISOString();
      message.context = context;
      batch.push(message);
    }
    return JSON.stringify({ batch, sentAt: new Date(now).toISOString() });
  };
}

/**
 * A `POST /v1/decide` body for the 3 slots of a page: mostly returning visitors (known profiles),
 * some new ones, arriving from a search, a campaign or social (40%) or browsing within the shop.
 */
export function decideFactory({ visitors, returning = 0.85, seed = 3 }) {
  const r = rng(seed);
  const next = visitorPicker({ visitors, returning, seed: seed + 1 });
  return () => {
    const who = next();
    let page;
    if (r() < 0.4) {
      const land = landing(r);
      page = { url: land.url, referrer: land.referrer, path: new URL(land.url).pathname, title: 'Landing' };
    } else {
      const p = shopPage(r);
      page = { url: SHOP + p.path, referrer: `${SHOP}/`, path: p.path, title: p.title };
    }
    const body = { anonymousId: who.anonymousId, slots: SLOTS, context: { page, userAgent: USER_AGENTS[who.device], locale: 'de-DE' } };
    if (who.userId) body.userId = who.userId;
    return JSON.stringify(body);
  };
}
