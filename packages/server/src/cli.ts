import { existsSync } from 'node:fs';
import { DEFAULT_RATE_LIMIT_PER_IP, DEFAULT_RATE_LIMIT_PER_SITE } from './app-context.js';
import { has, integer, last, parseArgs, UsageError, type ParsedArgs } from './cli-args.js';
import { trustedProxies, type TrustProxy } from './http/client-ip.js';
import type { RateLimit } from './http/rate-limit.js';
import { startServer, type ServerConfig } from './server.js';
import { SiteDirectory } from './sites/directory.js';
import { normalizeOrigin } from './sites/origins.js';
import { siteJson } from './sites/routes.js';
import { signSelfServiceLink } from './self-service/link.js';
import { describeDb, isPostgresUrl, openStore } from './store/open-store.js';
import type { NewSite } from './store/types.js';

const HELP = `Rapport: e-CRM toolkit server.

Usage: rapport <command> [options]

Commands:
  start            Start the server; the demo site is created on first start
  serve            Start the server
  sites create     Create a site; prints its write key and secret
  sites list       List the sites
  migrate          Bring the database's schema up to date, then exit (for deploy pipelines)
  copy             Copy a SQLite database into PostgreSQL (resumable; verifies the counts)
  rollups rebuild  Recount the daily figures of reports from the stored events
  self-service-link
                   Print a signed link to a customer's self-service page (for testing)
  help             Show this help (also: rapport <command> --help)

Run \`rapport <command> --help\` (serve, sites, migrate, copy, rollups, self-service-link) for their options.`;

/**
 * The automation scheduler's lease. Its floor is above the longest a step may take (a webhook
 * attempt or an SMTP stage times out after 10 s): a lease that ran out mid-step would let a
 * second claim send the step again while the first attempt is still out.
 */
export const DEFAULT_AUTOMATION_LEASE_MS = 60_000;
export const MIN_AUTOMATION_LEASE_MS = 15_000;
export const MAX_AUTOMATION_LEASE_MS = 3_600_000;
const fmtMs = (ms: number) => ms.toLocaleString('en-US');

const SERVE_HELP = `Usage: rapport serve [options]
       rapport start [options]    (the same, and the demo site is created on first start)

Options:
  --port <n>             Port to listen on. Env RAPPORT_PORT. Default 8787.
  --host <address>       Address to listen on. Env RAPPORT_HOST. Default 127.0.0.1
                         (0.0.0.0 to accept connections from other machines).
  --db <file|url>        SQLite database file, created if missing, or a PostgreSQL URL
                         (postgres://user:password@host:5432/rapport) that any number of
                         nodes share. Env RAPPORT_DB. Default ./data/rapport.db.
  --pool-size <n>        PostgreSQL: connections this node keeps open. Env
                         RAPPORT_POOL_SIZE. Default 10.
  --admin-token <token>  The admin token of the API and console. Env RAPPORT_ADMIN_TOKEN.
                         Default: made on first start, kept in the database, printed then.
  --trust-proxy[=<hops|cidrs>]
                         Behind your own reverse proxies: the client IP is the right-most
                         X-Forwarded-For entry that is not one of them. A hop count
                         (--trust-proxy=2; bare --trust-proxy is 1) or their addresses
                         (--trust-proxy=10.0.0.0/8,::1). Env RAPPORT_TRUST_PROXY.
  --synchronous <mode>   full: fsync every commit before answering (default);
                         normal: survive a crash of the process, not of the machine; faster.
  --writer-thread <on|off>
                         SQLite files: store collected events on a thread of their own, so
                         that HTTP, decisions and the console keep the main one (default on).
  --rate-limit-ip <n>    Requests per second per client IP on /v1 (an IPv6 client is its
                         /64, as for the login throttle), 0 for no limit.
                         Default ${DEFAULT_RATE_LIMIT_PER_IP.rate} (bursts of ${DEFAULT_RATE_LIMIT_PER_IP.burst}).
  --rate-limit-site <n>  Requests per second per site on /v1, 0 for no limit.
                         Default ${DEFAULT_RATE_LIMIT_PER_SITE.rate} (bursts of ${DEFAULT_RATE_LIMIT_PER_SITE.burst}).
  --automation-lease-ms <ms>
                         How long a node holds an automation step it claimed: a step whose
                         node died is sent again (under the same webhook-id) once this runs
                         out. Longer than a step can take (an attempt times out after 10 s):
                         ${fmtMs(MIN_AUTOMATION_LEASE_MS)} to ${fmtMs(MAX_AUTOMATION_LEASE_MS)} ms. Env RAPPORT_AUTOMATION_LEASE_MS. Default ${fmtMs(DEFAULT_AUTOMATION_LEASE_MS)}.
  --public-url <url>     The address people reach Rapport at, when a proxy is in front: the links
                         in automation emails (unsubscribe, clicks) point there. Env
                         RAPPORT_PUBLIC_URL. Default the address it listens on.
  -h, --help             Show this help.`;

