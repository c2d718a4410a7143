import { randomBytes } from 'node:crypto';

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

/**
 * Console sessions, kept in this process's memory: a restart of the server logs everyone out,
 * which costs a marketer one login and spares the database a table of secrets. A session lasts
 * `ttlMs` from login (not sliding: a working day, then log in again). Only a correct admin
 * token creates one, so the map stays small; `max` bounds it anyway.
 *
 * @example
 * const sessions = new ConsoleSessions({ ttlMs: 8 * 3600_000 });
 * const session = sessions.create();
 * sessions.get(session.id); // the session, until it expires or is deleted
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(options: SessionOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.max = options.max ?? 1000;
    this.now = options.now ?? Date.now;
  }

  create(): ConsoleSession {
    const now = this.now();
    this.sweep(now);
    while (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    const session = { id: token(), csrf: token(), createdAt: now, expiresAt: now + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of a cookie value, or null (unknown, expired or logged out). */
  get(id: string | undefined): ConsoleSession | null {
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return session;
  }

  delete(id: string | undefined) {
    if (id) this.sessions.delete(id);
  }

  /** Seconds until the session ends: the cookie's Max-Age. */
  secondsLeft(session: ConsoleSession): number {
    return Math.max(0, Math.floor((session.expiresAt - this.now()) / 1000));
  }

  private sweep(now: number) {
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}
