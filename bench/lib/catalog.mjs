// The shop's marketing setup for the decide benchmarks: 50 segments and 20 offers on 3 slots,
// created through the admin API (so they are validated and compiled the way a marketer's are).
// The rules mix what e-CRM rules ask in practice: the search keyword of this visit, computed
// counters and sums, event counts in a time window, traits, devices, pages, campaigns, ABC.

import { admin } from './server.mjs';

const f = (field, op, value) => (value === undefined ? { field, op } : { field, op, value });
const ev = (event, op, value, withinDays) => (withinDays ? { event, op, value, withinDays } : { event, op, value });

export const SEGMENTS = [
  ['Thailand searchers', f('referrer.current.term', 'contains', 'thailand')],
  ['Hiking searchers', { any: [f('referrer.current.term', 'contains', 'hiking'), f('referrer.current.term', 'contains', 'trail')] }],
  ['Returning buyers', f('computed.orders', 'gte', 2)],
  ['First-time buyers', f('computed.orders', 'eq', 1)],
  ['Big spenders', f('computed.revenue', 'gt', 300)],
  ['Engaged browsers', ev('Product Viewed', 'gte', 3, 7)],
  ['Cart abandoners', { all: [ev('Product Added', 'gte', 1, 3), ev('Order Completed', 'lt', 1, 3)] }],
  ['Gold tier', f('traits.tier', 'eq', 'gold')],
  ['Silver or gold', f('traits.tier', 'in', ['silver', 'gold'])],
  ['Newsletter subscribers', f('traits.newsletter', 'eq', true)],
  ['DACH', f('traits.country', 'in', ['DE', 'AT', 'CH'])],
  ['Mobile visitors', f('device.type', 'eq', 'mobile')],
  ['From an email', f('referrer.current.medium', 'eq', 'email')],
  ['Paid traffic', f('referrer.last.medium', 'eq', 'paid')],
  ['Social arrivals', f('referrer.current.medium', 'eq', 'social')],
  ['First came from search', f('referrer.first.medium', 'eq', 'search')],
  ['Frequent visitors', f('computed.visits', 'gte', 5)],
  ['Lapsed customers', { all: [f('computed.orders', 'gte', 1), f('computed.daysSinceLastOrder', 'gt', 90)] }],
  ['New visitors', f('computed.visits', 'lte', 1)],
  ['Identified', f('identified', 'eq', true)],
  ['Anonymous', { not: f('identified', 'eq', true) }],
  ['Tent lookers', f('pages.visited', 'contains', '/c/tents')],
  ['On a product page', f('page.path', 'startsWith', '/p/')],
  ['Blog readers', f('pages.visited', 'contains', '/blog/')],
  ['High order value', f('computed.aov', 'gt', 150)],
  ['A customers', f('computed.abc', 'eq', 'A')],
  ['Thailand promo', f('referrer.last.campaign', 'eq', 'thailand-promo')],
  ['Spring sale arrivals', f('referrer.current.campaign', 'contains', 'spring')],
  ['iOS users', f('device.os', 'eq', 'iOS')],
  ['Firefox users', f('device.browser', 'eq', 'Firefox')],
  ['Heavy browsers', f('computed.pageviews', 'gte', 10)],
  ['Seen this week', f('computed.daysSinceLastSeen', 'lte', 7)],
  ['Long-time visitors', f('computed.daysSinceFirstSeen', 'gt', 180)],
  ['Bought this month', ev('Order Completed', 'gte', 1, 30)],
  ['Window shoppers', { all: [ev('Product Viewed', 'gte', 5), f('computed.orders', 'eq', 0)] }],
  ['Gore-tex keyword', f('computed.keywords', 'contains', 'gore-tex')],
  ['UK visitors', f('traits.country', 'eq', 'GB')],
  ['Has email', f('traits.email', 'exists')],
  ['French speakers', f('traits.country', 'in', ['FR', 'CH'])],
  ['Thai travellers', { any: [f('traits.country', 'eq', 'TH'), f('referrer.first.term', 'contains', 'thailand'), f('computed.keywords', 'contains', 'thailand')] }],
  ['Gold on mobile', { all: [f('traits.tier', 'eq', 'gold'), f('device.type', 'eq', 'mobile')] }],
  ['Search then cart', { all: [f('referrer.last.medium', 'eq', 'search'), ev('Product Added', 'gte', 1, 30)] }],
  ['Newsletter non-buyers', { all: [f('traits.newsletter', 'eq', true), f('computed.orders', 'eq', 0)] }],
  ['Kids shoppers', { any: [f('pages.visited', 'contains', '/c/kids'), f('computed.keywords', 'contains', 'kids')] }],
  ['Sale hunters', { all: [f('pages.visited', 'contains', '/c/sale'), { not: f('traits.tier', 'eq', 'gold') }] }],
  ['Camping intent', { any: [f('computed.keywords', 'contains', 'tent'), f('computed.keywords', 'contains', 'camping'), f('pages.visited', 'contains', '/c/tents')] }],
  ['Desktop buyers', { all: [f('device.type', 'eq', 'desktop'), f('computed.orders', 'gte', 1)] }],
  ['Came back from email', { all: [f('referrer.current.medium', 'eq', 'email'), f('computed.visits', 'gte', 2)] }],
  ['Very active this week', ev('Product Viewed', 'gte', 8, 7)],
  ['Travel planners', { all: [f('pages.visited', 'contains', '/c/travel'), f('computed.daysSinceLastSeen', 'lte', 30)] }],
];

