import type { Computed, ConsentRecord, ProfileRecord } from './types.js';

/**
 * The event that records a person's consent: `{ purposes: { marketing: true, analytics: false } }`,
 * or one purpose as `{ purpose: 'marketing', granted: false }`. A consent manager sends it (from
 * the browser, or better from the server with the site secret) whenever the person decides.
 */
export const CONSENT_UPDATED = 'Consent Updated';
/** The purpose whose withdrawal stops automations' sends. */
export const MARKETING = 'marketing';
const MAX_PURPOSES = 20;
const PURPOSE = /^[A-Za-z0-9_.-]{1,50}$/;

/**
 * The traits by which a person says "send me nothing": `unsubscribed: true` (the one-click link
 * of an email sets it), `optedOut: true`, and `consent: false` or `consent: { marketing: false }`.
 * Automations send no email and no webhook to a person for whom `suppressionOf` names a reason.
 *
 * A visitor's own messages (the public write key) may say it, never unsay it: otherwise anyone
 * who can send as a person could subscribe them again. Only a trusted message (the site secret)
 * takes it back, and a merge keeps it if either profile had it.
 */
export const SUPPRESSION_TRAITS = ['unsubscribed', 'optedOut', 'consent'] as const;

/** Why nothing may be sent to this person, or null: their traits, or a withdrawn marketing consent. */
export function suppressionOf(
  traits: Record<string, unknown>,
  recorded?: Record<string, ConsentRecord>,
): 'unsubscribed' | 'opted out' | 'consent withdrawn' | null {
  if (traits.unsubscribed === true) return 'unsubscribed';
  if (traits.optedOut === true) return 'opted out';
  if (recorded?.[MARKETING]?.granted === false) return 'consent withdrawn';
  const consent = traits.consent;
  if (consent === false) return 'consent withdrawn';
  if (consent !== null && typeof consent === 'object' && (consent as Record<string, unknown>).marketing === false) return 'consent withdrawn';
  return null;
}

/** Whether a message that is not trusted may set trait `key` to `value` on a person whose traits are `traits`. */
export function mayChangeUntrusted(traits: Record<string, unknown>, key: string, value: unknown): boolean {
  if (!(SUPPRESSION_TRAITS as readonly string[]).includes(key)) return true;
  const now = suppressionOf({ [key]: traits[key] });
  return now === null || suppressionOf({ [key]: value }) !== null;
}

/** After a merge: a suppression either side had stays (the older of two values would otherwise lose to the newer). */
export function keepSuppression(into: ProfileRecord, from: ProfileRecord): void {
  for (const key of SUPPRESSION_TRAITS) {
    if (suppressionOf({ [key]: from.traits[key] }) !== null && suppressionOf({ [key]: into.traits[key] }) === null) {
      into.traits[key] = from.traits[key];
      into.traitTimes[key] = Math.max(into.traitTimes[key] ?? 0, from.traitTimes[key] ?? 0);
    }
  }
}

/**
 * Records a `Consent Updated` event's purposes on the profile, each newer than what it holds;
 * malformed purposes are left out, and a profile keeps at most 20.
 *
 * @example
 * recordConsent(profile.computed, { purposes: { marketing: false } }, Date.now(), 'verified');
 */
export function recordConsent(c: Computed, properties: Record<string, unknown> | null, at: number, trust: ConsentRecord['trust']): void {
  const given: Array<[string, unknown]> =
    properties && typeof properties.purposes === 'object' && properties.purposes !== null && !Array.isArray(properties.purposes)
      ? Object.entries(properties.purposes as Record<string, unknown>)
      : typeof properties?.purpose === 'string'
        ? [[properties.purpose, properties.granted]]
        : [];
  for (const [purpose, granted] of given) {
    if (typeof granted !== 'boolean' || !PURPOSE.test(purpose)) continue;
    const consent = (c.consent ??= {});
    const known = consent[purpose];
    if (known && known.at > at) continue;
    if (!known && Object.keys(consent).length >= MAX_PURPOSES) continue;
    consent[purpose] = { granted, at, trust };
  }
}

/** After a merge: each purpose as its latest record says. */
export function mergeConsent(a: Computed, b: Computed): Record<string, ConsentRecord> | undefined {
  if (!a.consent && !b.consent) return undefined;
  const merged: Record<string, ConsentRecord> = { ...a.consent };
  for (const [purpose, record] of Object.entries(b.consent ?? {})) {
    if (!merged[purpose] || merged[purpose].at < record.at) merged[purpose] = record;
  }
  return merged;
}
