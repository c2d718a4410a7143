// What `npm start` runs (after the build): Rapport and the demo shop side by side, on two
// origins, as a customer's site and its Rapport server would be.
//
// 1. Rapport starts in this process, with the demo site "Demo shop" (created on first start).
// 2. The shop starts on its own port, with the site's write key in its pages and the site's
//    secret on its server (to sign user ids at login).
// 3. Through Rapport's admin API, like any script of a shop owner: the site allows the shop's
//    origins and requires signed user ids; the demo segments and offers are created if missing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startServer } from '@rapport/server';
import { adminApi, seed } from './seed.mjs';
import { startShop } from './server.mjs';

const HELP = `Far & Wide, Rapport's demo shop: starts Rapport and the shop, and seeds the demo stories.

Usage: npm start [-- options]
       node examples/shop/start.mjs [options]

Options:
  --port <n>        Rapport's port. Env RAPPORT_PORT. Default 8787 (0: a free port).
  --shop-port <n>   The shop's port. Env SHOP_PORT. Default 8788 (0: a free port).
  --host <address>  Address both listen on. Env RAPPORT_HOST. Default 127.0.0.1.
  --db <file>       Rapport's SQLite database. Env RAPPORT_DB. Default ./data/rapport.db.
  -h, --help        Show this help.

The admin token is made on first start and kept in the database (RAPPORT_ADMIN_TOKEN sets it).`;

/** Landing URLs of the stories: campaign parameters stand in for a search engine and a newsletter. */
export const STORY_PATHS = {
  graduate: '/?utm_source=google&utm_medium=organic&utm_term=argentina+backpacking',
  parent: '/?utm_source=google&utm_medium=organic&utm_term=family+holiday+thailand',
  returning: '/stories#returning',
  secondBrowser: '/stories#second-browser',
  all: '/stories',
};

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
  return {
    help: values.help ?? false,
    port: port(values.port ?? env.RAPPORT_PORT, '--port', 8787),
    shopPort: port(values['shop-port'] ?? env.SHOP_PORT, '--shop-port', 8788),
    host: values.host ?? env.RAPPORT_HOST ?? '127.0.0.1',
    db: values.db ?? env.RAPPORT_DB ?? './data/rapport.db',
    adminToken: env.RAPPORT_ADMIN_TOKEN || undefined,
  };
}

/**
 * Starts Rapport and the shop, prepares the demo site and seeds it.
 *
 * @example
 * const demo = await startDemo({ port: 0, shopPort: 0, host: '127.0.0.1', db: './data/demo.db' });
 * console.log(demo.shop.url);
 * await demo.close();
 */
export async function startDemo({ port, shopPort, host, db, adminToken }) {
  const rapport = await startServer({ port, host, db, adminToken, demo: true });
  let shop;
  try {
    const site = rapport.demoSite;
    shop = await startShop({ port: shopPort, host, rapportUrl: rapport.url, writeKey: site.writeKey, siteSecret: site.secret });

    const api = adminApi(rapport.url, rapport.adminToken);
    const current = await api('GET', `/api/sites/${site.id}`);
    const shopOrigins = [shop.url, `http://localhost:${shop.port}`, `http://127.0.0.1:${shop.port}`];
    await api('PATCH', `/api/sites/${site.id}`, {
      origins: [...new Set([...current.origins, ...shopOrigins])],
      // The shop signs user ids at login: a user id without a valid hash is not trusted.
      requireUserHash: true,
    });
    const seeded = await seed({ rapportUrl: rapport.url, adminToken: rapport.adminToken, siteId: site.id });

    let closing;
    return {
      rapport,
      shop,
      site,
      seeded,
      close: () => (closing ??= Promise.all([shop.close(), rapport.close()]).then(() => {})),
    };
  } catch (error) {
    await Promise.all([shop?.close(), rapport.close()]);
    throw error;
  }
}

function banner({ rapport, shop, site, seeded }, db) {
  const link = (path) => shop.url + path;
  const fresh = seeded.segments.length + seeded.offers.length;
  return `
Far & Wide, Rapport's demo shop, is running.

  Shop:         ${shop.url}/
  Rapport:      ${rapport.url}
  Console:      ${rapport.url}/console
  Admin token:  ${rapport.adminToken}${rapport.createdAdminToken ? '   (new: keep it, it opens the console and the admin API)' : ''}
  Write key:    ${site.writeKey}   (site "${site.name}", ${site.id})
  Database:     ${db}
  Seeded:       ${fresh ? `${seeded.segments.length} segments and ${seeded.offers.length} offers` : 'nothing new: the demo segments and offers exist'}

Try the stories, each as a new visitor (a private window, or "Start over as a new visitor" in the shop's footer):
  1. A graduate searching "argentina backpacking":   ${link(STORY_PATHS.graduate)}
     A parent searching "family holiday thailand":   ${link(STORY_PATHS.parent)}
  2. Three visits: a discount, then a cross-sell:    ${link(STORY_PATHS.returning)}
  3. The same customer on a second browser:          ${link(STORY_PATHS.secondBrowser)}
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
    console.log(`\n${signal}: closing the shop and Rapport`);
    await demo.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

// Run directly (not when imported for its startDemo).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
