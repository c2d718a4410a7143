// What `npm start` runs (after the build): Rapport and the demo shop side by side, on two
// origins, as a customer's site and its Rapport server would be.
//
// 1. A mail catcher starts: an SMTP server on 127.0.0.1 that keeps what Rapport sends (the last
//    200 mails, in memory), for the shop's /outbox page. Nothing is delivered.
// 2. Rapport starts in this process, with the demo site "Demo shop" (created on first start).
// 3. The shop starts on its own port, with the site's write key in its pages and the site's
//    secret on its server (to sign user ids at login).
// 4. Through Rapport's admin API, like any script of a shop owner: the site allows the shop's
//    origins, requires signed user ids and sends its email through the catcher; the demo
//    segments, offers and cart-abandonment automation are created if missing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startServer } from '@rapport/server';
import { startMailCatcher } from './mail-catcher.mjs';
import { adminApi, CART_ABANDONMENT, DEFAULT_CART_WAIT, durationInWords, durationMs, seed } from './seed.mjs';
import { startShop } from './server.mjs';

const HELP = `Far & Wide, Rapport's demo shop: starts Rapport and the shop, and seeds the demo stories.

Usage: npm start [-- options]
       node examples/shop/start.mjs [options]

Options:
  --port <n>        Rapport's port. Env RAPPORT_PORT. Default 8787 (0: a free port).
  --shop-port <n>   The shop's port. Env SHOP_PORT. Default 8788 (0: a free port).
  --host <address>  Address both listen on. Env RAPPORT_HOST. Default 127.0.0.1.
  --db <file>       Rapport's SQLite database. Env RAPPORT_DB. Default ./data/rapport.db.
  --cart-wait <duration>
                    How long a cart waits for an order before the cart-abandonment email
                    goes out: a whole number and s, m, h or d (10s, 1m, 2h), 1s at least.
                    Env CART_WAIT. Default 1m.
  -h, --help        Show this help.

The shop renders the home page's hero itself and waits up to SHOP_DECIDE_TIMEOUT_MS (default
150) milliseconds for its decision before it sends the default hero.

The admin token is made on first start and kept in the database (RAPPORT_ADMIN_TOKEN sets it).
Rapport's emails go to a mail catcher on 127.0.0.1 (a free port), never out: the shop shows
them at /outbox.`;

/** Landing URLs of the stories: campaign parameters stand in for a search engine and a newsletter. */
export const STORY_PATHS = {
  graduate: '/?utm_source=google&utm_medium=organic&utm_term=argentina+backpacking',
  parent: '/?utm_source=google&utm_medium=organic&utm_term=family+holiday+thailand',
  returning: '/stories#returning',
  secondBrowser: '/stories#second-browser',
  cart: '/stories#cart',
  outbox: '/outbox',
  all: '/stories',
};

/** The From of the demo's emails. */
export const DEMO_MAIL_FROM = 'Far & Wide <hello@farandwide.example>';

class UsageError extends Error {}

