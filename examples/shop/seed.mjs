// The demo shop's segments and offers, and a script that creates them through Rapport's admin
// JSON API, the way a shop owner's script would. Idempotent by name: what exists (perhaps edited
// in the console since) is left alone, what is missing is created.
//
//   node examples/shop/seed.mjs --rapport-url http://127.0.0.1:8787 --admin-token TOKEN --site SITE_ID
//
// `npm start` runs it on every start (examples/shop/start.mjs), so a new database gets the stories.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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
 * Creates the segments and offers that are missing (by name) in the site.
 *
 * @returns the names of what was created: `{ segments: [...], offers: [...] }`
 * @example
 * await seed({ rapportUrl: 'http://127.0.0.1:8787', adminToken, siteId });
 */
export async function seed({ rapportUrl, adminToken, siteId }) {
  const api = adminApi(rapportUrl, adminToken);
  const site = encodeURIComponent(siteId);
  const created = { segments: [], offers: [] };

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
  return created;
}

// Run directly: seed any Rapport server's site.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const USAGE = 'Usage: node examples/shop/seed.mjs --rapport-url <url> --admin-token <token> --site <site id>\n' +
    '       (or RAPPORT_URL, RAPPORT_ADMIN_TOKEN, RAPPORT_SITE)';
  let values;
  try {
    ({ values } = parseArgs({
      options: { 'rapport-url': { type: 'string' }, 'admin-token': { type: 'string' }, site: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const created = await seed({ rapportUrl, adminToken, siteId });
  console.log(`Created ${created.segments.length} segments and ${created.offers.length} offers.`);
}