const SITES_HELP = `Usage: rapport sites create --name <name> [--origin <url>]... [options]
       rapport sites list [--db <file>] [--json]

Options:
  --name <name>          Name of the site (required for create).
  --origin <url>         An origin allowed to send data, like https://shop.example.com.
                         Repeat for several.
  --no-user-hash         Let browser messages claim a user id without a valid
                         context.userHash. Verification is on by default: without it,
                         anyone who knows a customer's user id can join that customer's
                         profile and see their personalized content.
  --db <file|url>        SQLite database file or PostgreSQL URL. Env RAPPORT_DB.
                         Default ./data/rapport.db.
  --json                 Print JSON instead of text.
  -h, --help             Show this help.`;

export const SERVE_SPEC = {
  flags: ['help', 'trust-proxy'],
  optional: ['trust-proxy'],
  values: ['port', 'host', 'db', 'pool-size', 'admin-token', 'synchronous', 'writer-thread', 'rate-limit-ip', 'rate-limit-site', 'automation-lease-ms', 'public-url'],
};
export const MIGRATE_SPEC = { flags: ['help'], values: ['db'] };

const MIGRATE_HELP = `Usage: rapport migrate [--db <file|url>]

Applies the schema migrations that the database lacks, then exits; a server does the same when
it starts, so this is for deploy pipelines that migrate before starting new nodes. Nodes started
at once migrate once: PostgreSQL migrations run under an advisory lock.

Options:
  --db <file|url>        SQLite database file or PostgreSQL URL. Env RAPPORT_DB.
                         Default ./data/rapport.db.
  -h, --help             Show this help.`;

export const COPY_SPEC = { flags: ['help'], values: ['from', 'to', 'batch'] };

const COPY_HELP = `Usage: rapport copy --from <sqlite file> --to <postgres url> [--batch <rows>]

Copies a SQLite database into PostgreSQL: every site, profile, identity, event (with its dedupe
key), merge, segment, offer and offer event, and the settings kept in the database (the admin
token). The target's schema is brought up to date first; the source is opened read-only. Stop
the server that writes to the SQLite file first: rows changed after they were copied are not
copied again.

Rows go in chunks, each in one transaction with a note of how far the copy got, so a copy that
was interrupted resumes where it stopped when run again, and a second run copies nothing new.
Progress goes to stderr every few seconds. At the end the row counts of both sides are compared
(per site: the target may also hold other sites); the exit code is 1 when one differs.

Options:
  --from <file>          The SQLite database file to copy.
  --to <url>             The PostgreSQL database, postgres://user:password@host:5432/rapport.
  --batch <rows>         Rows per chunk (one transaction). Default 5000.
  -h, --help             Show this help.`;

export const ROLLUPS_SPEC = { flags: ['help'], values: ['db', 'site'] };