function options(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'shop-port': { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        'cart-wait': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  const port = (value, name, fallback) => {
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name} must be a port from 0 to 65535, not "${value}"`);
    return n;
  };
  const cartWait = (values['cart-wait'] ?? env.CART_WAIT ?? '').trim() || DEFAULT_CART_WAIT;
  if (durationMs(cartWait) === null) {
    throw new UsageError(`--cart-wait must be a duration from 1s to 365d, a whole number and s, m, h or d (10s, 1m, 2h), not "${cartWait}"`);
  }
  return {
    help: values.help ?? false,
    port: port(values.port ?? env.RAPPORT_PORT, '--port', 8787),
    shopPort: port(values['shop-port'] ?? env.SHOP_PORT, '--shop-port', 8788),
    host: values.host ?? env.RAPPORT_HOST ?? '127.0.0.1',
    db: values.db ?? env.RAPPORT_DB ?? './data/rapport.db',
    adminToken: env.RAPPORT_ADMIN_TOKEN || undefined,
    cartWait,
    decideTimeout: decideTimeout(env.SHOP_DECIDE_TIMEOUT_MS),
  };
}

/** SHOP_DECIDE_TIMEOUT_MS: whole milliseconds from 1 to 60,000, 150 when unset. */
function decideTimeout(value) {
  if (value === undefined || value === '') return 150;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) throw new UsageError(`SHOP_DECIDE_TIMEOUT_MS must be whole milliseconds from 1 to 60000, not "${value}"`);
  return ms;
}

/**
 * Starts the mail catcher, Rapport and the shop, prepares the demo site and seeds it.
 * `cartWait` is how long the cart-abandonment automation waits for an order (default `1m`).
 *
 * @returns `{ rapport, shop, site, seeded, mailCatcher, cartWait, close() }`; `close()` stops all three.
 * @example
 * const demo = await startDemo({ port: 0, shopPort: 0, host: '127.0.0.1', db: './data/demo.db', cartWait: '5s' });
 * console.log(demo.shop.url, demo.mailCatcher.mails());
 * await demo.close();
 */
export async function startDemo({ port, shopPort, host, db, adminToken, cartWait: wait = DEFAULT_CART_WAIT, decideTimeout }) {
  const cartWait = String(wait).trim();
  if (durationMs(cartWait) === null) throw new Error(`cartWait must be a duration from 1s to 365d such as 10s, 1m or 2h, not "${cartWait}"`);
  // On 127.0.0.1 whatever --host says: it takes mail from anyone who reaches it.
  const mailCatcher = await startMailCatcher();
  let rapport;
  let shop;
  try {
    rapport = await startServer({ port, host, db, adminToken, demo: true });
    const site = rapport.demoSite;
    shop = await startShop({
      port: shopPort,
      host,
      rapportUrl: rapport.url,
      writeKey: site.writeKey,
      siteSecret: site.secret,
      outbox: () => mailCatcher.mails(),
      cartWait: durationInWords(cartWait),
      decideTimeout,
    });

    const api = adminApi(rapport.url, rapport.adminToken);
    const current = await api('GET', `/api/sites/${site.id}`);
    const shopOrigins = [shop.url, `http://localhost:${shop.port}`, `http://127.0.0.1:${shop.port}`];
    await api('PATCH', `/api/sites/${site.id}`, {
      origins: [...new Set([...current.origins, ...shopOrigins])],
      // The shop signs user ids at login: a user id without a valid hash is not trusted.
      requireUserHash: true,
      // The automations' email goes to this run's catcher (a new port each start).
      smtpUrl: mailCatcher.url,
      mailFrom: DEMO_MAIL_FROM,
    });
    const seeded = await seed({ rapportUrl: rapport.url, adminToken: rapport.adminToken, siteId: site.id, shopUrl: shop.url, cartWait });

    let closing;
    return {
      rapport,
      shop,
      site,
      seeded,
      mailCatcher,
      cartWait,
      // The catcher last: Rapport finishes the steps in hand, a send among them, before it stops.
      close: () => (closing ??= Promise.all([shop.close(), rapport.close()]).then(() => mailCatcher.close())),
    };
  } catch (error) {
    await Promise.all([shop?.close(), rapport?.close()]);
    await mailCatcher.close();
    throw error;
  }
}

function banner({ rapport, shop, site, seeded, mailCatcher, cartWait }, db) {
  const link = (path) => shop.url + path;
  const fresh = seeded.segments.length + seeded.offers.length + seeded.automations.length;
  const made = [
    seeded.segments.length ? `${seeded.segments.length} segments` : '',
    seeded.offers.length ? `${seeded.offers.length} offers` : '',
    seeded.automations.length ? `${seeded.automations.length} automation${seeded.automations.length > 1 ? 's' : ''}` : '',
  ].filter(Boolean);
  const seededLine =
    (fresh ? made.join(', ').replace(/, ([^,]*)$/, ' and $1') : 'nothing new: the demo segments, offers and automation exist') +
    (seeded.updated.includes(CART_ABANDONMENT) ? `; "${CART_ABANDONMENT}" updated: waits ${cartWait}, links to ${link('/cart')}` : '');
  const later = `${durationInWords(cartWait)} later`;
  return `
Far & Wide, Rapport's demo shop, is running.

  Shop:         ${shop.url}/
  Rapport:      ${rapport.url}
  Console:      ${rapport.url}/console
  Admin token:  ${rapport.adminToken}${rapport.createdAdminToken ? '   (new: keep it, it opens the console and the admin API)' : ''}
  Write key:    ${site.writeKey}   (site "${site.name}", ${site.id})
  Database:     ${db}
  Mail catcher: ${mailCatcher.url}   (Rapport's emails stop here: read them at ${link(STORY_PATHS.outbox)})
  Seeded:       ${seededLine}

Try the stories, each as a new visitor (a private window, or "Start over as a new visitor" in the shop's footer):
  1. A graduate searching "argentina backpacking":   ${link(STORY_PATHS.graduate)}
     A parent searching "family holiday thailand":   ${link(STORY_PATHS.parent)}
  2. Three visits: a discount, then a cross-sell:    ${link(STORY_PATHS.returning)}
  3. The same customer on a second browser:          ${link(STORY_PATHS.secondBrowser)}
  4. Leave a cart: an email with a coupon arrives at /outbox about ${later}:
                                                     ${link(STORY_PATHS.cart)}
  All the stories, explained:                        ${link(STORY_PATHS.all)}

Press Ctrl+C to stop.`;
}

async function main() {
  let config;
  try {
    config = options(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`start: ${error.message}\nRun with --help for the options.`);
    process.exit(2);
  }
  if (config.help) return console.log(HELP);

  let demo;
  try {
    demo = await startDemo(config);
  } catch (error) {
    const busy = error?.code === 'EADDRINUSE';
    console.error(busy ? `start: ${error.address}:${error.port} is in use; choose another with --port or --shop-port.` : error);
    process.exit(1);
  }
  console.log(banner(demo, config.db));

  const stop = async (signal) => {
    console.log(`\n${signal}: closing the shop, Rapport and the mail catcher`);
    await demo.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

// Run directly (not when imported for its startDemo).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
