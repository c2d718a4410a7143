import { describe, expect, it } from 'vitest';
import { RollupCounter, type RollupWrites } from '../../reports/rollups.js';
import type { IngestProgram, IngestWrites, WorkingSetRequest } from '../types.js';
import { combineWrites, disjointMembers, GROUP_MAX_MESSAGES, IngestQueue, splitRead, type IngestCall, type Started } from './ingest-groups.js';

const request = (identities: string[], messages: string[]): WorkingSetRequest => ({
  read: 'working-set',
  identities: identities.map((value) => ({ kind: 'anonymous', value })),
  messages: messages.map((messageId) => ({ sender: 's', messageId })),
});
const started = (identities: string[], messages: string[], name = identities.join()): Started & { name: string } => ({
  name,
  call: { program: () => ({}) as IngestProgram<unknown>, resolve: () => {}, reject: () => {}, alone: false },
  program: {} as IngestProgram<unknown>,
  request: request(identities, messages),
});

describe('disjointMembers', () => {
  it('leaves out a call that shares an identity or a message with an earlier member', () => {
    const { members, left } = disjointMembers([
      started(['a'], ['m1'], 'first'),
      started(['b', 'a'], ['m2'], 'same person'),
      started(['c'], ['m1'], 'a resend'),
      started(['d'], ['m3'], 'another'),
    ]);
    expect(members.map((m) => m.name)).toEqual(['first', 'another']);
    expect(left.map((m) => m.name)).toEqual(['same person', 'a resend']);
  });

  it('keeps a group within its message budget, but never leaves out the first call', () => {
    const many = Array.from({ length: GROUP_MAX_MESSAGES }, (_, i) => `m${i}`);
    const { members, left } = disjointMembers([started(['a'], [...many, 'extra'], 'big'), started(['b'], ['x'], 'small')]);
    expect(members.map((m) => m.name)).toEqual(['big']);
    expect(left.map((m) => m.name)).toEqual(['small']);
  });
});

describe('splitRead', () => {
  const profile = (id: string) => ({ id }) as never;

  it("cuts the group's read into each member's answer, in order", () => {
    const members = [started(['a', 'b'], ['m1']), started(['c'], ['m2', 'm3'])];
    const reads = splitRead(members, { owners: ['p2', 'p1', null], existing: [false, true, false], profiles: [profile('p1'), profile('p2')] });
    expect(reads).toEqual([
      { owners: ['p2', 'p1'], existing: [false], profiles: [profile('p1'), profile('p2')] },
      { owners: [null], existing: [true, false], profiles: [] },
    ]);
  });

  it('gives null to a member whose identities lead to a profile an earlier member has', () => {
    const members = [started(['phone'], []), started(['laptop'], []), started(['tablet'], [])];
    const reads = splitRead(members, { owners: ['p1', 'p1', 'p2'], existing: [], profiles: [profile('p1'), profile('p2')] });
    expect(reads[0]?.profiles).toEqual([profile('p1')]);
    expect(reads[1]).toBeNull();
    expect(reads[2]?.profiles).toEqual([profile('p2')]);
  });
});

