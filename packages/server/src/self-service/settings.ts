import { COUPON_TRAIT, TAGS_TRAIT } from '../automations/profile-actions.js';
import { invalidField } from '../http/input.js';
import { SUPPRESSION_TRAITS } from '../profiles/consent.js';
import { DEFAULT_SELF_SERVICE, type SelfServiceSettings } from '../store/types.js';

/**
 * Traits no customer may set on their page. `email` and the ids link profiles (a trusted
 * identify with someone else's address would join that person's profile when the site matches
 * by email); tags and coupons are the automations'; the suppression traits have their own ways
 * (the consent form, an email's unsubscribe link), which keep their rules.
 */
export const RESERVED_TRAITS: readonly string[] = ['email', 'userId', 'id', 'anonymousId', TAGS_TRAIT, COUPON_TRAIT, ...SUPPRESSION_TRAITS];
export const MAX_EDITABLE_TRAITS = 50;
export const MAX_SHOWN_SEGMENTS = 100;
const MAX_URL_LENGTH = 2000;
/** Trait names the page can offer: also the names of its form fields (`trait:firstName`, `trait:address.city`). */
export const TRAIT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const SEGMENT_ID = /^[A-Za-z0-9_-]{1,100}$/;
const FIELDS = ['editableTraits', 'shownSegments', 'cssUrl', 'logoUrl'] as const;

/**
 * A site's `selfService` setting from an API body or the console's form, over `current`: the
 * fields given replace theirs, the others stay; `null` restores the defaults. Every refusal is a
 * 400 naming the field (`selfService.editableTraits[2]`). Whether shown segments exist on the
 * site is `checkShownSegments`'s part, which needs the store.
 *
 * @example
 * selfServiceSettingsOf({ cssUrl: 'https://shop.example/me.css' }, site.settings.selfService);
 */
export function selfServiceSettingsOf(value: unknown, current: SelfServiceSettings = DEFAULT_SELF_SERVICE): SelfServiceSettings {
  if (value === null) return { ...DEFAULT_SELF_SERVICE };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidField('selfService', `must be an object with some of ${FIELDS.join(', ')}, or null for the defaults`);
  }
  const body = value as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw invalidField(`selfService.${key}`, `unknown field; expected one of ${FIELDS.join(', ')}`);
  }
  const out: SelfServiceSettings = { ...DEFAULT_SELF_SERVICE, ...current };
  if (body.editableTraits !== undefined) out.editableTraits = editableTraitsOf(body.editableTraits);
  if (body.shownSegments !== undefined) out.shownSegments = shownSegmentsOf(body.shownSegments);
  if (body.cssUrl !== undefined) out.cssUrl = httpsUrlOf(body.cssUrl, 'selfService.cssUrl');
  if (body.logoUrl !== undefined) out.logoUrl = httpsUrlOf(body.logoUrl, 'selfService.logoUrl');
  return out;
}

/**
 * Refuses shown segments that are not segments of the site (a 400 naming the one at fault).
 *
 * @example
 * checkShownSegments(settings, new Set((await store.listSegments(site.id)).map((s) => s.id)));
 */
export function checkShownSegments(settings: SelfServiceSettings, segmentIds: ReadonlySet<string>): void {
  settings.shownSegments.forEach((id, i) => {
    if (!segmentIds.has(id)) throw invalidField(`selfService.shownSegments[${i}]`, `no segment ${id} on this site`);
  });
}

/** Whether a `selfService` value names its shown segments (which then must exist). */
export const givesShownSegments = (value: unknown): boolean => typeof value === 'object' && value !== null && 'shownSegments' in value;

function editableTraitsOf(value: unknown): string[] {
  const field = 'selfService.editableTraits';
  if (!Array.isArray(value) || value.length > MAX_EDITABLE_TRAITS) throw invalidField(field, `must be a list of at most ${MAX_EDITABLE_TRAITS} trait names`);
  const out = new Set<string>();
  value.forEach((name, i) => {
    if (typeof name !== 'string' || !TRAIT_NAME.test(name.trim())) {
      throw invalidField(`${field}[${i}]`, 'must be a trait name: a letter or _, then letters, digits, _ or -, at most 64 characters');
    }
    const trimmed = name.trim();
    if (RESERVED_TRAITS.includes(trimmed)) {
      throw invalidField(`${field}[${i}]`, `"${trimmed}" cannot be edited by customers: it links profiles or belongs to automations and consent`);
    }
    out.add(trimmed);
  });
  return [...out];
}

function shownSegmentsOf(value: unknown): string[] {
  const field = 'selfService.shownSegments';
  if (!Array.isArray(value) || value.length > MAX_SHOWN_SEGMENTS) throw invalidField(field, `must be a list of at most ${MAX_SHOWN_SEGMENTS} segment ids`);
  value.forEach((id, i) => {
    if (typeof id !== 'string' || !SEGMENT_ID.test(id)) throw invalidField(`${field}[${i}]`, 'must be the id of a segment, such as "seg_0a1b2c3d4e5f6g7h"');
  });
  return [...new Set(value as string[])];
}

/** An https URL without credentials, or null for none (`null` or an empty string). */
function httpsUrlOf(value: unknown, field: string): string | null {
  if (value === null || value === '') return null;
  const fail = () => invalidField(field, `must be an https:// URL of at most ${MAX_URL_LENGTH} characters, without user name or password, or null`);
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH) throw fail();
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw fail();
  }
  if (url.protocol !== 'https:' || url.username || url.password) throw fail();
  return url.href;
}
