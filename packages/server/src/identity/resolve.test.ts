import { describe, expect, it } from 'vitest';
import { ingestEvent } from '../test-support/events.js';
import { resolveProfile } from './resolve.js';
import { WorkingSet } from './working-set.js';

let n = 0;
const fresh = () => new WorkingSet('site', () => `p${++n}`, 1);
const off = { emailMatching: false };

describe('resolveProfile', () => {
  it('gives an unknown anonymous visitor a new profile, and the same one next time', () => {
    const ws = fresh();
    const first = resolveProfile(ws, ingestEvent({ anonymousId: 'a1' }), off);
    expect(resolveProfile(ws, ingestEvent({ anonymousId: 'a1' }), off)).toBe(first);
    expect(ws.profile(first).userId).toBeNull();
  });

  it('turns an anonymous profile into the known one on its first identify', () => {
    const ws = fresh();
    const anon = resolveProfile(ws, ingestEvent({ anonymousId: 'a1' }), off);
    const known = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'a1', userId: 'u1' }), off);
    expect(known).toBe(anon);
    expect(ws.profile(known).userId).toBe('u1');
    expect(ws.merges).toMatchObject([{ rule: 'identify', into: anon, from: null }]);
  });

  it('merges a second device into the known profile', () => {
    const ws = fresh();
    const known = resolveProfile(ws, ingestEvent({ anonymousId: 'a1', userId: 'u1' }), off);
    const device2 = resolveProfile(ws, ingestEvent({ anonymousId: 'a2' }), off);
    expect(device2).not.toBe(known);
    const after = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'a2', userId: 'u1' }), off);
    expect(after).toBe(known);
    expect(ws.lookup('anonymous', 'a2')).toBe(known);
    expect(ws.profiles.get(device2)!.mergedInto).toBe(known);
    expect(ws.merges.at(-1)).toMatchObject({ rule: 'identify', from: device2, into: known });
  });

  it('never merges two users on a shared computer: the anonymous id moves on', () => {
    const ws = fresh();
    const alice = resolveProfile(ws, ingestEvent({ anonymousId: 'shared', userId: 'alice' }), off);
    const bob = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'shared', userId: 'bob' }), off);
    expect(bob).not.toBe(alice);
    expect(ws.profile(alice).userId).toBe('alice');
    expect(ws.profile(bob).userId).toBe('bob');
    expect(ws.lookup('anonymous', 'shared')).toBe(bob);
    expect(ws.profiles.get(alice)!.mergedInto).toBeNull();
    expect(ws.merges.at(-1)).toMatchObject({ rule: 'anonymous-moved', from: alice, into: bob });
    // Later anonymous events from that browser count for bob.
    expect(resolveProfile(ws, ingestEvent({ anonymousId: 'shared' }), off)).toBe(bob);
  });

  it('moves the anonymous id to a known second user without merging the two users', () => {
    const ws = fresh();
    const alice = resolveProfile(ws, ingestEvent({ anonymousId: 'shared', userId: 'alice' }), off);
    const bob = resolveProfile(ws, ingestEvent({ anonymousId: 'bob-phone', userId: 'bob' }), off);
    expect(resolveProfile(ws, ingestEvent({ anonymousId: 'shared', userId: 'bob' }), off)).toBe(bob);
    expect(ws.profiles.get(alice)!.mergedInto).toBeNull();
    expect(ws.lookup('anonymous', 'shared')).toBe(bob);
  });

  it('alias with the site secret merges previousId into userId and keeps one user id per profile', () => {
    const ws = fresh();
    const old = resolveProfile(ws, ingestEvent({ anonymousId: 'a1', userId: 'old-id' }), off);
    const current = resolveProfile(ws, ingestEvent({ anonymousId: 'a2', userId: 'new-id' }), off);
    const result = resolveProfile(ws, ingestEvent({ type: 'alias', userId: 'new-id', previousId: 'old-id', trust: 'trusted' }), off);
    expect(result).toBe(current);
    expect(ws.profiles.get(old)!.mergedInto).toBe(current);
    expect(ws.profile(current).userId).toBe('new-id');
    expect(ws.lookup('user', 'old-id')).toBeNull();
    expect(ws.lookupUser('old-id')).toBe(current);
    expect(ws.merges.at(-1)).toMatchObject({ rule: 'alias', from: old, into: current });
  });

  it('alias of an anonymous id to a new user id makes that profile known', () => {
    const ws = fresh();
    const anon = resolveProfile(ws, ingestEvent({ anonymousId: 'a1' }), off);
    expect(resolveProfile(ws, ingestEvent({ type: 'alias', userId: 'u9', previousId: 'a1', trust: 'trusted' }), off)).toBe(anon);
    expect(ws.profile(anon).userId).toBe('u9');
  });

  it('links profiles by email only when email matching is on', () => {
    for (const emailMatching of [false, true]) {
      const ws = fresh();
      const trust = 'trusted' as const;
      const laptop = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'a1', trust, traits: { email: 'Jo@Example.com' } }), { emailMatching });
      const phone = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'a2', trust, traits: { email: 'jo@example.com ' } }), { emailMatching });
      expect(phone === laptop).toBe(emailMatching);
      if (emailMatching) expect(ws.merges.at(-1)).toMatchObject({ rule: 'email' });
    }
  });

  it('does not merge two different users that share an email', () => {
    const ws = fresh();
    const on = { emailMatching: true };
    const a = resolveProfile(ws, ingestEvent({ type: 'identify', userId: 'u1', trust: 'verified', traits: { email: 'family@example.com' } }), on);
    const b = resolveProfile(ws, ingestEvent({ type: 'identify', userId: 'u2', trust: 'verified', traits: { email: 'family@example.com' } }), on);
    expect(a).not.toBe(b);
    expect(ws.merges).toHaveLength(0);
  });

  describe('with the public write key (untrusted and verified senders)', () => {
    const verified = 'verified' as const;
    /** A victim who logged in on their own browser, and an attacker with an account of their own. */
    function victimAndAttacker(ws: WorkingSet) {
      const victim = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'victim-browser', userId: 'victim', trust: verified }), off);
      const attacker = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'attacker-browser', userId: 'attacker', trust: verified }), off);
      return { victim, attacker };
    }
    const alias = (previousId: string, extra: Record<string, unknown> = {}) =>
      ingestEvent({ type: 'alias', anonymousId: 'attacker-browser', userId: 'attacker', previousId, trust: verified, ...extra });

    it("refuses an alias that names another customer's user id: no merge, no move, a note", () => {
      const ws = fresh();
      const { victim, attacker } = victimAndAttacker(ws);
      const before = ws.merges.length;
      expect(resolveProfile(ws, alias('victim'), off)).toBe(attacker);
      expect(ws.profiles.get(victim)!.mergedInto).toBeNull();
      expect(ws.profile(victim).userId).toBe('victim');
      expect(ws.lookupUser('victim')).toBe(victim);
      expect(ws.merges).toHaveLength(before);
      expect(ws.notes).toMatchObject([{ code: 'alias_refused', field: 'previousId', message: expect.stringMatching(/user id/) }]);
    });

    it("refuses an alias that names the anonymous id of another customer's browser", () => {
      const ws = fresh();
      const { victim, attacker } = victimAndAttacker(ws);
      expect(resolveProfile(ws, alias('victim-browser'), off)).toBe(attacker);
      expect(ws.lookup('anonymous', 'victim-browser')).toBe(victim);
      expect(ws.profiles.get(victim)!.mergedInto).toBeNull();
      expect(ws.notes[0].message).toMatch(/not this message's anonymousId/);
    });

    it("refuses an anonymous id that belongs to another user even when it is the sender's own", () => {
      const ws = fresh();
      const { victim } = victimAndAttacker(ws);
      resolveProfile(ws, alias('victim-browser', { anonymousId: 'victim-browser' }), off);
      expect(ws.profiles.get(victim)!.mergedInto).toBeNull();
      expect(ws.profile(victim).userId).toBe('victim');
      expect(ws.notes[0].message).toMatch(/another user/);
    });

    it('never claims an id it has not seen with this sender, so a future user id cannot be taken in advance', () => {
      const ws = fresh();
      const { attacker } = victimAndAttacker(ws);
      resolveProfile(ws, alias('customer-to-be'), off);
      expect(ws.lookupUser('customer-to-be')).toBeNull();
      // When that customer signs up, their profile is their own.
      const own = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'their-browser', userId: 'customer-to-be', trust: verified }), off);
      expect(own).not.toBe(attacker);
      expect(ws.profile(own).userId).toBe('customer-to-be');
    });

    it("links the sender's own anonymous id that no user has, as the SDK's alias() sends it", () => {
      const ws = fresh();
      const anon = resolveProfile(ws, ingestEvent({ anonymousId: 'b1' }), off);
      const known = resolveProfile(ws, ingestEvent({ type: 'alias', anonymousId: 'b1', previousId: 'b1', userId: 'new-user', trust: verified }), off);
      expect(known).toBe(anon);
      expect(ws.profile(anon).userId).toBe('new-user');
      expect(ws.notes).toHaveLength(0);
      expect(ws.merges.at(-1)).toMatchObject({ rule: 'alias', into: anon });
    });

    it("merges the sender's own anonymous profile into an existing customer", () => {
      const ws = fresh();
      const known = resolveProfile(ws, ingestEvent({ anonymousId: 'laptop', userId: 'u5', trust: verified }), off);
      const phone = resolveProfile(ws, ingestEvent({ anonymousId: 'phone' }), off);
      expect(resolveProfile(ws, ingestEvent({ type: 'alias', anonymousId: 'phone', previousId: 'phone', userId: 'u5', trust: verified }), off)).toBe(known);
      expect(ws.profiles.get(phone)!.mergedInto).toBe(known);
    });

    it('does not link by an email that nothing vouches for, nor remember it for later', () => {
      const ws = fresh();
      const on = { emailMatching: true };
      const customer = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'c1', userId: 'cust', trust: verified, traits: { email: 'ann@example.com' } }), on);
      const stranger = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'x1', trust: 'untrusted', traits: { email: 'ann@example.com' } }), on);
      expect(stranger).not.toBe(customer);
      expect(ws.profiles.get(stranger)!.mergedInto).toBeNull();
      // An email typed before the customer signs up stays unlinked when they do.
      const early = fresh();
      const typed = resolveProfile(early, ingestEvent({ type: 'identify', anonymousId: 'x2', trust: 'untrusted', traits: { email: 'bo@example.com' } }), on);
      expect(early.lookup('email', 'bo@example.com')).toBeNull();
      const bo = resolveProfile(early, ingestEvent({ type: 'identify', anonymousId: 'c2', userId: 'bo', trust: verified, traits: { email: 'bo@example.com' } }), on);
      expect(bo).not.toBe(typed);
      expect(early.profiles.get(typed)!.mergedInto).toBeNull();
    });
  });
});
