import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { invalidField } from '../http/input.js';
import type { ProfileRecord, RuleProfile } from '../profiles/types.js';
import { compileRule, usesRankings, type Predicate } from './compile.js';
import type { Rule } from './rule.js';
import type { Subject } from './subject.js';

/** A profile as a rule sees it offline, with no page being viewed. */
export function subjectOf(profile: RuleProfile, now: number, rankings: Subject['rankings']): Subject {
  return {
    profileId: profile.id,
    userId: profile.userId,
    traits: profile.traits,
    computed: profile.computed,
    now,
    rankings,
    current: null,
  };
}

/** How many live profiles of a site match each rule, in one pass over the profiles. */
export async function countMembers(ctx: AppContext, siteId: string, rules: Rule[]): Promise<number[]> {
  const predicates = rules.map(compileRule);
  const rankings = rules.some(usesRankings) ? await ctx.rankings.get(siteId) : null;
  const counts = rules.map(() => 0);
  const now = ctx.now();
  await ctx.store.scanProfiles(siteId, (profile) => {
    const subject = subjectOf(profile, now, rankings);
    predicates.forEach((matches, i) => {
      if (matches(subject)) counts[i]++;
    });
  });
  return counts;
}

/** The segments of a site that a profile is in (evaluated offline). */
export async function segmentsOfProfile(ctx: AppContext, profile: ProfileRecord) {
  const catalog = await ctx.catalog.forSite(profile.siteId);
  const rankings = catalog.usesRankings ? await ctx.rankings.get(profile.siteId) : null;
  const subject = subjectOf(profile, ctx.now(), rankings);
  return [...catalog.segments.values()].filter((s) => s.matches(subject)).map((s) => ({ id: s.segment.id, name: s.segment.name }));
}

/** A page of profiles in a segment, most recently seen first, continuing after `cursor`. */
export async function membersPage(ctx: AppContext, siteId: string, matches: Predicate, usesRankings: boolean, limit: number, cursor?: string) {
  const rankings = usesRankings ? await ctx.rankings.get(siteId) : null;
  const now = ctx.now();
  const items: ProfileRecord[] = [];
  let more = false;
  await ctx.store.scanProfiles(
    siteId,
    (profile) => {
      if (!matches(subjectOf(profile, now, rankings))) return;
      if (items.length === limit) {
        more = true;
        return false;
      }
      items.push(profile);
    },
    cursor,
  );
  return { items, more };
}

/**
 * Whether a profile is in a segment of the site (evaluated offline, as of now): a 404 for an
 * unknown segment, a 400 naming `segment` for one of another site.
 *
 * @example
 * const inSegment = await segmentTest(ctx, site.id, segmentId);
 */
export async function segmentTest(ctx: AppContext, siteId: string, segmentId: string): Promise<(profile: RuleProfile) => boolean> {
  const catalog = await ctx.catalog.forSite(siteId);
  const compiled = catalog.segments.get(segmentId);
  if (!compiled) {
    for (const other of ctx.sites.list()) {
      if ((await ctx.catalog.forSite(other.id)).segments.has(segmentId)) throw invalidField('segment', `${segmentId} belongs to another site`);
    }
    throw new HttpError(404, `no segment ${segmentId}`);
  }
  const rankings = usesRankings(compiled.segment.rule) ? await ctx.rankings.get(siteId) : null;
  const now = ctx.now();
  return (profile) => compiled.matches(subjectOf(profile, now, rankings));
}
