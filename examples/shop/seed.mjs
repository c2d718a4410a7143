// The demo shop's segments, offers and automation, and a script that creates them through
// Rapport's admin JSON API, the way a shop owner's script would. Idempotent by name: what exists
// (perhaps edited in the console since) is left alone, what is missing is created. One exception:
// the cart-abandonment automation's steps follow the launcher's wait (`--cart-wait`) and the
// shop's address (its cart link), so they are replaced when either has changed.
//
//   node examples/shop/seed.mjs --rapport-url http://127.0.0.1:8787 --admin-token TOKEN --site SITE_ID \
//     [--shop-url http://127.0.0.1:8788] [--cart-wait 1m]
//
// `npm start` runs it on every start (examples/shop/start.mjs), so a new database gets the stories.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CART_COUPON } from './server.mjs';

/**
 * A search for any of `words`: the keyword of this page's referral (a first page view, before
 * anything is stored) or any keyword the profile arrived with before (later visits, other browsers).
 *
 * @example
 * searchedFor('family', 'kids') // { any: [4 conditions: current term, then past keywords] }
 */
function searchedFor(...words) {
  return {
    any: ['referrer.current.term', 'computed.keywords'].flatMap((field) => words.map((value) => ({ field, op: 'contains', value }))),
  };
}

/**
 * Rules read one profile and the page being viewed (see DESIGN.md, "Segments, offers,
 * decisions"). Two things about the data decide how the stories are written:
 *
 * - A decision is made while its page view is still on the way: the SDK asks for the slots and
 *   sends the page view at the same time. Rapport counts the visit that this page starts in
 *   `computed.visits` for the decision, and `referrer.current.*` is this page's referral.
 * - Rules count events (`Order Completed` ≥ 1) but do not look inside past events' properties.
 *   What an order contained is therefore stated by the shop as a trait when the order completes:
 *   `lastOrder: { id, total, categories[], tags[] }` (public/shop.js). Traits keep the newest
 *   value, which is exactly "the last order". Pages visited could say "looked at", not "bought";
 *   one event name per kind of product would bend the e-commerce spec's event names.
 */
export const SEGMENTS = [
  {
    name: 'Backpackers from search',
    description: 'Searched for backpacking: on this page (first page view) or on any earlier visit.',
    rule: searchedFor('backpacking'),
  },
  {
    name: 'Families from search',
    description: 'Searched for a family or kids holiday: on this page or on any earlier visit.',
    rule: searchedFor('family', 'kids'),
  },
  {
    name: 'Third visit, no order yet',
    description: 'Three visits or more (the one being made included) and never ordered.',
    rule: {
      all: [
        { field: 'computed.orders', op: 'eq', value: 0 },
        { field: 'computed.visits', op: 'gte', value: 3 },
      ],
    },
  },
  {
    name: 'Just bought an adventure trip',
    description: 'Ordered, and the last order had an adventure trip in it.',
    rule: {
      all: [
        { event: 'Order Completed', op: 'gte', value: 1 },
        { field: 'traits.lastOrder.categories', op: 'contains', value: 'trip' },
        { field: 'traits.lastOrder.tags', op: 'contains', value: 'adventure' },
      ],
    },
  },
  {
    name: 'Just bought a family holiday',
    description: 'Ordered, and the last order had a family trip or a family hotel in it.',
    rule: {
      all: [
        { event: 'Order Completed', op: 'gte', value: 1 },
        { field: 'traits.lastOrder.categories', op: 'in', value: ['trip', 'hotel'] },
        { field: 'traits.lastOrder.tags', op: 'contains', value: 'family' },
      ],
    },
  },
  {
    name: 'Customers',
    description: 'Ordered at least once.',
    rule: { field: 'computed.orders', op: 'gte', value: 1 },
  },
  {
    name: 'Looking at a trip',
    description: 'This page view is a trip page.',
    rule: { field: 'page.path', op: 'startsWith', value: '/trips/' },
  },
];

const ORDER_GOAL = { event: 'Order Completed', withinDays: 14 };
/** At most 10 impressions of one offer per visitor and week: a hero should not nag. */
const HERO_CAP = { count: 10, days: 7 };

/**
 * The offers, by slot. Higher priority wins when several match: a cross-sell for a customer
 * first, then the discount for the hesitant, then what the search keyword asked for. Each keeps
 * 10% of its audience on the default content, so its report compares against a control group.
 */
