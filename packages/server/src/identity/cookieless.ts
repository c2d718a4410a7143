import { createHmac, randomBytes } from 'node:crypto';
import { truncateIp } from '../enrich/ip.js';
import type { Store } from '../store/store.js';

const DAY_MS = 86_400_000;
/** Meta keys of the daily salts: `cookieless_salt:<UTC day number>`. */
const SALT_PREFIX = 'cookieless_salt:';
/** The prefix of a derived id, so that one is told from a browser's own at a glance. */
export const COOKIELESS_PREFIX = 'cl_';

/**
 * Anonymous ids for browsers in cookieless mode (`data-cookieless`), which store nothing: the
 * server derives one from the site, the truncated client IP and the user agent, keyed with a
 * salt of the UTC day. Visits of one day join up; the next day's salt gives another id, and
 * yesterday's salt is deleted when today's is made, so no one (the database's reader included)
 * can compute a past day's ids again. The salt lives in the store's meta table, not with the
 * events, so that every node of a deployment derives the same id.
 *
 * @example
 * const ids = new CookielessIds(store, Date.now);
 * await ids.idFor(site.id, '203.0.113.77', 'Mozilla/5.0 ...'); // 'cl_Xw3...'
 */
export class CookielessIds {
  private salt: { day: number; key: Buffer } | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async idFor(siteId: string, ip: string | null, userAgent: string | null): Promise<string> {
    const key = await this.saltOf(Math.floor(this.now() / DAY_MS));
    // Unit separators, so that no two (site, ip, agent) triples run together into one input.
    const input = `${siteId}\u001f${(ip && truncateIp(ip)) ?? ''}\u001f${(userAgent ?? '').slice(0, 1024)}`;
    return COOKIELESS_PREFIX + createHmac('sha256', key).update(input).digest('base64url').slice(0, 22);
  }

  private async saltOf(day: number): Promise<Buffer> {
    if (this.salt?.day === day) return this.salt.key;
    const name = `${SALT_PREFIX}${day}`;
    const stored = await this.store.setMetaIfAbsent(name, randomBytes(32).toString('base64'));
    // Every earlier day's salt goes, so that their ids can never be derived again; tomorrow's
    // stays, made already by a node whose clock runs a little ahead.
    await this.store.deleteMeta(SALT_PREFIX, [name, `${SALT_PREFIX}${day + 1}`]);
    this.salt = { day, key: Buffer.from(stored, 'base64') };
    return this.salt.key;
  }
}
