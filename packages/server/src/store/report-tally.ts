import type { RuleProfile } from '../profiles/types.js';
import type { FunnelCounts } from './store.js';

/**
 * Funnel counts from each entrant's number of steps reached, overall and per key. Both stores
 * use it where the key of a person comes from their profile as the application reads it (a
 * segment), rather than from a column the database can group by.
 *
 * @example
 * const tally = new FunnelTally(3);
 * tally.add(2, 'in');
 * tally.counts(); // { steps: [1, 1, 0], groups: [{ key: 'in', steps: [1, 1, 0] }] }
 */
export class FunnelTally {
  private readonly total: number[];
  private readonly byKey = new Map<string, number[]>();

  constructor(private readonly steps: number) {
    this.total = new Array<number>(steps).fill(0);
  }

  /** `people` (one by default) who reached `reached` steps (1 or more), in the group `key`. */
  add(reached: number, key: string, people = 1): void {
    let group = this.byKey.get(key);
    if (!group) this.byKey.set(key, (group = new Array<number>(this.steps).fill(0)));
    for (let k = 0; k < reached && k < this.steps; k++) {
      this.total[k] += people;
      group[k] += people;
    }
  }

  counts(): FunnelCounts {
    return { steps: this.total, groups: [...this.byKey].map(([key, steps]) => ({ key, steps })) };
  }
}

/** An entrant of a funnel: a profile id and the number of steps they reached. */
export interface Entrant {
  id: string;
  reached: number;
}

/**
 * Funnel counts `in` and `out` of a segment from the entrants, whose profiles come from `load`
 * a chunk at a time. The chunks go in id order, so that each reads neighbours in the profiles'
 * primary key, and the next chunk is asked for before this one is tested, so that a database's
 * reading overlaps the tests. A person whose profile is gone meanwhile (merged or erased) is
 * `out`.
 *
 * @example
 * await tallyBySegment(3, [{ id: 'p1', reached: 2 }], (p) => matches(p), (ids) => readRuleProfiles(ids), 500);
 * // { steps: [1, 1, 0], groups: [{ key: 'in', steps: [1, 1, 0] }] }
 */
export async function tallyBySegment(
  steps: number,
  entrants: Entrant[],
  inSegment: (profile: RuleProfile) => boolean,
  load: (ids: string[]) => Promise<RuleProfile[]>,
  chunk: number,
): Promise<FunnelCounts> {
  const tally = new FunnelTally(steps);
  const sorted = [...entrants].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ask = (from: number) => {
    if (from >= sorted.length) return null;
    const loading = load(sorted.slice(from, from + chunk).map((e) => e.id));
    // Awaited in the next round; until then a failure must not count as unhandled.
    loading.catch(() => {});
    return loading;
  };
  let next = ask(0);
  for (let from = 0; next; from += chunk) {
    const profiles = await next;
    next = ask(from + chunk);
    const byId = new Map(profiles.map((p) => [p.id, p]));
    for (let i = from; i < from + chunk && i < sorted.length; i++) {
      const profile = byId.get(sorted[i].id);
      tally.add(sorted[i].reached, profile && inSegment(profile) ? 'in' : 'out');
    }
  }
  return tally.counts();
}
