import type { ProfileRecord } from './types.js';

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

/** Why nothing may be sent to this person, or null. */
export function suppressionOf(traits: Record<string, unknown>): 'unsubscribed' | 'opted out' | 'consent withdrawn' | null {
  if (traits.unsubscribed === true) return 'unsubscribed';
  if (traits.optedOut === true) return 'opted out';
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
