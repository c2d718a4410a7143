import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './test-support/server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('closing a server', () => {
  it('answers the request in flight, then closes its keep-alive connection instead of waiting for the next', async () => {
    const t = await startTestServer();
    // One pooled connection, as a load balancer keeps: a collect call is on it when the server closes.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify({ batch: [{ type: 'track', event: 'Slow', anonymousId: 'drain-a' }] });
    let answered: { status: number } | undefined;
    const inFlight = new Promise<void>((resolve, reject) => {
      const req = http.request(
        `${t.url}/v1/batch`,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Basic ${Buffer.from(`${t.site.writeKey}:`).toString('base64')}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            answered = { status: res.statusCode! };
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 300);
    });
    await sleep(100);
    const started = Date.now();
    const stopped = t.stop();
    await inFlight;
    // The connection would now sit idle in the pool, where a server that only closed the idle
    // connections of the moment it began closing would keep it, and serve it, for ever.
    await stopped;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(answered?.status).toBe(200);
    agent.destroy();
  });
});
