// What the tests of third-party clients share: the server and its sites, reading back what the
// server stored, and reading what it answered to each collect call (through the recording proxy
// in front of it).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll } from 'vitest';
import type { Site } from '../../packages/server/src/store/types';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server';
import { startCollectProxy, type CollectProxy, type Exchange } from '../support/collect-proxy';
import type { StoredEvent } from '../support/stored-event';

export type { StoredEvent };

/** The message types every client sends, one call of each. */
export const TYPES = ['page', 'track', 'identify', 'alias', 'group'];

/** A site of a test's own, the recording proxy in front of the server, and the site's stored events. */
export interface Rig {
  site: Site;
  proxy: CollectProxy;
  events: () => Promise<StoredEvent[]>;
}

/**
 * The server the tests of a file share: started before them (before the file's own `beforeAll`
 * hooks, as these are registered first) and stopped after them, with every proxy its tests put
 * in front of it.
 */
export function clientServer(): { readonly server: TestServer; rig(name: string, origins?: string[]): Promise<Rig> } {
  let started: TestServer | undefined;
  const proxies: CollectProxy[] = [];
  beforeAll(async () => {
    started = await startTestServer();
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await started?.stop();
  });
  const server = () => {
    if (!started) throw new Error('the server starts in beforeAll');
    return started;
  };
  return {
    get server() {
      return server();
    },
    /**
     * A site of its own and a proxy in front of the server. The site does not require verified
     * user ids: these libraries send bare ones (authenticated with HTTP Basic and a write key,
     * which Rapport takes for a public browser key, never for the site secret). On a site that
     * requires verified ids (as new sites do), identify would lose its user id and every message
     * with a user id alone (alias, group, a track by user id) would be rejected.
     */
    async rig(name, origins = []) {
      const site = await server().createSite({ name, origins, settings: { requireUserHash: false } });
      const proxy = await startCollectProxy(server().url);
      proxies.push(proxy);
      return { site, proxy, events: () => storedEvents(server(), site.id) };
    },
  };
}

type Json = Record<string, any>;

/** The site's events, oldest first, read through the admin API. */
export async function storedEvents(server: TestServer, siteId: string): Promise<StoredEvent[]> {
  const res = await server.api<{ events: StoredEvent[] }>('GET', `/api/events?site=${siteId}&limit=500`);
  if (res.status !== 200) throw new Error(`GET /api/events answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.events.reverse();
}

export interface StoredProfile {
  id: string;
  identities: { kind: string; value: string }[];
  traits: Record<string, unknown>;
}

/** A profile as the admin API shows it. */
export async function storedProfile(server: TestServer, id: string): Promise<StoredProfile> {
  const res = await server.api<StoredProfile>('GET', `/api/profiles/${id}`);
  if (res.status !== 200) throw new Error(`GET /api/profiles/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits for: one event of each of these types at least. */
export const hasTypes = (types: string[]) => (events: StoredEvent[]) => types.every((t) => events.some((e) => e.type === t));

/** The requests that carried messages: POSTs under /v1/. */
export const collectCalls = (exchanges: Exchange[]) =>
  exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/v1/'));

/** The messages a collect call carried, whatever its endpoint. */
export function messagesOf(exchange: Exchange): Json[] {
  const body = exchange.body as Json | null;
  if (!body || typeof body !== 'object') return [];
  return Array.isArray(body.batch) ? body.batch : [body];
}

/**
 * What the server refused, one line each with its own answer, so that a failing test shows it:
 * collect calls not answered 200 (for a call whose answer the proxy lost on purpose, the
 * server's real answer counts), rejected messages, and preflights that did not let the browser
 * send (an error status, or a requested header that is not allowed).
 */
export function serverRefusals(exchanges: Exchange[]): string[] {
  const lines: string[] = [];
  for (const exchange of exchanges) {
    const answer = exchange.upstream;
    const where = `${exchange.method} ${exchange.path}`;
    if (!answer) {
      lines.push(`${where}: not forwarded`);
      continue;
    }
    if (exchange.method === 'OPTIONS') {
      const asked = String(exchange.headers['access-control-request-headers'] ?? '');
      const allowed = String(answer.headers['access-control-allow-headers'] ?? '').toLowerCase().split(/\s*,\s*/);
      const missing = asked ? asked.toLowerCase().split(/\s*,\s*/).filter((h) => !allowed.includes(h)) : [];
      if (answer.status >= 300 || missing.length) {
        lines.push(
          `${where}: preflight answered ${answer.status} ${JSON.stringify(answer.body)}` +
            (missing.length ? `; asked for ${asked}, not allowed: ${missing.join(', ')}` : ''),
        );
      }
      continue;
    }
    if (exchange.method !== 'POST') continue;
    const body = answer.body as Json | null;
    if (answer.status !== 200) {
      lines.push(`${where}: ${answer.status} ${JSON.stringify(body)}`);
      continue;
    }
    const sent = messagesOf(exchange);
    for (const issue of (body?.rejected ?? []) as Json[]) {
      lines.push(`${where}: rejected ${sent[issue.index]?.type} message: ${JSON.stringify(issue)}`);
    }
  }
  return lines;
}

/** The warnings of the server's answers, one line each, with the type of the message they are about. */
export function serverWarnings(exchanges: Exchange[]): string[] {
  const lines: string[] = [];
  for (const exchange of collectCalls(exchanges)) {
    const body = exchange.upstream?.body as Json | null | undefined;
    const sent = messagesOf(exchange);
    for (const issue of (body?.warnings ?? []) as Json[]) {
      lines.push(
        `${exchange.method} ${exchange.path}: warning on ${sent[issue.index]?.type} message: ${issue.code} (${issue.field}): ${issue.message}`,
      );
    }
  }
  return lines;
}

/** Message ids sent more than once (retries), and how often each was sent. */
export function resentIds(exchanges: Exchange[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of collectCalls(exchanges)) {
    for (const message of messagesOf(call)) counts.set(message.messageId, (counts.get(message.messageId) ?? 0) + 1);
  }
  return new Map([...counts].filter(([, n]) => n > 1));
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bundles = new Map<string, Promise<string>>();

/**
 * A browser library from node_modules as one classic script that puts `exported` on `window`
 * under the same name: bundled by esbuild at test time, in memory (nothing is written or
 * committed), as a site would bundle the npm package.
 */
export function browserBundle(specifier: string, exported: string): Promise<string> {
  const key = `${specifier}#${exported}`;
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = build({
      stdin: {
        contents: `import { ${exported} } from '${specifier}';\nwindow.${exported} = ${exported};\n`,
        resolveDir: repoRoot,
        loader: 'js',
        sourcefile: `${exported}-entry.js`,
      },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    }).then((result) => result.outputFiles[0].text);
    bundles.set(key, bundle);
  }
  return bundle;
}