describe('combineWrites', () => {
  const rollups = (build: (c: RollupCounter) => void): RollupWrites => {
    const counter = new RollupCounter('UTC');
    build(counter);
    return counter.writes();
  };
  const writes = (tag: string, r: RollupWrites): IngestWrites => ({
    merges: [],
    identities: [{ kind: 'anonymous', value: tag, profileId: tag }],
    newProfiles: [{ id: tag } as never],
    changedProfiles: [],
    events: [{ sender: tag } as never],
    rollups: r,
  });

  it('puts the rows side by side and sums the rollup increments per row, in key order', () => {
    const google = { medium: 'search', source: 'google', campaign: '', term: 'tent' };
    const a = rollups((c) => c.add({ days: [{ day: 5, events: 2, visitors: 1, newVisitors: 1, sessions: 1, orders: 0, revenue: 0, customers: 0 }], touches: [{ day: 5, touch: 'session', ...google, visitors: 0, sessions: 1, customers: 0, orders: 0, revenue: 0 }] }));
    const b = rollups((c) =>
      c.add({
        days: [
          { day: 4, events: 1, visitors: 1, newVisitors: 0, sessions: 0, orders: 0, revenue: 0, customers: 0 },
          { day: 5, events: 3, visitors: 1, newVisitors: 0, sessions: 1, orders: 1, revenue: 950, customers: 1 },
        ],
        touches: [{ day: 5, touch: 'session', ...google, visitors: 0, sessions: 1, customers: 0, orders: 0, revenue: 0 }],
      }),
    );
    const combined = combineWrites([writes('x', a), writes('y', b)]);
    expect(combined.identities.map((i) => i.value)).toEqual(['x', 'y']);
    expect(combined.newProfiles.map((p) => p.id)).toEqual(['x', 'y']);
    expect(combined.events.map((e) => e.sender)).toEqual(['x', 'y']);
    expect(combined.rollups.days).toEqual([
      { day: 4, events: 1, visitors: 1, newVisitors: 0, sessions: 0, orders: 0, revenue: 0, customers: 0 },
      { day: 5, events: 5, visitors: 2, newVisitors: 1, sessions: 2, orders: 1, revenue: 950, customers: 1 },
    ]);
    expect(combined.rollups.touches).toEqual([{ day: 5, touch: 'session', ...google, visitors: 0, sessions: 2, customers: 0, orders: 0, revenue: 0 }]);
  });

  it('leaves out rows whose increments add up to nothing', () => {
    const plus = rollups((c) => c.add({ days: [{ day: 1, events: 0, visitors: 1, newVisitors: 0, sessions: 0, orders: 0, revenue: 0, customers: 0 }], touches: [] }));
    const minus = rollups((c) => c.add({ days: [{ day: 1, events: 0, visitors: -1, newVisitors: 0, sessions: 0, orders: 0, revenue: 0, customers: 0 }], touches: [] }));
    expect(combineWrites([writes('x', plus), writes('y', minus)]).rollups).toEqual({ days: [], touches: [] });
  });
});

describe('IngestQueue', () => {
  /** A queue whose groups wait until released, recording the programs of each group. */
  function harness(limit: number) {
    const groups: string[][] = [];
    const release: Array<() => void> = [];
    const queue = new IngestQueue(async (siteId, calls) => {
      groups.push(calls.map((c) => `${siteId}:${String(c.program())}`));
      await new Promise<void>((resolve) => release.push(resolve));
      for (const call of calls) call.resolve(String(call.program()));
    }, limit);
    const submit = (site: string, name: string) => queue.submit(site, () => name as unknown as IngestProgram<unknown>);
    const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
    return { queue, groups, release, submit, tick };
  }

  it('starts calls at once while transactions are free, then takes the waiting calls of a site together', async () => {
    const { groups, release, submit, tick } = harness(2);
    const results = [submit('s1', 'a'), submit('s1', 'b'), submit('s1', 'c'), submit('s2', 'x'), submit('s1', 'd')];
    await tick();
    expect(groups).toEqual([['s1:a'], ['s1:b']]);
    release.shift()!();
    await tick();
    // The site that waited first goes first; its waiting calls go together.
    expect(groups[2]).toEqual(['s1:c', 's1:d']);
    release.shift()!();
    await tick();
    expect(groups[3]).toEqual(['s2:x']);
    for (const r of release.splice(0)) r();
    await tick();
    release.splice(0).forEach((r) => r());
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'x', 'd']);
  });

  it('runs a call marked alone in a group of its own, and puts left-out calls first in line', async () => {
    const { queue, groups, release, tick } = harness(1);
    const call = (name: string, alone = false): IngestCall => ({ program: () => name as never, resolve: () => {}, reject: () => {}, alone });
    queue.requeue('s', [call('busy')]);
    await tick();
    queue.requeue('s', [call('a'), call('b'), call('solo', true), call('c')]);
    queue.requeue('s', [call('back')]);
    release.shift()!();
    await tick();
    expect(groups[1]).toEqual(['s:back', 's:a', 's:b']);
    release.shift()!();
    await tick();
    expect(groups[2]).toEqual(['s:solo']);
    release.shift()!();
    await tick();
    expect(groups[3]).toEqual(['s:c']);
    release.shift()!();
  });

  it('rejects the calls of a group whose run fails', async () => {
    const queue = new IngestQueue(async () => {
      throw new Error('down');
    }, 1);
    await expect(queue.submit('s', () => ({}) as never)).rejects.toThrow('down');
  });
});
