// The visitors' histories as ingest events: what the data generator (dataset.mjs and its
// generate-worker.mjs) feeds through the real write path. Events are built and enriched here the
// way the collect API would build them (referral and campaign by @rapport/referrer, devices as
// the server's UA parser names them).

import { parseCampaign, parseReferrer } from '@rapport/referrer';
import {
  COUNTRIES, DAY_MS, DEVICES, FIRST_NAMES, SHOP, TIERS, USER_AGENTS, anonymousIdOf, hash32, isKnown, landing,
  productProperties, rng, shopPage, userIdOf,
} from './world.mjs';

/** Bump when the generated data changes, so that cached datasets are not reused. */
export const GENERATOR_VERSION = 4;

const referralCache = new Map();
function referralOf(referrer, url, campaign) {
  const key = `${referrer}\n${url}`;
  let parsed = referralCache.get(key);
  if (!parsed) referralCache.set(key, (parsed = parseReferrer(referrer || null, url)));
  return {
    medium: parsed.medium,
    source: parsed.source,
    term: parsed.term ?? campaign?.term ?? null,
    campaign: campaign?.name ?? null,
    referrer: referrer || null,
    landingPage: url,
  };
}
const campaignCache = new Map();
function campaignOf(url) {
  let c = campaignCache.get(url);
  if (c === undefined) {
    const parsed = parseCampaign(url);
    c = Object.keys(parsed).length ? parsed : null;
    campaignCache.set(url, c);
  }
  return c;
}

/**
 * The history of visitor `i`, as ingest events in time order. About 55% of visitors come once;
 * the rest return for up to 15 sessions over a year; known customers (35%) log in once and buy
 * more often. Average: about 4.3 events per visitor.
 */
export function visitorHistory(i, now) {
  const r = rng(hash32(i, 11));
  const known = isKnown(i);
  const anonymousId = anonymousIdOf(i);
  const userId = known ? userIdOf(i) : null;
  const device = hash32(i, 13) % USER_AGENTS.length;
  const returning = r() < (known ? 0.7 : 0.22);
  const sessions = returning ? 2 + Math.floor(-Math.log(1 - r()) * (known ? 2.5 : 1)) : 1;
  const span = (known ? 365 : 120) * DAY_MS * r();
  const starts = [];
  for (let s = 0; s < Math.min(sessions, 15); s++) starts.push(now - span * r() - 60_000);
  starts.sort((a, b) => a - b);
  const loginSession = known ? Math.floor(r() * starts.length) : -1;

  const events = [];
  let n = 0;
  let loggedIn = false;
  for (let s = 0; s < starts.length; s++) {
    let t = starts[s];
    const land = landing(r);
    const campaign = campaignOf(land.url);
    const sessionId = `s${i}-${s}`;
    const pages = 1 + Math.floor(-Math.log(1 - r()) * 1.2);
    let previous = null;
    let cart = 0;
    for (let p = 0; p < pages; p++) {
      const page = p === 0 ? { path: new URL(land.url).pathname, title: 'Landing', url: land.url } : shopPage(r);
      const url = page.url ?? SHOP + page.path;
      const referrer = p === 0 ? land.referrer : previous;
      const pageCampaign = p === 0 ? campaign : null;
      const base = { url, referrer, campaign: pageCampaign, title: page.title, path: page.path, sessionId };
      events.push(event(i, n++, 'page', null, base, t, { anonymousId, userId: loggedIn ? userId : null, device }, {}));
      t += 15_000 + r() * 60_000;
      if (page.product !== undefined && r() < 0.5) {
        events.push(event(i, n++, 'track', 'Product Viewed', base, t, { anonymousId, userId: loggedIn ? userId : null, device }, productProperties(r, page.product)));
        t += 5_000 + r() * 20_000;
        if (r() < 0.25) {
          cart++;
          events.push(event(i, n++, 'track', 'Product Added', base, t, { anonymousId, userId: loggedIn ? userId : null, device }, productProperties(r, page.product)));
          t += 5_000 + r() * 20_000;
        }
      }
      if (s === loginSession && !loggedIn && p === pages - 1) {
        loggedIn = true;
        const traits = {
          email: `${userId}@mail.example`,
          firstName: FIRST_NAMES[i % FIRST_NAMES.length],
          country: COUNTRIES[hash32(i, 17) % COUNTRIES.length],
          tier: TIERS[hash32(i, 19) % TIERS.length],
          newsletter: hash32(i, 23) % 3 === 0,
        };
        events.push(event(i, n++, 'identify', null, base, t, { anonymousId, userId, device }, null, traits));
        t += 2_000;
      }
      previous = url;
    }
    if (cart > 0 || r() < (known ? 0.12 : 0.02)) {
      if (r() < (known ? 0.45 : 0.15)) {
        const base = { url: `${SHOP}/checkout/done`, referrer: `${SHOP}/checkout`, campaign: null, title: 'Thank you', path: '/checkout/done', sessionId };
        const revenue = Math.round(30 + r() * 250) + 0.95;
        events.push(
          event(i, n++, 'track', 'Order Completed', base, t, { anonymousId, userId: loggedIn ? userId : null, device }, {
            order_id: `o-${i}-${s}`, revenue, currency: 'EUR', products: cart || 1,
          }),
        );
      }
    }
  }
  return events;
}

function event(i, n, type, name, page, at, who, properties, traits = null) {
  const messageId = `g-${i.toString(36)}-${n}`;
  const timestamp = Math.round(at);
  const context = {
    page: { url: page.url, path: page.path, referrer: page.referrer, title: page.title },
    userAgent: USER_AGENTS[who.device],
    locale: 'de-DE',
    library: { name: 'rapport.js', version: '0.1.0' },
    sessionId: page.sessionId,
  };
  const message = { type, messageId, anonymousId: who.anonymousId, timestamp: new Date(timestamp).toISOString(), context };
  if (who.userId) message.userId = who.userId;
  if (type === 'track') message.event = name;
  if (properties) message.properties = properties;
  if (traits) message.traits = traits;
  return {
    messageId,
    type,
    name,
    anonymousId: who.anonymousId,
    userId: who.userId,
    previousId: null,
    // The shop signs its user ids, as the demo shop does: logged-in messages are verified.
    trust: who.userId ? 'verified' : 'untrusted',
    timestamp,
    receivedAt: timestamp + 50,
    traits,
    properties: type === 'track' ? properties : null,
    message,
    enrichment: {
      ip: '203.0.113.0',
      device: DEVICES[who.device],
      referral: referralOf(page.referrer, page.url, page.campaign),
      campaign: page.campaign,
      page: { url: page.url, path: page.path, title: page.title },
      firstTouch: null,
    },
  };
}

