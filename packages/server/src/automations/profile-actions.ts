import { createHmac } from 'node:crypto';
import type { JsonObject } from '@rapport/protocol';
import type { Ingester } from '../collect/ingester.js';
import { OFFER_GRANTED } from '../profiles/computed.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { Identity, IngestEvent, Site } from '../store/types.js';
import type { Action } from './definition.js';
import type { ActionHandler, ActionInput, ActionResult } from './runner.js';

export interface ProfileActionOptions {
  ingester: Ingester;
  site: (siteId: string) => Site | undefined;
  /** The identities of a profile, for one to address the change to when it has no user id. */
  identities: (siteId: string, profileId: string) => Promise<Identity[]>;
}

/** Tags live in one trait, a list, so that rules can test them (`traits.tags` contains `vip`). */
export const TAGS_TRAIT = 'tags';
const MAX_TAGS = 100;
/** The latest coupon a person was given, for templates and offers: `{{traits.coupon}}`. */
export const COUPON_TRAIT = 'coupon';
/** Crockford's base32: no I, L, O or U, so that a code read out or typed in is not misread. */
const COUPON_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A coupon code: the prefix and 10 characters (50 bits) derived from the site secret and the
 * step's key, so that a repeated step gives the same code, and no one without the secret can
 * guess another person's.
 *
 * @example
 * couponCode('CART-', site.secret, `${run.id}:0/else/0`); // 'CART-7QK2M9XH4D'
 */
export function couponCode(prefix: string, secret: string, key: string): string {
  const digest = createHmac('sha256', secret).update(`coupon:${key}`).digest();
  let code = '';
  for (let i = 0; i < 10; i++) code += COUPON_ALPHABET[digest[i] & 31];
  return prefix + code;
}

/**
 * The actions that change a person: `setTrait`, `tag` (add or remove), and `coupon` (a unique
 * code kept as the trait `coupon` and in the run's context). Each goes in as a
 * trusted `identify` through the same ingest pipeline as every message, so merges, caps and
 * computed attributes apply as they do to the site's own, and the step's key as its message id
 * makes a repeat after a crash or a lost lease a duplicate that changes nothing.
 *
 * @example
 * new Runner({ ..., actions: { ...profileActions({ ingester, site: (id) => sites.get(id), identities }) } });
 */
export function profileActions(options: ProfileActionOptions): { setTrait: ActionHandler; tag: ActionHandler; coupon: ActionHandler } {
  const identify = async (input: ActionInput, traits: JsonObject | ((site: Site) => JsonObject)): Promise<ActionResult> => {
    const site = options.site(input.run.siteId);
    if (!site) return { kind: 'failed', error: 'the site is gone' };
    const values = typeof traits === 'function' ? traits(site) : traits;
    const meta = { automation: input.automation.id, run: input.run.id, position: input.run.position };
    if (!(await changeTraits(options, site, input.profile, values, { messageId: `automation:${input.key}`, at: input.now, meta }))) {
      return { kind: 'failed', error: 'the person has no id to address the change to' };
    }
    // What the steps after may use: the coupon just given, in emails and webhooks.
    return { kind: 'done', context: COUPON_TRAIT in values ? { [COUPON_TRAIT]: values[COUPON_TRAIT] } : {} };
  };
  return {
    setTrait: (action: Action, input) => ('setTrait' in action ? identify(input, action.setTrait) : wrongKind()),
    tag: (action: Action, input) => {
      if (!('tag' in action)) return wrongKind();
      const current = input.profile.traits[TAGS_TRAIT];
      const tags = Array.isArray(current) ? current.filter((t): t is string => typeof t === 'string') : [];
      const change = action.tag;
      const next = 'add' in change ? (tags.includes(change.add) ? tags : [...tags, change.add].slice(-MAX_TAGS)) : tags.filter((t) => t !== change.remove);
      return identify(input, { [TAGS_TRAIT]: next });
    },
    coupon: (action: Action, input) => {
      if (!('coupon' in action)) return wrongKind();
      const { prefix } = action.coupon;
      return identify(input, (site) => ({ [COUPON_TRAIT]: couponCode(prefix, site.secret, input.key) }));
    },
  };
}