export const OFFERS = [
  {
    name: 'Extreme-sports insurance for backpackers',
    slot: 'home-hero',
    segment: 'Backpackers from search',
    priority: 10,
    content: {
      title: 'Going off the beaten track?',
      text: "Our extreme sports cover includes trekking above 3,000 m, rafting and bungee jumping: the things a basic policy leaves out. €89 for up to 60 days.",
      image: '/img/shield.svg',
      link: '/insurance/extreme-sports-cover',
      linkText: 'See extreme sports cover',
    },
    controlPercent: 10,
    goal: ORDER_GOAL,
    cap: HERO_CAP,
  },
  {
    name: 'Family hotels with babysitting',
    slot: 'home-hero',
    segment: 'Families from search',
    priority: 10,
    content: {
      title: 'A holiday the grown-ups enjoy too',
      text: "Family hotels in Thailand with kids' clubs and evening babysitting by trained staff, from €165 a night for the four of you.",
      image: '/img/hotel.svg',
      link: '/hotels/kata-beach-family-resort',
      linkText: 'See family hotels',
    },
    controlPercent: 10,
    goal: ORDER_GOAL,
    cap: HERO_CAP,
  },
  {
    name: 'First-order discount',
    slot: 'home-hero',
    segment: 'Third visit, no order yet',
    priority: 20,
    content: {
      title: 'Welcome back! 10% off your first trip',
      text: 'You have been dreaming long enough. Use the code FIRSTTRIP at checkout for 10% off your first order.',
      image: '/img/mountains.svg',
      link: '/trips',
      linkText: 'Choose your trip',
    },
    controlPercent: 10,
    goal: ORDER_GOAL,
    cap: HERO_CAP,
  },
  {
    name: 'Cross-sell: trekking kit',
    slot: 'home-hero',
    segment: 'Just bought an adventure trip',
    priority: 40,
    content: {
      title: 'Ready for the trail, {{traits.firstName|traveller}}?',
      text: 'Your adventure is booked. Pack what our guides carry: a 40 L trekking backpack, a headlamp for the huts and a water filter bottle.',
      image: '/img/backpack.svg',
      link: '/accessories/trekking-backpack-40l',
      linkText: 'Gear up',
    },
    controlPercent: 10,
    goal: { event: 'Order Completed', withinDays: 30 },
    cap: HERO_CAP,
  },
  {
    name: 'Cross-sell: family travel kit',
    slot: 'home-hero',
    segment: 'Just bought a family holiday',
    priority: 40,
    content: {
      title: 'Little travellers, sorted',
      text: 'A folding travel cot for the hotel room and a UV tent for the beach: what parents wish they had packed.',
      image: '/img/beach.svg',
      link: '/accessories/travel-cot',
      linkText: 'See the family kit',
    },
    controlPercent: 10,
    goal: { event: 'Order Completed', withinDays: 30 },
    cap: HERO_CAP,
  },
  {
    name: 'Cross-sell: travel essentials',
    slot: 'home-hero',
    segment: 'Customers',
    priority: 30,
    content: {
      title: 'The one thing every traveller forgets',
      text: 'A universal adapter for 150 countries, with two USB-C ports for the phones.',
      image: '/img/backpack.svg',
      link: '/accessories/universal-adapter',
      linkText: 'Add an adapter',
    },
    controlPercent: 10,
    goal: { event: 'Order Completed', withinDays: 30 },
    cap: HERO_CAP,
  },
  {
    name: 'Insure this trip',
    slot: 'product-extra',
    segment: 'Looking at a trip',
    priority: 10,
    content: {
      title: 'Insure this trip',
      text: 'Trekking, rafting or a lazy beach: pick the cover that fits, from €39 per traveller.',
      image: '/img/shield.svg',
      link: '/insurance',
      linkText: 'Compare cover',
    },
    controlPercent: 10,
    goal: ORDER_GOAL,
  },
];

/** The demo's wait before a cart counts as abandoned: a minute, so that the story is short to play. */
export const DEFAULT_CART_WAIT = '1m';
const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNIT_WORDS = { s: 'second', m: 'minute', h: 'hour', d: 'day' };

/**
 * A duration of Rapport's automation language (`10s`, `1m`, `2h`, `7d`: a whole number and a
 * unit) in milliseconds, or null when it is not one, or is outside what a wait may be (1 s to 365 d).
 *
 * @example
 * durationMs('90s'); // 90_000
 * durationMs('1.5m'); // null
 */
