import type { ProfileRecord } from '../profiles/types.js';
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

/**
 * Adds entrants to `tally` as `in` or `out` of a segment, given their profiles (a person whose
 * profile is gone meanwhile, merged or erased, is `out`).
 *
 * @example
 * tallySegment(tally, [{ id: 'p1', reached: 2 }], await load(['p1']), (p) => matches(p));
 */
export function tallySegment(
  tally: FunnelTally,
  people: Array<{ id: string; reached: number }>,
  profiles: ProfileRecord[],
  inSegment: (profile: ProfileRecord) => boolean,
): void {
  const byId = new Map(profiles.map((p) => [p.id, p]));
  for (const person of people) {
    const profile = byId.get(person.id);
    tally.add(person.reached, profile && inSegment(profile) ? 'in' : 'out');
  }
}
