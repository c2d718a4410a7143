import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/** The files under /console/static, with their types; nothing else is served from the folder. */
const FILES: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'segment-builder.js': 'text/javascript; charset=utf-8',
  'offer-preview.js': 'text/javascript; charset=utf-8',
};

/**
 * Where the files are: `static/` beside this module when running from the sources; the build
 * (tsc) copies no CSS or JS to dist/, so a built server reads them from src/ beside it.
 */
function staticDir(): string {
  const here = fileURLToPath(new URL('./static/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../src/console/static/', import.meta.url));
}

/**
 * `GET /console/static/:file`: the stylesheet and the small client scripts, read once and kept,
 * with an ETag so that browsers revalidate cheaply. No login needed: they hold no data.
 */
export function staticRoutes() {
  const app = new Hono();
  const cache = new Map<string, { body: Buffer; etag: string }>();
  let dir: string | null = null;
  app.get('/:file', async (c) => {
    const name = c.req.param('file');
    const type = FILES[name];
    if (!type) return c.text('not found', 404);
    let file = cache.get(name);
    if (!file) {
      dir ??= staticDir();
      const body = await readFile(dir + name);
      file = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
      cache.set(name, file);
    }
    c.header('ETag', file.etag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304);
    c.header('Content-Type', type);
    return c.body(new Uint8Array(file.body));
  });
  return app;
}
