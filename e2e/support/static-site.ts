import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticSite {
  /** Origin of the site, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** A file other than an HTML page (a script, a JSON document), served with its own content type. */
export interface StaticAsset {
  contentType: string;
  body: string | ((url: string) => string);
}

/**
 * A customer's web site for browser tests: serves the given HTML pages by path (query strings
 * ignored) from 127.0.0.1 on a free port, so that it is another origin than the Rapport server.
 * Pages may be functions of the site's own URL, or assets with a content type of their own.
 */
export async function startStaticSite(
  pages: Record<string, string | ((url: string) => string) | StaticAsset>,
): Promise<StaticSite> {
  const requests: string[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(req.url ?? '/');
    const page = pages[path];
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const asset = typeof page === 'object' ? page : { contentType: 'text/html; charset=utf-8', body: page };
    const body = typeof asset.body === 'function' ? asset.body(origin) : asset.body;
    res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
