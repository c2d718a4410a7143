import { RollupCounter } from '../../reports/rollups.js';
import type { IngestProgram, IngestRead, IngestWrites, WorkingSetRead, WorkingSetRequest } from '../types.js';

/** Calls written in one transaction at most, and their messages. */
export const GROUP_MAX_CALLS = 64;
export const GROUP_MAX_MESSAGES = 4_000;

/** One ingest call waiting for its transaction. */
export interface IngestCall<T = unknown> {
  program: () => IngestProgram<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  /** A call that could not share a transaction (more than one read, or an error): it runs alone. */
  alone: boolean;
}

/**
 * Ingest calls of one node, written a group per transaction: while as many transactions as
 * `limit` are in flight, calls wait, and the next free transaction takes the waiting calls of
 * one site together (see PostgresStore.ingestGroup). On PostgreSQL what a batch costs is mostly
 * the transaction around it (its round trips, its statements' start-up, its commit), so a
 * group of batches costs little more than one; a lone call still starts at once.
 *
 * @example
 * const queue = new IngestQueue((siteId, calls) => store.ingestGroup(siteId, calls), 8);
 * const result = await queue.submit(site.id, () => ingestProgram(site, events, Date.now()));
 */
export class IngestQueue {
  /** Waiting calls per site, the sites in the order they were first waited for. */
  private readonly waiting = new Map<string, IngestCall[]>();
  private running = 0;

  constructor(
    private readonly run: (siteId: string, calls: IngestCall[]) => Promise<void>,
    private readonly limit: number,
  ) {}

  submit<T>(siteId: string, program: () => IngestProgram<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue(siteId, [{ program, resolve: resolve as (value: unknown) => void, reject, alone: false }]);
    });
  }

  /** Puts calls back at the head of their site's queue (those a group left out). */
  requeue(siteId: string, calls: IngestCall[]) {
    if (calls.length) this.enqueue(siteId, calls, true);
  }

  private enqueue(siteId: string, calls: IngestCall[], first = false) {
    const queue = this.waiting.get(siteId);
    if (queue) queue[first ? 'unshift' : 'push'](...calls);
    else this.waiting.set(siteId, [...calls]);
    this.pump();
  }

  private pump() {
    while (this.running < this.limit && this.waiting.size > 0) {
      const [siteId, queue] = this.waiting.entries().next().value as [string, IngestCall[]];
      const group = takeGroup(queue);
      // The site goes to the back, so that a busy site does not starve the others.
      this.waiting.delete(siteId);
      if (queue.length) this.waiting.set(siteId, queue);
      this.running++;
      this.run(siteId, group)
        .catch((error) => group.forEach((call) => call.reject(error)))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}

/** The next group off the head of a queue: a call that runs alone is a group of its own. */
function takeGroup(queue: IngestCall[]): IngestCall[] {
  if (queue[0].alone) return queue.splice(0, 1);
  let n = 1;
  while (n < queue.length && n < GROUP_MAX_CALLS && !queue[n].alone) n++;
  return queue.splice(0, n);
}

/** A member of a group once its program asked its first read. */
export interface Started<T = unknown> {
  call: IngestCall<T>;
  program: IngestProgram<T>;
  request: WorkingSetRequest;
}

/**
 * Which started calls can share a transaction: the first of them, then each whose identities
 * and messages no earlier member has (two calls of one person, or a resend racing its original,
 * would each read what the other is about to write), within the group's message budget. The
 * others run after this group.
 */
export function disjointMembers<T extends Started>(started: T[]): { members: T[]; left: T[] } {
  const identities = new Set<string>();
  const messages = new Set<string>();
  const members: T[] = [];
  const left: T[] = [];
  let count = 0;
  for (const s of started) {
    const ids = s.request.identities.map((k) => `${k.kind}\u0000${k.value}`);
    const keys = s.request.messages.map((k) => `${k.sender}\u0000${k.messageId}`);
    const fits = members.length === 0 || count + keys.length <= GROUP_MAX_MESSAGES;
    if (!fits || ids.some((id) => identities.has(id)) || keys.some((key) => messages.has(key))) {
      left.push(s);
      continue;
    }
    ids.forEach((id) => identities.add(id));
    keys.forEach((key) => messages.add(key));
    count += keys.length;
    members.push(s);
  }
  return { members, left };
}

/** One read for the whole group: the members' identities and messages, in member order. */
export function groupRequest(members: Started[]): WorkingSetRequest {
  return {
    read: 'working-set',
    identities: members.flatMap((m) => m.request.identities),
    messages: members.flatMap((m) => m.request.messages),
  };
}

/**
 * The group's read cut into each member's answer, in member order. A member whose identities
 * lead to a profile that an earlier member's also lead to (one person, known by identities the
 * two calls do not share) gets null: it must run after this group, which will have written it.
 */
export function splitRead(members: Started[], read: WorkingSetRead): Array<WorkingSetRead | null> {
  const profiles = new Map(read.profiles.map((p) => [p.id, p]));
  const taken = new Set<string>();
  let identity = 0;
  let message = 0;
  return members.map(({ request }) => {
    const owners = read.owners.slice(identity, (identity += request.identities.length));
    const existing = read.existing.slice(message, (message += request.messages.length));
    const ids = [...new Set(owners.filter((id): id is string => id !== null))].sort();
    if (ids.some((id) => taken.has(id))) return null;
    ids.forEach((id) => taken.add(id));
    return { owners, existing, profiles: ids.map((id) => profiles.get(id)!) };
  });
}

/**
 * The writes of several calls as the writes of one: rows side by side (the calls touched
 * disjoint people), rollup increments summed per row and kept in key order.
 */
export function combineWrites(list: IngestWrites[]): IngestWrites {
  if (list.length === 1) return list[0];
  const rollups = new RollupCounter('UTC');
  for (const w of list) rollups.add(w.rollups);
  return {
    merges: list.flatMap((w) => w.merges),
    identities: list.flatMap((w) => w.identities),
    newProfiles: list.flatMap((w) => w.newProfiles),
    changedProfiles: list.flatMap((w) => w.changedProfiles),
    events: list.flatMap((w) => w.events),
    rollups: rollups.writes(),
  };
}

/** Whether a program's first request is the read a group can share. */
export const isWorkingSetRead = (request: IngestRead): request is WorkingSetRequest => request.read === 'working-set';
