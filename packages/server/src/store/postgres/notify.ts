import pg from 'pg';
import type { StoreChange } from '../store.js';

/** The channel of change notifications between nodes. */
export const CHANNEL = 'rapport_changes';

/** What a notification carries: the change, and the store instance that made it. */
export type ChangePayload = StoreChange & { from: string };

/** The statement that announces a change, inside the transaction that makes it (delivered on commit). */
export const NOTIFY_SQL = `SELECT pg_notify('${CHANNEL}', $1)`;

export const notifyParams = (change: StoreChange, from: string) => [JSON.stringify({ ...change, from } satisfies ChangePayload)];

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** How often the listening connection is checked: a connection lost without a word is found this way. */
const HEARTBEAT_MS = 10_000;

/**
 * The LISTEN side of change notifications: a dedicated connection (not one of the pool's: it
 * must stay open and idle) that hands every notification of another store instance to `emit`.
 * When the connection drops it reconnects with a growing backoff, and then emits `everything`,
 * since notifications sent meanwhile are lost.
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  private closed = false;
  private backoff = MIN_BACKOFF_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly instanceId: string,
    private readonly emit: (change: StoreChange) => void,
  ) {}

  /** Connects and listens; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.connect();
    this.heartbeat = setInterval(() => this.check(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, keepAlive: true });
    const lost = () => this.lost(client);
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => this.receive(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.end().catch(() => {});
      throw error;
    }
    // Only now: a failure before this is the caller's to handle, not a lost connection.
    this.client = client;
    this.backoff = MIN_BACKOFF_MS;
  }

  private receive(message: pg.Notification) {
    if (message.channel !== CHANNEL || !message.payload) return;
    let payload: ChangePayload;
    try {
      payload = JSON.parse(message.payload);
    } catch {
      return;
    }
    if (payload.from === this.instanceId) return;
    const { from: _from, ...change } = payload;
    this.emit(change as StoreChange);
  }

  /** The connection of `client` broke: once per client, reconnect later. */
  private lost(client: pg.Client) {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    client.on('error', () => {});
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect() {
    if (this.closed || this.retryTimer) return;
    const delay = this.backoff;
    this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = null;
      if (this.closed) return;
      try {
        await this.connect();
        if (this.closed) return void this.stopClient();
        this.emit({ what: 'everything' });
      } catch {
        this.scheduleReconnect();
      }
    }, delay);
    this.retryTimer.unref();
  }

  private check() {
    const client = this.client;
    if (!client) return;
    client.query({ text: 'SELECT 1', query_timeout: 5_000 } as pg.QueryConfig).catch(() => this.lost(client));
  }

  private stopClient() {
    const client = this.client;
    this.client = null;
    if (!client) return Promise.resolve();
    client.removeAllListeners('end');
    client.on('error', () => {});
    return client.end().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.retryTimer = this.heartbeat = null;
    await this.stopClient();
  }
}
