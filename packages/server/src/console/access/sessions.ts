import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../../store/store.js';

/** One logged-in browser. */
export interface ConsoleSession {
  id: string;
  /** Sent back in every form (`_csrf`) and in the `X-CSRF-Token` header of script calls. */
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionOptions {
  /** How long a login lasts. @default 8 hours */
  ttlMs?: number;
  /** Most sessions kept at once; the oldest goes first. @default 1000 */
  max?: number;
  now?: () => number;
}

const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const token = () => randomBytes(32).toString('base64url');
const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * Console sessions, kept in the store so that every node of a deployment knows every login
 * (behind a load balancer, the next request may reach another node). The store holds a hash of
 * the cookie's value, never the value. A session lasts `ttlMs` from login (not sliding: a
 * working day, then log in again). Only a correct admin token creates one; `max` bounds them.
 *
 * @example
 * const sessions = new ConsoleSessions(store, { ttlMs: 8 * 3600_000 });
 * const session = await sessions.create();
 * await sessions.get(session.id); // the session, until it expires or is deleted
 */
export class ConsoleSessions {
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    options: SessionOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.max = options.max ?? 1000;
    this.now = options.now ?? Date.now;
  }

  async create(): Promise<ConsoleSession> {
    const now = this.now();
    const session = { id: token(), csrf: token(), createdAt: now, expiresAt: now + this.ttlMs };
    await this.store.saveSession({ idHash: hashOf(session.id), csrf: session.csrf, createdAt: now, expiresAt: session.expiresAt }, this.max);
    return session;
  }

  /** The live session of a cookie value, or null (unknown, expired or logged out). */
  async get(id: string | undefined): Promise<ConsoleSession | null> {
    if (!id) return null;
    const row = await this.store.getSession(hashOf(id), this.now());
    return row && { id, csrf: row.csrf, createdAt: row.createdAt, expiresAt: row.expiresAt };
  }

  async delete(id: string | undefined): Promise<void> {
    if (id) await this.store.deleteSession(hashOf(id));
  }

  /** Seconds until the session ends: the cookie's Max-Age. */
  secondsLeft(session: ConsoleSession): number {
    return Math.max(0, Math.floor((session.expiresAt - this.now()) / 1000));
  }
}