export function durationMs(text) {
  const match = DURATION.exec(String(text).trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]] : null;
  return ms !== null && ms >= 1_000 && ms <= 365 * UNIT_MS.d ? ms : null;
}

/**
 * A duration in words, for the banner and the stories page.
 *
 * @example
 * durationInWords('1m'); // 'a minute'
 * durationInWords('3s'); // '3 seconds'
 */
export function durationInWords(text) {
  const [, n, unit] = DURATION.exec(String(text).trim()) ?? [];
  if (!unit) return String(text);
  return Number(n) === 1 ? `${unit === 'h' ? 'an' : 'a'} ${UNIT_WORDS[unit]}` : `${Number(n)} ${UNIT_WORDS[unit]}s`;
}

export const CART_ABANDONMENT = 'Cart abandonment';

const escapeAttribute = (text) => String(text).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The cart-abandonment automation (DESIGN.md, "Automations"): a person adds a product to the
 * cart; if no order follows within `wait`, they get a coupon code (the trait `coupon`) and an
 * email with it and a link back to the cart. An order ends the run at any point. Nobody is held
 * out (the demo must always send) and a person gets at most one such email a day.
 *
 * The email goes to the person's `email` trait, and only when a trusted message set it: here the
 * login, whose identify carries the shop's signed user hash (public/shop.js, server.mjs). A
 * visitor who never logged in has no address: the `if` lets their run end without a code or a
 * dead letter.
 *
 * @param shopUrl the shop's origin, for the cart link (Rapport tracks its clicks)
 * @example
 * cartAbandonment({ shopUrl: 'http://127.0.0.1:8788', wait: '1m' }).steps[0].waitFor; // { event: 'Order Completed', within: '1m' }
 */
export function cartAbandonment({ shopUrl, wait = DEFAULT_CART_WAIT }) {
  const cart = `${shopUrl.replace(/\/+$/, '')}/cart`;
  return {
    name: CART_ABANDONMENT,
    status: 'active',
    trigger: { event: 'Product Added' },
    steps: [
      {
        waitFor: { event: 'Order Completed', within: wait },
        then: [],
        else: [
          {
            // Only someone the shop can write to gets a code: a visitor who never logged in has no address.
            if: { field: 'traits.email', op: 'exists' },
            then: [
              { coupon: { prefix: CART_COUPON.prefix } },
              {
                email: {
                  subject: `Your trip is still waiting, {{traits.firstName|traveller}}: ${CART_COUPON.percentOff}% off with {{traits.coupon}}`,
                  text: [
                    'Hi {{traits.firstName|traveller}},',
                    '',
                    `You left something in your cart at Far & Wide, and we kept it for you. To help you decide, the code {{traits.coupon}} takes ${CART_COUPON.percentOff}% off your order at checkout.`,
                    '',
                    `Back to your cart: ${cart}`,
                    '',
                    'Happy travels,',
                    'Far & Wide',
                  ].join('\n'),
                  html: [
                    '<p>Hi {{traits.firstName|traveller}},</p>',
                    '<p>You left something in your cart at Far &amp; Wide, and we kept it for you. To help you decide,',
                    `the code <strong>{{traits.coupon}}</strong> takes ${CART_COUPON.percentOff}% off your order at checkout.</p>`,
                    `<p><a href="${escapeAttribute(cart)}">Back to your cart</a></p>`,
                    '<p>Happy travels,<br>Far &amp; Wide</p>',
                  ].join('\n'),
                },
              },
            ],
            else: [],
          },
        ],
      },
    ],
    exit: { event: 'Order Completed' },
    holdoutPercent: 0,
    cap: { runs: 1, days: 1 },
  };
}

