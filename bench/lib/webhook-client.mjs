#!/usr/bin/env node
// The ceiling of the automations benchmark: how many webhook deliveries a second the bench's
// receiver accepts from a plain client loop in a process of its own, the way the server sends
// them (node:http over a keep-alive agent, a JSON body of the same size, Standard Webhooks
// signature headers signed per request, `concurrency` in flight: the scheduler's batch), with
// nothing else to do: no store, no claims. `--client fetch` sends the same requests with Node's
// fetch instead (what the server used before), for comparison.
// Prints one JSON line: { requests, seconds, perSec, non2xx, errors, ... }.
//
// The first `--warmup` seconds (JIT, connections) are not counted.
//
//   node bench/lib/webhook-client.mjs --url http://127.0.0.1:PORT/ceiling --seconds 5 --warmup 1 --concurrency 50 --bytes 700 [--client http|fetch]

import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from './stats.mjs';

const args = parseArgs();
const url = String(args.url);
const seconds = Number(args.seconds ?? 5);
const concurrency = Number(args.concurrency ?? 50);
const bytes = Number(args.bytes ?? 700);
const warmup = Number(args.warmup ?? 1);
const mode = String(args.client ?? 'http');
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

/** One POST with node:http: resolves the status, rejects on an error or after 10 s. */
function post(headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
const key = randomBytes(24);

let requests = 0;
let non2xx = 0;
let errors = 0;
let n = 0;
let counting = false;
const warm = performance.now() + warmup * 1000;
const deadline = warm + seconds * 1000;
let started = warm;

async function worker() {
  for (let now = performance.now(); now < deadline; now = performance.now()) {
    if (!counting && now >= warm) {
      // The first worker past the warm-up starts the count for all.
      counting = true;
      started = now;
      requests = non2xx = errors = 0;
    }
    const id = `ceiling_${++n}:1`;
    const wall = Date.now();
    const body = JSON.stringify({ type: 'automation.step', timestamp: new Date(wall).toISOString(), data: { run: { id }, pad: 'x'.repeat(Math.max(0, bytes - 120)) } });
    const ts = Math.floor(wall / 1000);
    const signature = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
    const headers = { 'content-type': 'application/json', 'user-agent': 'Rapport-Webhooks/0.1', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    try {
      let status;
      if (mode === 'http') status = await post(headers, body);
      else {
        const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
        await res.body?.cancel().catch(() => {});
        status = res.status;
      }
      if (status >= 200 && status < 300) requests++;
      else non2xx++;
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - started) / 1000;
agent.destroy();
console.log(JSON.stringify({ client: mode, requests, seconds: elapsed, warmupSeconds: warmup, perSec: requests / elapsed, non2xx, errors, concurrency, bytes }));
