import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

/** Sends the headers of a 2,000-byte batch (or a login form) and part of its body, then closes the socket. */
function uploadHalf(to: 'collect' | 'console' = 'collect'): Promise<void> {
  const { port } = new URL(t.url);
  const auth = Buffer.from(`${t.site.writeKey}:`).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      if (to === 'console') {
        socket.write('POST /console/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000\r\n\r\n');
        socket.write('next=%2Fconsole&token=half');
      } else {
        socket.write(
          `POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n`,
        );
        socket.write('{"batch":[{"type":"track","anonymousId":"a","event":"Half');
      }
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describe('a client that disconnects mid-upload', () => {
  it('is counted, not logged as an unexpected error', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const before = (await (await fetch(`${t.url}/healthz`)).json()).clientsClosedMidUpload;
      await uploadHalf();
      await uploadHalf();
      let after = before;
      for (let i = 0; i < 50 && after < before + 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = (await (await fetch(`${t.url}/healthz`)).json()).clientsClosedMidUpload;
      }
      expect(after).toBe(before + 2);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });
});

describe('a console form cut short by its client', () => {
  it('is counted with the others, not logged as an unexpected error', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const closed = async () => (await (await fetch(`${t.url}/healthz`)).json()).clientsClosedMidUpload as number;
      const before = await closed();
      await uploadHalf('console');
      let after = before;
      for (let i = 0; i < 50 && after < before + 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = await closed();
      }
      expect(after).toBe(before + 1);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });
});