const content = (title) => ({ title, text: `${title}: hand-picked for you, {{traits.firstName}}.`, link: '/c/sale', linkText: 'Shop now' });

/** [slot, priority, segment name or null (everyone), title, extra fields] */
export const OFFERS = [
  ['home-hero', 100, 'Thailand searchers', 'Family holidays in Thailand', { goal: { event: 'Order Completed', withinDays: 14 } }],
  ['home-hero', 90, 'Cart abandoners', 'Your cart is waiting', { cap: { count: 3, days: 7 } }],
  ['home-hero', 80, 'Gold tier', 'Gold members: early access'],
  ['home-hero', 70, 'Lapsed customers', 'We miss you: 15% off'],
  ['home-hero', 60, 'From an email', 'Newsletter deal of the week'],
  ['home-hero', 50, 'Engaged browsers', 'Still looking? Free shipping'],
  ['home-hero', 40, 'New visitors', 'Welcome: 10% off your first order'],
  ['home-hero', 0, null, 'Spring collection'],
  ['sidebar', 100, 'Big spenders', 'Your personal shopper'],
  ['sidebar', 90, 'Window shoppers', 'Need advice? Chat with us'],
  ['sidebar', 80, 'A customers', 'Thank you: VIP gift'],
  ['sidebar', 70, 'Mobile visitors', 'Get the app'],
  ['sidebar', 60, 'Newsletter non-buyers', 'A voucher for subscribers'],
  ['sidebar', 50, 'DACH', 'Kostenloser Versand'],
  ['sidebar', 10, null, 'Bestsellers'],
  ['footer', 100, 'Blog readers', 'More trail stories'],
  ['footer', 80, 'Social arrivals', 'Follow us'],
  ['footer', 60, 'Identified', 'Your loyalty points'],
  ['footer', 40, 'First came from search', 'Top searched products'],
  ['footer', 20, 'Anonymous', 'Sign up and save'],
];

/** Creates the 50 segments and 20 offers of the site through the admin API, unless present. */
export async function ensureCatalog(url, siteId) {
  const existing = await admin(url, 'GET', `/api/segments?site=${siteId}`);
  const ids = new Map(existing.segments.map((s) => [s.name, s.id]));
  for (const [name, rule] of SEGMENTS) {
    if (!ids.has(name)) ids.set(name, (await admin(url, 'POST', '/api/segments', { site: siteId, name, rule })).id);
  }
  const offers = await admin(url, 'GET', `/api/offers?site=${siteId}`).catch(() => ({ offers: [] }));
  if ((offers.offers ?? []).length >= OFFERS.length) return { segments: ids.size, offers: offers.offers.length };
  for (const [slot, priority, segment, title, extra = {}] of OFFERS) {
    await admin(url, 'POST', '/api/offers', {
      site: siteId,
      name: title,
      slot,
      priority,
      segment: segment === null ? null : ids.get(segment),
      status: 'active',
      content: content(title),
      controlPercent: 10,
      ...extra,
    });
  }
  return { segments: ids.size, offers: OFFERS.length };
}
