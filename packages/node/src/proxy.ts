import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BATCH_BYTES, PROXY_HEADER, proxySignedText } from '@rapport/protocol';

/** Options of {@link rapportProxy}. */
export interface ProxyOptions {
  /** The Rapport server, e.g. `https://rapport.example.com`. */
  host: string;
  /** Where the proxy is mounted on the site's origin. @default '/rp' */
  path?: string;
  /** The site's write key and secret: the secret signs the visitor's address. */
  writeKey: string;
  secret: string;
  /** Milliseconds to wait for Rapport before answering 504. @default 10000 */
  timeout?: number;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A fetch-style handler (Hono, Next.js route handlers, Deno, Bun) and one for Node's `http`. */
export interface RapportProxy {
  /**
   * Answers a request under the proxy's path. `clientIp` is the visitor's address as your server
   * sees it (behind your own load balancer, the one it forwards).
   *
   * @example
   * // Hono on Node
   * import { getConnInfo } from '@hono/node-server/conninfo';
   * app.all('/rp/*', (c) => proxy.fetch(c.req.raw, getConnInfo(c).remote.address));
   */
  fetch(request: Request, clientIp?: string): Promise<Response>;
  /**
   * The same for `http.createServer`; true when it answered, false for requests outside its path.
   *
   * @example
   * http.createServer(async (req, res) => { if (await proxy.node(req, res)) return; ... });
   */
  node(req: IncomingMessage, res: ServerResponse, clientIp?: string): Promise<boolean>;
}

/** Request headers Rapport needs; cookies of the site are never among them. */
const FORWARD_REQUEST = ['accept', 'accept-language', 'authorization', 'content-encoding', 'content-type', 'if-modified-since', 'if-none-match', 'origin', 'referer', 'user-agent'];
/** Answer headers worth passing back; fetch has decoded the body, so no content-encoding. */
const FORWARD_RESPONSE = ['access-control-allow-origin', 'cache-control', 'content-type', 'etag', 'last-modified', 'location', 'retry-after', 'vary', 'x-rapport-error'];

/**
 * Rapport on the site's own origin: mounted at `/rp`, it forwards `/rp/v1/*` and `/rp/sdk.js`
 * to Rapport, so the SDK (`<script src="/rp/sdk.js" data-api-host="/rp">`) talks to the page's own
 * host, which no blocker list names. Since every call then comes from your server, the visitor's
 * address goes along in `x-rapport-proxy`, signed with the site secret: Rapport's limits and IP
 * truncation see the visitor, and no one else can claim an address. Nothing else is forwarded:
 * not other paths (it is no open proxy), not the site's cookies.
 *
 * @example
 * const proxy = rapportProxy({ host: 'https://rapport.example.com', writeKey: 'wk_live_123', secret: process.env.RAPPORT_SECRET });
 */
/** The SDK's files: the script tag, and the product cards it loads for a recommendations slot. */
const SCRIPTS = new Set(['/sdk.js', '/sdk.js.map', '/sdk-cards.js', '/sdk-cards.js.map']);

export function rapportProxy(options: ProxyOptions): RapportProxy {
  const host = options.host.replace(/\/+$/, '');
  const mount = '/' + (options.path ?? '/rp').replace(/^\/+|\/+$/g, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  if (!options.secret) throw new TypeError('rapportProxy: the site secret is required, it signs the visitor address');

  /** The path at Rapport, or null when the request is not one the proxy forwards. */
  const target = (pathname: string): string | null => {
    if (!pathname.startsWith(mount + '/')) return null;
    const rest = pathname.slice(mount.length);
    return SCRIPTS.has(rest) || /^\/v1\/[\w.-]+$/.test(rest) ? rest : null;
  };

  const signature = (ip: string) => {
    const t = Math.floor(Date.now() / 1000);
    const s = createHmac('sha256', options.secret).update(proxySignedText(ip, t, options.writeKey)).digest('base64url');
    return `ip=${ip}; t=${t}; k=${options.writeKey}; s=${s}`;
  };

  const forward = async (method: string, path: string, search: string, headers: Headers, body: Uint8Array | null, clientIp?: string): Promise<Response> => {
    const out = new Headers();
    for (const name of FORWARD_REQUEST) {
      const value = headers.get(name);
      if (value !== null) out.set(name, value);
    }
    if (clientIp && /^[\d.:a-fA-F]{2,45}$/.test(clientIp)) out.set(PROXY_HEADER, signature(clientIp));
    try {
      const res = await doFetch(host + path + search, {
        method,
        headers: out,
        body: body && body.length ? body : undefined,
        // A /v1/r answer is a redirect for the browser to follow, not for us.
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeout ?? 10_000),
      });
      const back = new Headers();
      for (const name of FORWARD_RESPONSE) {
        const value = res.headers.get(name);
        if (value !== null) back.set(name, value);
      }
      return new Response(method === 'HEAD' || res.status === 304 ? null : await res.arrayBuffer(), { status: res.status, headers: back });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return Response.json({ error: timedOut ? 'Rapport did not answer in time' : 'Rapport cannot be reached' }, { status: timedOut ? 504 : 502, headers: { 'retry-after': '1' } });
    }
  };

  const tooLarge = () => Response.json({ error: `body over ${MAX_BATCH_BYTES} bytes` }, { status: 413 });
  const notHere = () => Response.json({ error: 'not a path of the Rapport proxy' }, { status: 404 });

  return {
    async fetch(request, clientIp) {
      const url = new URL(request.url);
      const path = target(url.pathname);
      if (!path) return notHere();
      if (Number(request.headers.get('content-length')) > MAX_BATCH_BYTES) return tooLarge();
      const body = request.body ? await readCapped(request.body) : null;
      if (body === 'too large') return tooLarge();
      return forward(request.method, path, url.search, request.headers, body, clientIp);
    },
    async node(req, res, clientIp) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = target(url.pathname);
      if (!url.pathname.startsWith(mount + '/')) return false;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      let answer: Response;
      if (!path) answer = notHere();
      else if (Number(req.headers['content-length']) > MAX_BATCH_BYTES) answer = tooLarge();
      else {
        const body = req.method === 'GET' || req.method === 'HEAD' ? null : await readCapped(req);
        answer = body === 'too large' ? tooLarge() : await forward(req.method ?? 'GET', path, url.search, headers, body, clientIp ?? req.socket.remoteAddress);
      }
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => (out[name] = value));
      res.writeHead(answer.status, out);
      res.end(Buffer.from(await answer.arrayBuffer()));
      return true;
    },
  };
}

/** The body, read up to the collect API's largest: past it the rest is never buffered. */
async function readCapped(stream: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): Promise<Uint8Array | 'too large'> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_BATCH_BYTES) return 'too large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
