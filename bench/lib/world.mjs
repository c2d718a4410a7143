// The simulated shop and its visitors, shared by the data generator and the load generators so
// that the traffic a benchmark sends looks like the history it finds (same pages, sources,
// keywords, devices, ids). Everything is deterministic: visitor `i` is the same person in every
// run and in every script.

export const SHOP = 'https://shop.example';
export const DAY_MS = 86_400_000;

/** A small fast seeded PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit integer hash (for per-visitor facts that must be known without generating the visitor). */
export function hash32(n, salt = 0) {
  let h = (n ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

const hex = (n, len) => (n >>> 0).toString(16).padStart(8, '0').slice(0, len);

/** The anonymous id of visitor `i`: UUID-shaped (the SDK's ids are v4 UUIDs), deterministic. */
export function anonymousIdOf(i) {
  return `${hex(hash32(i, 1), 8)}-${hex(hash32(i, 2), 4)}-4${hex(hash32(i, 3), 3)}-8${hex(hash32(i, 4), 3)}-${hex(hash32(i, 5), 8)}${hex(i, 4)}`;
}

/** A share of the visitors are customers who logged in at some point: they have a user id. */
export const KNOWN_SHARE = 0.35;
export const isKnown = (i) => hash32(i, 7) / 4294967296 < KNOWN_SHARE;
export const userIdOf = (i) => `cust-${String(i).padStart(8, '0')}`;

export const pick = (r, list) => list[Math.floor(r() * list.length)];

export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
];
/** What the server's user-agent parser says of each (ua-parser-js 1.x), for generated history. */
export const DEVICES = [
  { type: 'desktop', os: 'Windows', browser: 'Chrome' },
  { type: 'desktop', os: 'Mac OS', browser: 'Safari' },
  { type: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
  { type: 'mobile', os: 'Android', browser: 'Chrome' },
  { type: 'desktop', os: 'Linux', browser: 'Firefox' },
  { type: 'tablet', os: 'iOS', browser: 'Mobile Safari' },
  { type: 'desktop', os: 'Windows', browser: 'Edge' },
  { type: 'mobile', os: 'Android', browser: 'Samsung Browser' },
];

export const KEYWORDS = [
  'family holiday thailand', 'trail running shoes', 'waterproof hiking jacket', 'cheap flights bangkok',
  'yoga mat', 'running socks', 'tent 2 person', 'sleeping bag winter', 'gift ideas hiker', 'beach holiday greece',
  'gore-tex boots', 'kids rain jacket', 'camping stove', 'backpack 40l', 'thailand island hopping', 'ski gloves',
];
const CATEGORIES = ['shoes', 'jackets', 'tents', 'backpacks', 'accessories', 'travel', 'kids', 'sale'];
const CAMPAIGNS = ['spring-sale', 'summer-travel', 'black-friday', 'newsletter-weekly', 'thailand-promo'];

/** Landing: where a session comes from. Weighted like a small shop's channel mix. */
export function landing(r) {
  const x = r();
  const category = pick(r, CATEGORIES);
  const page = `${SHOP}/c/${category}`;
  if (x < 0.34) return { referrer: '', url: `${SHOP}/` };
  if (x < 0.62) {
    const q = encodeURIComponent(pick(r, KEYWORDS)).replace(/%20/g, '+');
    const engine = pick(r, ['https://www.bing.com/search?q=', 'https://duckduckgo.com/?q=', 'https://www.ecosia.org/search?q=', 'https://search.yahoo.com/search?p=']);
    return { referrer: engine + q, url: page };
  }
  if (x < 0.7) return { referrer: 'https://www.google.com/', url: `${page}?utm_term=${encodeURIComponent(pick(r, KEYWORDS))}` };
  if (x < 0.8) return { referrer: pick(r, ['https://www.facebook.com/', 'https://l.instagram.com/', 'https://t.co/x1y2', 'https://www.pinterest.com/']), url: page };
  if (x < 0.9) return { referrer: '', url: `${page}?utm_source=newsletter&utm_medium=email&utm_campaign=${pick(r, CAMPAIGNS)}` };
  if (x < 0.96) return { referrer: 'https://www.google.com/', url: `${page}?gclid=Cj0K${Math.floor(r() * 1e9)}&utm_campaign=${pick(r, CAMPAIGNS)}` };
  return { referrer: pick(r, ['https://www.outdoor-blog.example/best-tents', 'https://news.example.org/travel']), url: page };
}

/** A page of the shop, as a browsing visitor sees them. */
export function shopPage(r) {
  const x = r();
  if (x < 0.15) return { path: '/', title: 'Home' };
  if (x < 0.4) {
    const c = pick(r, CATEGORIES);
    return { path: `/c/${c}`, title: c[0].toUpperCase() + c.slice(1) };
  }
  if (x < 0.85) {
    const id = Math.floor(r() * 2000);
    return { path: `/p/${id}`, title: `Product ${id}`, product: id };
  }
  if (x < 0.93) return { path: '/cart', title: 'Cart' };
  return { path: `/blog/${pick(r, ['thailand-guide', 'packing-list', 'trail-tips'])}`, title: 'Blog' };
}

/** Properties of about 100 bytes, as an e-commerce track call carries them. */
export function productProperties(r, id = Math.floor(r() * 2000)) {
  return {
    product_id: `p-${String(id).padStart(5, '0')}`,
    category: pick(r, CATEGORIES),
    name: `Trail Runner ${id % 97}`,
    price: Math.round(20 + r() * 180) + 0.9,
    currency: 'EUR',
  };
}

export const FIRST_NAMES = ['Anna', 'Ben', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kai', 'Lena'];
export const COUNTRIES = ['DE', 'FR', 'NL', 'GB', 'TH', 'US', 'AT', 'CH', 'SE', 'ES'];
export const TIERS = ['none', 'none', 'none', 'silver', 'silver', 'gold'];
