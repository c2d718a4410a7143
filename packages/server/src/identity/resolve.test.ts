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

  it('alias merges previousId into userId and keeps one user id per profile', () => {
    const ws = fresh();
    const old = resolveProfile(ws, ingestEvent({ anonymousId: 'a1', userId: 'old-id' }), off);
    const current = resolveProfile(ws, ingestEvent({ anonymousId: 'a2', userId: 'new-id' }), off);
    const result = resolveProfile(ws, ingestEvent({ type: 'alias', userId: 'new-id', previousId: 'old-id' }), off);
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
    expect(resolveProfile(ws, ingestEvent({ type: 'alias', userId: 'u9', previousId: 'a1' }), off)).toBe(anon);
    expect(ws.profile(anon).userId).toBe('u9');
  });

  it('links profiles by email only when email matching is on', () => {
    for (const emailMatching of [false, true]) {
      const ws = fresh();
      const laptop = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'a1', traits: { email: 'Jo@Example.com' } }), { emailMatching });
      const phone = resolveProfile(ws, ingestEvent({ type: 'identify', anonymousId: 'a2', traits: { email: 'jo@example.com ' } }), { emailMatching });
      expect(phone === laptop).toBe(emailMatching);
      if (emailMatching) expect(ws.merges.at(-1)).toMatchObject({ rule: 'email' });
    }
  });

  it('does not merge two different users that share an email', () => {
    const ws = fresh();
    const on = { emailMatching: true };
    const a = resolveProfile(ws, ingestEvent({ type: 'identify', userId: 'u1', traits: { email: 'family@example.com' } }), on);
    const b = resolveProfile(ws, ingestEvent({ type: 'identify', userId: 'u2', traits: { email: 'family@example.com' } }), on);
    expect(a).not.toBe(b);
    expect(ws.merges).toHaveLength(0);
  });
});
