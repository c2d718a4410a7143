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
 * - `alias` merges previousId into userId. Sent with the site secret, previousId may be any id.
 *   Sent with the public write key, it may only be the sender's own anonymous id (the message's
 *   `anonymousId`, or one already on the same profile) that no user has yet: an alias naming
 *   someone else's id would otherwise take over their profile. A refused link is noted, and the
 *   message counts as one carrying its anonymous id and user id;
 * - with email matching on, profiles that share an email are merged unless they belong to two
 *   different users; only messages whose ids are vouched for (`verified` or `trusted`) link by
 *   email, since anyone can type a customer's address.
 *
 * A profile takes at most the site's number of anonymous ids and of merges (`IdentityCaps`): a
 * link past them is refused, recorded, and reported to the sender.
 *
 * Every merge, and every move of an anonymous id, is recorded in the working set.
 */
export function resolveProfile(ws: WorkingSet, event: IngestEvent, options: ResolveOptions): string {
  let target =
    event.type !== 'alias' ? resolveIds(ws, event) : event.trust === 'trusted' ? resolveAlias(ws, event) : resolveSenderAlias(ws, event);
  const email = emailToLink(event, options);
  if (email) target = linkEmail(ws, target, email, event);
  return target;
}

function resolveIds(ws: WorkingSet, event: IngestEvent, rule: 'identify' | 'alias' = 'identify'): string {
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
    if (a) attachAnonymous(ws, a, pu, event);
    return pu;
  }
  if (!pu && pa) {
    const anonymous = ws.profile(pa);
    if (!anonymous.userId) {
      anonymous.userId = u;
      ws.attach('user', u, pa);
      ws.touch(pa);
      ws.note({ ...base, rule, into: pa, from: null });
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
    // Refused past the cap: the anonymous profile stays as it is, the message goes to the user's.
    ws.merge(pa!, pu!, { ...base, rule });
  } else if (attachAnonymous(ws, a!, pu!, event)) {
    ws.note({ ...base, rule: 'anonymous-moved', into: pu!, from: pa });
  }
  return pu!;
}

/**
 * Gives a profile one more anonymous id, unless it has as many as the site allows: then the id
 * stays where it was (or unknown), the sender is told, and false is returned.
 */
function attachAnonymous(ws: WorkingSet, anonymousId: string, profileId: string, event: IngestEvent): boolean {
  if (!ws.takesAnonymousId(profileId)) {
    ws.refuse({
      messageId: event.messageId,
      code: 'anonymous_ids_capped',
      field: 'anonymousId',
      message: 'the anonymousId was not linked to the user: their profile has as many anonymous ids as the site allows',
    });
    return false;
  }
  ws.attach('anonymous', anonymousId, profileId);
  return true;
}

/**
 * An alias sent with the public write key. It links previousId only when that id is the sender's
 * own anonymous id with no user yet, and then acts as `identify(userId)` from that id would; it
 * never moves or merges a profile that has a user id, and never claims an id the server has not
 * seen with this sender (pre-claiming a customer's future user id would hand their profile over).
 */
function resolveSenderAlias(ws: WorkingSet, event: IngestEvent): string {
  const p = event.previousId!;
  const a = event.anonymousId;
  const refused = refusalOf(ws, p, a, event.userId!);
  // When the sender's own id differs from previousId, it is on that same profile already.
  if (!refused) return resolveIds(ws, { ...event, anonymousId: p }, 'alias');
  ws.refuse({
    messageId: event.messageId,
    code: 'alias_refused',
    field: 'previousId',
    message: `previousId was not linked: ${refused}; linking other ids needs the site secret`,
  });
  return resolveIds(ws, event);
}

function refusalOf(ws: WorkingSet, previousId: string, anonymousId: string | null, userId: string): string | null {
  if (ws.lookupUser(previousId)) return 'it is a user id';
  const previous = ws.lookup('anonymous', previousId);
  const sender = anonymousId ? ws.lookup('anonymous', anonymousId) : null;
  const own = previousId === anonymousId || (previous !== null && previous === sender);
  if (!own) return "it is not this message's anonymousId";
  const owner = previous ? ws.profile(previous).userId : null;
  if (owner && owner !== userId) return 'it belongs to another user';
  return null;
}

/** `alias(userId, previousId)` with the site secret: previousId (an anonymous id or an older user id) becomes userId's past. */
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
  const previousUser = ws.profile(pp!).userId;
  if (ws.merge(pp!, pu!, { ...base, rule: 'alias' }) && previousUser) retireUserId(ws, previousUser, pu!);
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
  const merged = ws.merge(from, into, {
    rule: 'email',
    ids: { email, anonymousId: event.anonymousId, userId: event.userId },
    messageId: event.messageId,
    at: event.receivedAt,
  });
  return merged ? into : target;
}

const emailOf = (event: IngestEvent) => cleanEmail(event.traits?.email);

/** The email an event may link by: only with matching on, and only from a vouched-for sender. */
const emailToLink = (event: IngestEvent, options: ResolveOptions) =>
  options.emailMatching && event.trust !== 'untrusted' ? emailOf(event) : null;

/** The identities an event may look up: what the store loads before resolving. */
export function identityKeysOf(event: IngestEvent, options: ResolveOptions): Array<[IdentityKind, string]> {
  const keys: Array<[IdentityKind, string]> = [];
  if (event.anonymousId) keys.push(['anonymous', event.anonymousId]);
  if (event.userId) keys.push(['user', event.userId], ['alias', event.userId]);
  if (event.previousId) {
    keys.push(['user', event.previousId], ['alias', event.previousId], ['anonymous', event.previousId]);
  }
  const email = emailToLink(event, options);
  if (email) keys.push(['email', email]);
  return keys;
}
