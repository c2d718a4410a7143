import type { JsonObject } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { newId } from '../ids.js';
import { CONSENT_UPDATED } from '../profiles/consent.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { IngestEvent, Site } from '../store/types.js';

/** What marks a message as the customer's own on their self-service page: `context.source` of the stored event. */
export const SELF_SERVICE_SOURCE = 'self-service';

/**
 * The customer's corrections of their traits: a trusted `identify` with `context.source:
 * "self-service"`, stored and counted like any identify of the site's server.
 *
 * @example
 * await changeTraitsBySelfService(ctx, site, profile, { firstName: 'Ada' });
 */
export function changeTraitsBySelfService(ctx: AppContext, site: Site, profile: ProfileRecord, traits: JsonObject): Promise<void> {
  const newest = Math.max(0, ...Object.keys(traits).map((key) => profile.traitTimes[key] ?? 0));
  return sendAsCustomer(ctx, site, profile, { type: 'identify', name: null, traits, properties: null }, newest);
}

/**
 * The customer's consent choices: a trusted `Consent Updated` event with `{ purposes: { ... } }`,
 * which `profiles/consent.ts` records in `computed.consent` (automations' send gate reads it).
 *
 * @example
 * await changeConsentBySelfService(ctx, site, profile, { marketing: false });
 */
export function changeConsentBySelfService(ctx: AppContext, site: Site, profile: ProfileRecord, purposes: Record<string, boolean>): Promise<void> {
  const newest = Math.max(0, ...Object.keys(purposes).map((purpose) => profile.computed.consent?.[purpose]?.at ?? 0));
  return sendAsCustomer(ctx, site, profile, { type: 'track', name: CONSENT_UPDATED, traits: null, properties: { purposes } }, newest);
}

/**
 * One trusted message about the customer through the ingest pipeline, as collect sends the
 * site's own (`collect/collect.ts`): the automations' starter is asked what the call must return
 * and then sees what it stored, so a consent change or a trait a trigger watches starts and
 * stops runs as it would from the site's server. Trusted: the link that reached here was signed
 * with the site secret for this user id.
 */
async function sendAsCustomer(
  ctx: AppContext,
  site: Site,
  profile: ProfileRecord,
  what: Pick<IngestEvent, 'type' | 'name' | 'traits' | 'properties'>,
  newestKnown: number,
): Promise<void> {
  // Newest wins for traits and consent: a value stamped ahead of this server's clock (a site's
  // skewed timestamp) must not keep the customer's own correction from taking effect.
  const at = Math.max(ctx.now(), newestKnown + 1);
  const messageId = `self-service-${newId()}`;
  const userId = profile.userId!;
  const message: JsonObject = {
    type: what.type,
    messageId,
    userId,
    timestamp: new Date(at).toISOString(),
    ...(what.type === 'identify' ? { traits: what.traits } : { event: what.name, properties: what.properties }),
    context: { source: SELF_SERVICE_SOURCE, library: { name: 'rapport-self-service' } },
  };
  const event: IngestEvent = {
    messageId,
    ...what,
    anonymousId: null,
    userId,
    previousId: null,
    trust: 'trusted',
    timestamp: at,
    receivedAt: ctx.now(),
    message,
    // Nothing about the request is kept: the page is the customer looking at their data, not a visit.
    enrichment: { ip: null, device: null, referral: null, campaign: null, page: null, firstTouch: null },
  };
  const starter = ctx.automations.starter;
  const result = await ctx.ingester.ingest(site, [event], await starter.ingestOptions(site.id));
  await starter.afterIngest(site, [event], result);
}
