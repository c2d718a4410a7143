// A keep-alive HTTP client for the closed loops that autocannon does not fit (a read made of two
// requests in sequence, with its own timing).
import http from 'node:http';

export function client(baseUrl, { connections = 8 } = {}) {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  return {
    /** Resolves `{ status, ms, text }`; never rejects (a failure has status 0). */
    request(method, path, { headers = {}, body } = {}) {
      const started = performance.now();
      return new Promise((resolve) => {
        const req = http.request(
          { host: base.hostname, port: base.port, path, method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } : headers, timeout: 30_000 },
          (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, text: Buffer.concat(chunks).toString('utf8') }));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, text: String(error) }));
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