/** A caller of Rapport's admin JSON API (Bearer admin token); a 4xx or 5xx throws with its message. */
export function adminApi(rapportUrl, adminToken) {
  return async (method, pathname, body) => {
    const res = await fetch(rapportUrl.replace(/\/+$/, '') + pathname, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${answer.error ?? res.statusText}`);
    return answer;
  };
}

/**
 * Creates the segments, offers and automation that are missing (by name) in the site; the
 * cart-abandonment automation's steps are replaced when their wait or their cart link (the
 * shop's address) are not `cartWait` and `shopUrl` any more.
 *
 * @returns the names of what was created, and of the automations whose steps were updated:
 *   `{ segments: [...], offers: [...], automations: [...], updated: [...] }`
 * @example
 * await seed({ rapportUrl: 'http://127.0.0.1:8787', adminToken, siteId, shopUrl: 'http://127.0.0.1:8788', cartWait: '1m' });
 */
export async function seed({ rapportUrl, adminToken, siteId, shopUrl = 'http://127.0.0.1:8788', cartWait = DEFAULT_CART_WAIT }) {
  if (durationMs(cartWait) === null) throw new Error(`cartWait: "${cartWait}" is not a duration from 1s to 365d such as 10s, 1m or 2h`);
  const api = adminApi(rapportUrl, adminToken);
  const site = encodeURIComponent(siteId);
  const created = { segments: [], offers: [], automations: [], updated: [] };

  const segments = new Map((await api('GET', `/api/segments?site=${site}`)).segments.map((s) => [s.name, s]));
  for (const segment of SEGMENTS) {
    if (segments.has(segment.name)) continue;
    segments.set(segment.name, await api('POST', '/api/segments', { site: siteId, ...segment }));
    created.segments.push(segment.name);
  }

  const offers = new Set((await api('GET', `/api/offers?site=${site}`)).offers.map((o) => o.name));
  for (const { segment, ...offer } of OFFERS) {
    if (offers.has(offer.name)) continue;
    const segmentId = segments.get(segment)?.id;
    if (!segmentId) throw new Error(`offer "${offer.name}": no segment "${segment}"`);
    await api('POST', '/api/offers', { site: siteId, ...offer, segment: segmentId, status: 'active' });
    created.offers.push(offer.name);
  }

  const wanted = cartAbandonment({ shopUrl, wait: cartWait });
  const existing = (await api('GET', `/api/automations?site=${site}`)).automations.find((a) => a.name === wanted.name);
  if (!existing) {
    await api('POST', '/api/automations', { site: siteId, ...wanted });
    created.automations.push(wanted.name);
  } else if (!followsLauncher(existing.steps, wanted)) {
    // Only the steps: a status or a cap changed in the console stays.
    await api('PUT', `/api/automations/${encodeURIComponent(existing.id)}`, { steps: wanted.steps });
    created.updated.push(wanted.name);
  }
  return created;
}

/** Whether stored steps still wait what the launcher says and link to this shop's cart. */
function followsLauncher(steps, wanted) {
  const within = (list) => (Array.isArray(list) ? list.find((s) => s && s.waitFor)?.waitFor.within : undefined);
  const links = (list) => JSON.stringify(list).match(/https?:\/\/[^/"\s]+\/cart/g) ?? [];
  const cartLink = links(wanted.steps)[0];
  return within(steps) === within(wanted.steps) && links(steps).length > 0 && links(steps).every((l) => l === cartLink);
}

// Run directly: seed any Rapport server's site.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const USAGE = 'Usage: node examples/shop/seed.mjs --rapport-url <url> --admin-token <token> --site <site id>\n' +
    '         [--shop-url <url, for the cart link of the email; default http://127.0.0.1:8788>] [--cart-wait <10s, 1m...; default 1m>]\n' +
    '       (or RAPPORT_URL, RAPPORT_ADMIN_TOKEN, RAPPORT_SITE, SHOP_URL, CART_WAIT)';
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'rapport-url': { type: 'string' },
        'admin-token': { type: 'string' },
        site: { type: 'string' },
        'shop-url': { type: 'string' },
        'cart-wait': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  const rapportUrl = values['rapport-url'] ?? process.env.RAPPORT_URL;
  const adminToken = values['admin-token'] ?? process.env.RAPPORT_ADMIN_TOKEN;
  const siteId = values.site ?? process.env.RAPPORT_SITE;
  if (values.help || !rapportUrl || !adminToken || !siteId) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const shopUrl = values['shop-url'] ?? process.env.SHOP_URL ?? 'http://127.0.0.1:8788';
  const cartWait = values['cart-wait'] ?? process.env.CART_WAIT ?? DEFAULT_CART_WAIT;
  if (durationMs(cartWait) === null) {
    console.error(`--cart-wait: "${cartWait}" is not a duration from 1s to 365d such as 10s, 1m or 2h\n${USAGE}`);
    process.exit(2);
  }
  const created = await seed({ rapportUrl, adminToken, siteId, shopUrl, cartWait });
  console.log(
    `Created ${created.segments.length} segments, ${created.offers.length} offers and ${created.automations.length} automations` +
      (created.updated.length ? `; updated the steps of ${created.updated.join(', ')}.` : '.'),
  );
}
