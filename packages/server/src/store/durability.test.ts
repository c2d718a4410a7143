import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../test-support/process.js';
import { startTestServer } from '../test-support/server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'durability-admin-token';

async function allMessageIds(url: string, siteId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor = '';
  for (;;) {
    const res = await fetch(`${url}/api/events?site=${siteId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const body = await res.json();
    for (const e of body.events) ids.add(e.messageId);
    if (!body.nextCursor) return ids;
    cursor = body.nextCursor;
  }
}

describe('durability', () => {
  it('keeps every acknowledged message when the server is killed with SIGKILL mid-load', async () => {
    const db = path.join(dir, 'kill.db');
    const flags = ['--db', db, '--admin-token', TOKEN, '--rate-limit-ip', '0', '--rate-limit-site', '0'];
    let server: ServerProcess = await spawnServer(flags);
    const created = await fetch(`${server.url}/api/sites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Durability' }),
    });
    const site = await created.json();
    const auth = `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`;

    const acknowledged: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let b = 0; !stop; b++) {
        const batch = Array.from({ length: 20 }, (_, i) => ({
          type: 'track',
          event: 'Load',
          anonymousId: `kill-${w}-${b % 7}`,
          messageId: `kill-${w}-${b}-${i}`,
          properties: { payload: 'x'.repeat(100) },
        }));
        sent += batch.length;
        try {
          const res = await fetch(`${server.url}/v1/batch`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body: JSON.stringify({ batch }),
          });
          if (res.status === 200) acknowledged.push(...batch.map((m) => m.messageId));
        } catch {
          return; // the connection died with the server: this batch was never acknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    while (acknowledged.length < 2_000) await new Promise((r) => setTimeout(r, 10));
    server.child.kill('SIGKILL');
    await server.exited;
    stop = true;
    await Promise.all(workers);

    server = await spawnServer(flags);
    try {
      const stored = await allMessageIds(server.url, site.id);
      const missing = acknowledged.filter((id) => !stored.has(id));
      expect(acknowledged.length).toBeGreaterThanOrEqual(2_000);
      expect(sent).toBeGreaterThan(acknowledged.length - 1);
      expect(missing).toEqual([]);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 90_000);

  it('reads back sites and events after a clean restart on the same file', async () => {
    const dbPath = path.join(dir, 'restart.db');
    const first = await startTestServer({ dbPath, adminToken: TOKEN });
    const res = await first.send('/v1/track', { anonymousId: 'r1', event: 'Before Restart', messageId: 'restart-1' });
    expect(res.status).toBe(200);
    const siteId = first.site.id;
    await first.stop();

    const second = await startTestServer({ dbPath, adminToken: TOKEN });
    try {
      expect(second.site.id).toBe(siteId);
      const events = (await second.api('GET', `/api/events?site=${siteId}`)).body.events;
      expect(events.map((e: { messageId: string }) => e.messageId)).toContain('restart-1');
      // The same message sent again after the restart is still recognised as a retry.
      await second.send('/v1/track', { anonymousId: 'r1', event: 'Before Restart', messageId: 'restart-1' });
      expect((await second.api('GET', `/api/events?site=${siteId}`)).body.events).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});