const ROLLUPS_HELP = `Usage: rapport rollups rebuild [--site <id>] [--db <file|url>]

Recounts the rollups (the per-day figures that the console's overview and the reports read) of
every site, or of one, from the events and profiles that are stored, by the rules written in
docs/reports.md. Run it after changing a site's time zone, to recount past days in the new zone,
and after upgrading from a version without rollups. Stop the nodes first: events that arrive
while it reads would be counted into rollups that it then replaces.

Options:
  --site <id>            Only this site.
  --db <file|url>        SQLite database file or PostgreSQL URL. Env RAPPORT_DB.
                         Default ./data/rapport.db.
  -h, --help             Show this help.`;

export const SELF_SERVICE_LINK_SPEC = { flags: ['help'], values: ['site', 'user', 'days', 'db', 'public-url'] };
export const MAX_LINK_DAYS = 365;

const SELF_SERVICE_LINK_HELP = `Usage: rapport self-service-link --site <id> --user <userId> [--days 7] [options]

Prints a link to the self-service page of one customer of a site (/me/<token>), signed with the
site's secret as the site's backend would sign it (docs/self-service.md), valid for --days days.
For trying the page out: in production the site's backend makes these links. Rotating the site
secret makes every link made before stop working.

Options:
  --site <id>            The site (required).
  --user <userId>        The customer's user id, as the site sends it (required).
  --days <n>             Days the link works, 1 to ${MAX_LINK_DAYS}. Default 7.
  --public-url <url>     Where people reach Rapport. Env RAPPORT_PUBLIC_URL. Default
                         http://127.0.0.1:<RAPPORT_PORT or 8787>.
  --db <file|url>        SQLite database file or PostgreSQL URL. Env RAPPORT_DB.
                         Default ./data/rapport.db.
  -h, --help             Show this help.`;

export const SITES_SPEC = { flags: ['help', 'no-user-hash', 'require-user-hash', 'json'], values: ['name', 'origin', 'db'] };

