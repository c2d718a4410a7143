import { cleanEmail } from '../profiles/computed.js';
import type { IdentityKind, IngestEvent } from '../store/types.js';
import type { WorkingSet } from './working-set.js';

export interface ResolveOptions {
  /** Link profiles that share the email in their traits (a site setting). */
  emailMatching: boolean;
}

/**
 * Finds (or creates) the profile an event belongs to, applying the merge rules:
 *
 * - an anonymous id and a user id together merge the anonymous profile into the known one;
 *   a second device of the same user joins the same profile that way;
 * - a profile holds at most one user id: an anonymous id that already belongs to another user
 *   (a shared computer) is never merged; it moves on to the new user, its past stays behind;
 * - `alias` merges previousId into userId;
 * - with email matching on, profiles that share an email are merged unless they belong to two
 *   different users.
 *
 * Every merge, and every move of an anonymous id, is recorded in the working set.
 */
export function resolveProfile(ws: WorkingSet, event: IngestEvent, options: ResolveOptions): string {
  let target = event.type === 'alias' ? resolveAlias(ws, event) : resolveIds(ws, event);
  const email = options.emailMatching ? emailOf(event) : null;
  if (email) target = linkEmail(ws, target, email, event);
  return target;
}

function resolveIds(ws: WorkingSet, event: IngestEvent): string {
  const { anonymousId: a, userId: u } = event;
  const pa = a ? ws.lookup('anonymous', a) : null;
  if (!u) {
    if (pa) return pa;
    const created = ws.create(null, a!);
    ws.attach('anonymous', a!, created.id);
    return created.id;
  }
  const pu = ws.lookupUser(u);
  const ids = { anonymousId: a, userId: u };
  const base = { ids, messageId: event.messageId, at: event.receivedAt };

  if (!pu && !pa) {
    const created = ws.create(u, a ?? u);
    ws.attach('user', u, created.id);
    if (a) ws.attach('anonymous', a, created.id);
    return created.id;
  }
  if (pu && !pa) {
    if (a) ws.attach('anonymous', a, pu);
    return pu;
  }
  if (!pu && pa) {
    const anonymous = ws.profile(pa);
    if (!anonymous.userId) {
      anonymous.userId = u;
      ws.attach('user', u, pa);
      ws.touch(pa);
      ws.note({ ...base, rule: 'identify', into: pa, from: null });
      return pa;
    }
    // A shared computer: this browser belonged to another user. The new user gets a profile of
    // their own and the anonymous id follows them from now on.
    const created = ws.create(u, a!);
    ws.attach('user', u, created.id);
    ws.attach('anonymous', a!, created.id);
    ws.note({ ...base, rule: 'anonymous-moved', into: created.id, from: pa });
    return created.id;
  }
  if (pu === pa) return pu!;
  if (!ws.profile(pa!).userId) {
    ws.merge(pa!, pu!, { ...base, rule: 'identify' });
  } else {
    ws.attach('anonymous', a!, pu!);
    ws.note({ ...base, rule: 'anonymous-moved', into: pu!, from: pa });
  }
  return pu!;
}

/** `alias(userId, previousId)`: previousId (an anonymous id or an older user id) becomes userId's past. */
function resolveAlias(ws: WorkingSet, event: IngestEvent): string {
  const u = event.userId!;
  const p = event.previousId!;
  const base = { ids: { userId: u, previousId: p }, messageId: event.messageId, at: event.receivedAt };
  const pu = ws.lookupUser(u);
  const pp = ws.lookupUser(p) ?? ws.lookup('anonymous', p);

  if (!pu && !pp) {
    const created = ws.create(u, p);
    ws.attach('user', u, created.id);
    ws.attach('alias', p, created.id);
    return created.id;
  }
  if (pu && !pp) {
    ws.attach('alias', p, pu);
    ws.touch(pu);
    ws.note({ ...base, rule: 'alias', into: pu, from: null });
    return pu;
  }
  if (!pu && pp) {
    const previous = ws.profile(pp);
    if (previous.userId && previous.userId !== u) retireUserId(ws, previous.userId, pp);
    previous.userId = u;
    ws.attach('user', u, pp);
    ws.touch(pp);
    ws.note({ ...base, rule: 'alias', into: pp, from: null });
    return pp;
  }
  if (pu === pp) return pu!;
  const previous = ws.profile(pp!);
  if (previous.userId) retireUserId(ws, previous.userId, pu!);
  ws.merge(pp!, pu!, { ...base, rule: 'alias' });
  return pu!;
}

/** An aliased user id stays findable, as kind `alias`, so that a profile keeps one user id. */
function retireUserId(ws: WorkingSet, userId: string, profileId: string) {
  ws.detach('user', userId);
  ws.attach('alias', userId, profileId);
}

function linkEmail(ws: WorkingSet, target: string, email: string, event: IngestEvent): string {
  const pe = ws.lookup('email', email);
  if (!pe) {
    ws.attach('email', email, target);
    return target;
  }
  if (pe === target) return target;
  const other = ws.profile(pe);
  const current = ws.profile(target);
  if (other.userId && current.userId && other.userId !== current.userId) return target;
  // Into the known customer when one of the two is known, else into the email's first profile.
  const [from, into] = current.userId && !other.userId ? [pe, target] : [target, pe];
  ws.merge(from, into, {
    rule: 'email',
    ids: { email, anonymousId: event.anonymousId, userId: event.userId },
    messageId: event.messageId,
    at: event.receivedAt,
  });
  return into;
}

const emailOf = (event: IngestEvent) => cleanEmail(event.traits?.email);

/** The identities an event may look up: what the store loads before resolving. */
export function identityKeysOf(event: IngestEvent, options: ResolveOptions): Array<[IdentityKind, string]> {
  const keys: Array<[IdentityKind, string]> = [];
  if (event.anonymousId) keys.push(['anonymous', event.anonymousId]);
  if (event.userId) keys.push(['user', event.userId], ['alias', event.userId]);
  if (event.previousId) {
    keys.push(['user', event.previousId], ['alias', event.previousId], ['anonymous', event.previousId]);
  }
  const email = options.emailMatching ? emailOf(event) : null;
  if (email) keys.push(['email', email]);
  return keys;
}
