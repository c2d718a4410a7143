import type { Computed } from '../profiles/types.js';

const DAY_MS = 86_400_000;

/** This many merges within a day marks a profile as merging unusually fast (an `identify` in a shared template, a script). */
export const FAST_MERGES_PER_DAY = 10;

/**
 * How many merges the profile had in the last day when that is unusually many, else null: what
 * the console flags, for an operator to look at before the cap on merges is reached.
 *
 * @example
 * mergingFast(profile.computed, Date.now()); // 14
 */
export function mergingFast(computed: Computed, now: number): number | null {
  const recent = (computed.mergeTimes ?? []).filter((at) => at > now - DAY_MS && at <= now).length;
  return recent >= FAST_MERGES_PER_DAY ? recent : null;
}