/** Entry point of the `rapport` command. Returns when a one-shot command is done. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(HELP);
        return;
      case 'serve':
      case 'start':
        return await serve(parseArgs(rest, SERVE_SPEC), env, command === 'start');
      case 'sites':
        return await sites(rest, env);
      case 'migrate':
        return await migrateCommand(parseArgs(rest, MIGRATE_SPEC), env);
      case 'copy':
        return await copyCommand(parseArgs(rest, COPY_SPEC));
      case 'rollups':
        return await rollupsCommand(parseArgs(rest, ROLLUPS_SPEC), env);
      case 'self-service-link':
        return await selfServiceLinkCommand(parseArgs(rest, SELF_SERVICE_LINK_SPEC), env);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`rapport: ${error.message}\nRun \`rapport --help\` for usage.`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

export function serveConfig(args: ParsedArgs, env: NodeJS.ProcessEnv): ServerConfig {
  const portFlag = last(args, 'port');
  const port = portFlag ?? (env.RAPPORT_PORT || undefined);
  const synchronous = last(args, 'synchronous') ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') throw new UsageError('--synchronous must be full or normal');
  const writerThread = last(args, 'writer-thread') ?? 'on';
  if (writerThread !== 'on' && writerThread !== 'off') throw new UsageError('--writer-thread must be on or off');
  return {
    port: port === undefined ? 8787 : integer(port, portFlag === undefined ? 'RAPPORT_PORT' : '--port', 0, 65535),
    host: last(args, 'host') ?? env.RAPPORT_HOST ?? '127.0.0.1',
    db: dbOf(args, env),
    poolSize: poolSizeOf(args, env),
    adminToken: last(args, 'admin-token') ?? (env.RAPPORT_ADMIN_TOKEN || undefined),
    trustProxy: trustProxyOf(last(args, 'trust-proxy') ?? env.RAPPORT_TRUST_PROXY, has(args, 'trust-proxy') ? '--trust-proxy' : 'RAPPORT_TRUST_PROXY'),
    synchronous,
    writerThread: writerThread === 'on',
    rateLimitPerIp: rateLimit(last(args, 'rate-limit-ip'), '--rate-limit-ip', DEFAULT_RATE_LIMIT_PER_IP),
    rateLimitPerSite: rateLimit(last(args, 'rate-limit-site'), '--rate-limit-site', DEFAULT_RATE_LIMIT_PER_SITE),
    automationLeaseMs: automationLeaseOf(args, env),
    publicUrl: publicUrlOf(args, env),
  };
}

function publicUrlOf(args: ParsedArgs, env: NodeJS.ProcessEnv): string | undefined {
  const flag = last(args, 'public-url');
  const value = flag ?? (env.RAPPORT_PUBLIC_URL || undefined);
  if (value === undefined) return undefined;
  const name = flag === undefined ? 'RAPPORT_PUBLIC_URL' : '--public-url';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${name} must be an http(s) URL such as https://rapport.example.com, not "${value}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
    throw new UsageError(`${name} must be an http(s) URL without query, fragment or credentials, not "${value}"`);
  }
  return url.href.replace(/\/+$/, '');
}

function automationLeaseOf(args: ParsedArgs, env: NodeJS.ProcessEnv): number | undefined {
  const flag = last(args, 'automation-lease-ms');
  const value = flag ?? (env.RAPPORT_AUTOMATION_LEASE_MS || undefined);
  if (value === undefined) return undefined;
  const name = flag === undefined ? 'RAPPORT_AUTOMATION_LEASE_MS' : '--automation-lease-ms';
  return integer(value, name, MIN_AUTOMATION_LEASE_MS, MAX_AUTOMATION_LEASE_MS);
}

function rateLimit(value: string | undefined, name: string, fallback: RateLimit): RateLimit | null {
  if (value === undefined) return fallback;
  const rate = integer(value, name, 0, 1_000_000);
  return rate === 0 ? null : { rate, burst: Math.max(rate * 4, 10) };
}

async function serve(args: ParsedArgs, env: NodeJS.ProcessEnv, demo: boolean) {
  if (has(args, 'help')) return console.log(SERVE_HELP);
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const config = serveConfig(args, env);
  const server = await startServer({ ...config, demo });
  const lines = [
    `Rapport is running at ${server.url}`,
    `  console:    ${server.url}/console`,
    `  health:     ${server.url}/healthz`,
    `  SDK:        ${server.url}/sdk.js`,
    `  database:   ${describeDb(config.db)} (${server.store.kind})`,
  ];
  if (server.createdAdminToken || demo) lines.push(`  admin token: ${server.adminToken}${server.createdAdminToken ? '   (new: keep it)' : ''}`);
  if (server.demoSite) {
    lines.push(
      `Demo site "${server.demoSite.name}" (${server.demoSite.id})`,
      `  write key:  ${server.demoSite.writeKey}`,
      `  script tag: <script async src="${server.url}/sdk.js" data-write-key="${server.demoSite.writeKey}"></script>`,
    );
  }
  if (!demo && server.sites.list().length === 0) {
    lines.push('No site yet: create one with `rapport sites create --name "My shop" --origin https://shop.example.com`.');
  }
  console.log(lines.join('\n'));

  const stop = async (signal: string) => {
    console.log(`rapport: ${signal}, closing`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

async function sites(argv: string[], env: NodeJS.ProcessEnv) {
  const args = parseArgs(argv, SITES_SPEC);
  const [action, ...extra] = args.positionals;
  if (has(args, 'help') || action === undefined) return console.log(SITES_HELP);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (action !== 'list' && action !== 'create') throw new UsageError(`unknown sites action "${action}"; use create or list`);
  // Check the input before opening the database, which would create it.
  const input = action === 'create' ? newSiteOf(args) : null;
  const store = await openStore(dbOf(args, env));
  try {
    const directory = await SiteDirectory.load(store);
    if (!input) {
      const list = directory.list().map(siteJson);
      if (has(args, 'json')) return console.log(JSON.stringify(list, null, 2));
      if (list.length === 0) return console.log('No sites.');
      for (const s of list) console.log(`${s.id}  ${s.name}  write key ${s.writeKey}  origins ${s.origins.join(' ') || '(none)'}`);
      return;
    }
    const site = await directory.create(input);
    if (has(args, 'json')) return console.log(JSON.stringify(siteJson(site), null, 2));
    console.log(
      [
        `Created site "${site.name}" (${site.id})`,
        `  write key: ${site.writeKey}`,
        `  secret:    ${site.secret}   (keep it on your servers: it signs user ids and authenticates server-side calls)`,
        `  origins:   ${site.origins.join(' ') || '(none: add one with PATCH /api/sites/:id before browsers can send)'}`,
      ].join('\n'),
    );
  } finally {
    await store.close();
  }
}

const dbOf = (args: ParsedArgs, env: NodeJS.ProcessEnv) => last(args, 'db') ?? (env.RAPPORT_DB || undefined) ?? './data/rapport.db';

function poolSizeOf(args: ParsedArgs, env: NodeJS.ProcessEnv): number | undefined {
  const flag = last(args, 'pool-size');
  const value = flag ?? (env.RAPPORT_POOL_SIZE || undefined);
  return value === undefined ? undefined : integer(value, flag === undefined ? 'RAPPORT_POOL_SIZE' : '--pool-size', 1, 1000);
}

async function migrateCommand(args: ParsedArgs, env: NodeJS.ProcessEnv) {
  if (has(args, 'help')) return console.log(MIGRATE_HELP);
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const db = dbOf(args, env);
  // Opening a store migrates it (under the advisory lock on PostgreSQL).
  const store = await openStore(db);
  try {
    console.log(`rapport: ${describeDb(db)} (${store.kind}) is at schema version ${await store.schemaVersion()}`);
  } finally {
    await store.close();
  }
}

async function rollupsCommand(args: ParsedArgs, env: NodeJS.ProcessEnv) {
  if (has(args, 'help')) return console.log(ROLLUPS_HELP);
  const [action, ...extra] = args.positionals;
  if (action !== 'rebuild') throw new UsageError(action ? `unknown rollups command "${action}"` : 'rollups needs a command: rebuild');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const only = last(args, 'site');
  const store = await openStore(dbOf(args, env));
  try {
    const all = await store.listSites();
    const sites = only === undefined ? all : all.filter((s) => s.id === only);
    if (only !== undefined && sites.length === 0) throw new UsageError(`no site ${only}`);
    const { rebuildSites } = await import('./reports/rebuild.js');
    for await (const [site, r] of rebuildSites(store, sites)) {
      console.log(
        `rapport rollups: ${site.name} (${site.id}, ${site.settings.timeZone}): ${r.profiles} people, ${r.events} events, ${r.days} days; days active recounted for ${r.profilesUpdated} people`,
      );
    }
  } finally {
    await store.close();
  }
}

/** `rapport self-service-link`: a signed link to one customer's page, printed alone on stdout (scripts read it). */
async function selfServiceLinkCommand(args: ParsedArgs, env: NodeJS.ProcessEnv) {
  if (has(args, 'help')) return console.log(SELF_SERVICE_LINK_HELP);
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  // Checked before the database is opened, which would create it.
  const siteId = last(args, 'site');
  const userId = last(args, 'user');
  if (!siteId) throw new UsageError('self-service-link needs --site <id>');
  if (!userId) throw new UsageError('self-service-link needs --user <userId>');
  const days = integer(last(args, 'days') ?? '7', '--days', 1, MAX_LINK_DAYS);
  const base = publicUrlOf(args, env) ?? `http://127.0.0.1:${env.RAPPORT_PORT || '8787'}`;
  const expiresAt = new Date(Date.now() + days * 86_400_000);
  const store = await openStore(dbOf(args, env));
  try {
    const site = (await store.listSites()).find((s) => s.id === siteId);
    if (!site) throw new UsageError(`no site ${siteId}`);
    let token: string;
    try {
      token = signSelfServiceLink({ site, userId, expiresAt });
    } catch (error) {
      throw new UsageError(`--user: ${(error as Error).message}`);
    }
    console.log(`${base}/me/${token}`);
    const known = await store.findProfileId(site.id, 'user', userId);
    console.error(`rapport: valid until ${expiresAt.toISOString()}${known ? '' : `; nothing is kept yet about user ${userId} on ${site.name}`}`);
  } finally {
    await store.close();
  }
}

