#!/usr/bin/env node
// Ceiling (a) of the ingest benchmark: the HTTP part alone. A bare Hono app on the same
// @hono/node-server adapter that Rapport uses (the same hoisted packages the server resolves),
// whose only route reads the body of POST /v1/batch, JSON-parses it and answers 200
// {"success":true}. No auth, validation, enrichment or storage: what Rapport could reach if all
// of its own work cost nothing.
//
//   node bench/ceiling-hono.mjs            prints "ceiling running at http://127.0.0.1:PORT"
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/v1/batch', async (c) => {
  const body = await c.req.json();
  if (!body || !Array.isArray(body.batch)) return c.json({ error: 'not a batch' }, 400);
  return c.json({ success: true });
});

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  console.log(`ceiling running at http://127.0.0.1:${info.port}`);
});
server.keepAliveTimeout = 65_000;
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