const wrongKind = async (): Promise<ActionResult> => ({ kind: 'failed', error: 'not an action of this kind' });

/**
 * Changes a person's traits as the server: a trusted identify through the ingest pipeline,
 * addressed to their user id or else one of their anonymous ids, with `messageId` so that the
 * same change sent twice is stored once. False when the person has no id to address it to.
 *
 * @example
 * await changeTraits(options, site, profile, { unsubscribed: true }, { messageId: `unsubscribe:${run.id}`, at: Date.now(), meta: {} });
 */
export function changeTraits(options: ProfileActionOptions, site: Site, profile: ProfileRecord, traits: JsonObject, change: ServerChange): Promise<boolean> {
  return sendAsServer(options, site, profile, { type: 'identify', name: null, traits, properties: null }, change);
}

export interface ServerChange {
  messageId: string;
  at: number;
  /** Kept with the message: what made it (automation, run, ...). */
  meta: JsonObject;
}

/** A trusted message about a resolved person through the ingest pipeline (see `changeTraits`). */
async function sendAsServer(
  options: ProfileActionOptions,
  site: Site,
  profile: ProfileRecord,
  what: Pick<IngestEvent, 'type' | 'name' | 'traits' | 'properties'>,
  change: ServerChange,
): Promise<boolean> {
  let anonymousId: string | null = null;
  if (!profile.userId) {
    anonymousId = (await options.identities(site.id, profile.id)).find((i) => i.kind === 'anonymous')?.value ?? null;
    if (!anonymousId) return false;
  }
  const event: IngestEvent = {
    messageId: change.messageId,
    ...what,
    anonymousId,
    userId: profile.userId,
    previousId: null,
    // The server itself sends it, about a profile it already resolved: nothing to verify.
    trust: 'trusted',
    timestamp: change.at,
    receivedAt: change.at,
    // The message as a server would send it, so that the stored event holds what it changed (a
    // split recounts the person from it), with what made it.
    message: {
      ...change.meta,
      type: what.type,
      messageId: change.messageId,
      timestamp: new Date(change.at).toISOString(),
      ...(what.type === 'identify' ? { traits: what.traits } : { event: what.name, properties: what.properties }),
    },
    enrichment: { ip: null, device: null, referral: null, campaign: null, page: null, firstTouch: null },
  };
  await options.ingester.ingest(site, [event]);
  return true;
}

/**
 * The offer action: the person's slot shows the offer for `days` days from the step, before any
 * other and whatever the offer's segment (a trusted `Offer Granted` event that only the server
 * can send, so no visitor can give themselves an offer). The offer must exist and be live when
 * they come; a deleted one is simply not shown.
 *
 * @example
 * new Runner({ ..., actions: { offer: offerAction(options) } });
 */
export function offerAction(options: ProfileActionOptions): ActionHandler {
  return async (action: Action, input: ActionInput) => {
    if (!('offer' in action)) return wrongKind();
    const site = options.site(input.run.siteId);
    if (!site) return { kind: 'failed', error: 'the site is gone' };
    const until = input.now + action.offer.days * 86_400_000;
    const sent = await sendAsServer(
      options,
      site,
      input.profile,
      { type: 'track', name: OFFER_GRANTED, traits: null, properties: { offer_id: action.offer.id, until } },
      { messageId: `automation:${input.key}`, at: input.now, meta: { automation: input.automation.id, run: input.run.id, position: input.run.position } },
    );
    if (!sent) return { kind: 'failed', error: 'the person has no id to address the offer to' };
    return { kind: 'done', context: { offer: { id: action.offer.id, until } } };
  };
}
