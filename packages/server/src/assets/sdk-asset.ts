import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono, type Context } from 'hono';

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/** The folder of the built script-tag SDK, found through the @rapport/sdk package. */
export function defaultSdkDir(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('@rapport/sdk/script'));
  } catch {
    return undefined;
  }
}

/**
 * `GET /sdk.js` and its source map: the script-tag build, with an ETag and a short cache
 * lifetime (pages pick up a new SDK within minutes, and revalidation is a 304). Beside it
 * `/sdk-cards.js`, the product cards module that the SDK imports for recommendations, served
 * alike: a module script from another origin loads only with the CORS header.
 */
export function sdkAssetRoutes(sdkDir: string | undefined) {
  const app = new Hono();
  const cache = new Map<string, Asset>();
  const serve = (file: string, type: string) => async (c: Context) => {
    const asset = cache.get(file) ?? (await load(sdkDir, file, cache));
    if (!asset) {
      return c.json({ error: 'the SDK is not built: run `npm run build` at the repository root' }, 503);
    }
    c.header('ETag', asset.etag);
    c.header('Cache-Control', 'public, max-age=300');
    c.header('Access-Control-Allow-Origin', '*');
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    c.header('Content-Type', type);
    return c.body(asset.body);
  };
  app.get('/sdk.js', serve('sdk.js', 'text/javascript; charset=utf-8'));
  app.get('/sdk.js.map', serve('sdk.js.map', 'application/json; charset=utf-8'));
  app.get('/sdk-cards.js', serve('sdk-cards.js', 'text/javascript; charset=utf-8'));
  app.get('/sdk-cards.js.map', serve('sdk-cards.js.map', 'application/json; charset=utf-8'));
  return app;
}

async function load(dir: string | undefined, file: string, cache: Map<string, Asset>): Promise<Asset | undefined> {
  if (!dir) return undefined;
  try {
    // Copied once into a plain Uint8Array, the body type a response takes.
    const body = new Uint8Array(await readFile(path.join(dir, file)));
    const asset = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    cache.set(file, asset);
    return asset;
  } catch {
    return undefined;
  }
}