/** What `rapport copy` was asked to do, checked before anything is opened. */
export function copyConfig(args: ParsedArgs): { from: string; to: string; batch: number } {
  const from = last(args, 'from');
  const to = last(args, 'to');
  const batch = last(args, 'batch');
  if (!from) throw new UsageError('copy needs --from <sqlite file>');
  if (isPostgresUrl(from) || /^[a-z][a-z0-9+.-]*:\/\//i.test(from)) throw new UsageError('--from must be a SQLite file, not a URL');
  if (from === ':memory:' || !existsSync(from)) throw new UsageError(`--from: there is no SQLite file at "${from}"`);
  if (!to) throw new UsageError('copy needs --to <postgres url>');
  // Another kind of URL is not echoed: it may hold a password.
  if (!isPostgresUrl(to)) throw new UsageError(`--to must be a postgres:// URL${to.includes('://') ? '' : `, not "${to}"`}`);
  try {
    new URL(to);
  } catch {
    throw new UsageError('--to is not a valid URL');
  }
  return { from, to, batch: batch === undefined ? 5000 : integer(batch, '--batch', 1, 100_000) };
}

async function copyCommand(args: ParsedArgs) {
  if (has(args, 'help')) return console.log(COPY_HELP);
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const config = copyConfig(args);
  // Loaded only when asked for, as the PostgreSQL store is: it brings the driver.
  const { copyDatabase, CopyError, formatCopyReport } = await import('./store/copy.js');
  console.error(`rapport copy: ${config.from} -> ${describeDb(config.to)}`);
  let result;
  try {
    result = await copyDatabase(config);
  } catch (error) {
    const message = (error as Error)?.message || String(error);
    const resume = error instanceof CopyError ? '' : '\nWhat was copied stays copied: run the same command again to resume.';
    console.error(`rapport copy: ${message}${resume}`);
    process.exitCode = 1;
    return;
  }
  console.log(formatCopyReport(result));
  if (!result.ok) {
    console.error('rapport copy: the row counts of the source and the target differ (see above)');
    process.exitCode = 1;
  }
}

/** An on/off environment variable: a value that is neither must not quietly mean off. */
/** `true`/`on` is one hop, `false`/`off`/`0` none, a number that many, else a list of addresses or CIDR ranges. */
function trustProxyOf(value: string | undefined, name: string): TrustProxy {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '' || v === '0' || v === 'false' || v === 'off') return false;
  if (v === 'true' || v === 'on') return true;
  const trust = /^\d+$/.test(v) ? Number(v) : v.split(',').map((s) => s.trim());
  try {
    trustedProxies(trust);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as RangeError).message.replace(/^trustProxy: /, '')}; use a hop count, or addresses and CIDR ranges separated by commas, or off`);
  }
  return trust;
}

/** The site that `rapport sites create` describes, checked. */
function newSiteOf(args: ParsedArgs): NewSite {
  const name = last(args, 'name')?.trim();
  if (!name) throw new UsageError('sites create needs --name');
  if (name.length > 100) throw new UsageError('--name must have at most 100 characters');
  const origins = (args.options.get('origin') ?? []).map((o) => {
    try {
      return normalizeOrigin(o);
    } catch (error) {
      throw new UsageError(`--origin: ${(error as Error).message}`);
    }
  });
  if (has(args, 'no-user-hash') && has(args, 'require-user-hash')) {
    throw new UsageError('--no-user-hash and --require-user-hash contradict each other');
  }
  // --require-user-hash is the default now; it stays accepted for scripts written before.
  return { name, origins: [...new Set(origins)], settings: { requireUserHash: !has(args, 'no-user-hash') } };
}
