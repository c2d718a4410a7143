import { createServer, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

/**
 * How a request's answer goes missing. The request is forwarded first and the server commits it;
 * only the answer is lost, as when a load balancer gives up or a mobile network drops: the client
 * must retry, and the server must store the retried messages once.
 *
 * - `answer-500`: the client gets a 500 (with CORS headers, so a browser library sees the status);
 * - `reset`: the connection is destroyed without an answer.
 */
export type Fault = 'answer-500' | 'reset';

/** One request through the proxy and what its client got back. */
export interface Exchange {
  method: string;
  /** Path and query string. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as sent, inflated when it came gzip- or deflate-encoded, parsed when it is JSON. */
  body: unknown;
  /** What the server answered (null when the request was not forwarded). */
  upstream: { status: number; headers: IncomingHttpHeaders; body: unknown } | null;
  /** The fault injected into this exchange, if any: then the client did not get `upstream`. */
  fault: Fault | null;
}

export interface CollectProxy {
  /** `http://127.0.0.1:<port>`: point a client here instead of at the server. */
  url: string;
  port: number;
  /** Every request so far, in the order their answers were settled. */
  exchanges: Exchange[];
  /** Loses the answer to the next request that `match` accepts (default: the next POST). */
  failNext(fault: Fault, match?: (method: string, path: string) => boolean): void;
  close(): Promise<void>;
}

/**
 * A recording proxy in front of the Rapport server, for tests of third-party clients: it forwards
 * every request unchanged (CORS preflights included, so that the server's own answers are what
 * the browser enforces), records what was sent and answered, and can lose answers on purpose.
 */
export async function startCollectProxy(target: string): Promise<CollectProxy> {
  const upstream = new URL(target);
  const exchanges: Exchange[] = [];
  const faults: { fault: Fault; match: (method: string, path: string) => boolean }[] = [];

  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const path = new URL(url, 'http://x').pathname;
    const sent = await readAll(req);
    const index = faults.findIndex((f) => f.match(method, path));
    const fault = index >= 0 ? faults.splice(index, 1)[0].fault : null;
    const exchange: Exchange = { method, url, path, headers: req.headers, body: decode(sent, req.headers), upstream: null, fault };
    try {
      const answer = await forward(upstream, method, url, req.headers, sent);
      exchange.upstream = { status: answer.status, headers: answer.headers, body: decode(answer.body, answer.headers) };
      exchanges.push(exchange);
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault === 'answer-500') {
        const origin = req.headers.origin;
        res
          .writeHead(500, {
            'content-type': 'application/json',
            ...(origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {}),
          })
          .end(JSON.stringify({ error: 'answer lost by the test proxy' }));
        return;
      }
      const headers = { ...answer.headers };
      delete headers['transfer-encoding'];
      delete headers.connection;
      delete headers['keep-alive'];
      headers['content-length'] = String(answer.body.length);
      res.writeHead(answer.status, headers).end(answer.body);
    } catch (error) {
      exchanges.push(exchange);
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${(error as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    exchanges,
    failNext(fault, match = (method) => method === 'POST') {
      faults.push({ fault, match });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function forward(
  target: URL,
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: target.hostname, port: target.port, method, path: url, headers: { ...headers, host: target.host } },
      async (answer) => {
        try {
          resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: await readAll(answer) });
        } catch (error) {
          reject(error);
        }
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The body as text or JSON, inflated first when its `content-encoding` says so. */
function decode(bytes: Buffer, headers: IncomingHttpHeaders): unknown {
  if (bytes.length === 0) return null;
  let plain = bytes;
  try {
    const encoding = String(headers['content-encoding'] ?? '').toLowerCase();
    if (encoding === 'gzip' || encoding === 'x-gzip') plain = gunzipSync(bytes);
    else if (encoding === 'deflate') plain = inflateSync(bytes);
  } catch {
    return `<${bytes.length} bytes that do not inflate>`;
  }
  const text = plain.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
