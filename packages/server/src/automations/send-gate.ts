import { suppressionOf } from '../profiles/consent.js';
import type { ProfileRecord } from '../profiles/types.js';
import { offsetAt } from '../reports/days.js';
import type { AutomationStore } from '../store/automations.js';
import type { Site } from '../store/types.js';
import type { Action } from './definition.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const QUARTER_MS = HOUR_MS / 4;

/** What may happen to a send that fell due: it goes, it is skipped for a reason, or it waits. */
export type Gate = { kind: 'send' } | { kind: 'skip'; reason: string } | { kind: 'later'; at: number };

/** The actions that reach the person (or a system acting on them): those that respect consent, quiet hours and the send cap. */
export const isSend = (action: Action): action is Extract<Action, { email: unknown } | { webhook: unknown }> => 'email' in action || 'webhook' in action;

/**
 * Whether a send may go now: never to a person who unsubscribed, opted out or withdrew consent
 * (skipped, with the reason); not in the site's quiet hours (it waits for their end, in the
 * site's time zone); and not past the site's cap on sends per person across every automation
 * (skipped: a cap that only delayed would pile the sends up for later).
 *
 * @example
 * const gate = await sendGate(profile, site, store.automations, Date.now()); // { kind: 'later', at: ... }
 */
export async function sendGate(profile: ProfileRecord, site: Site, automations: AutomationStore, now: number): Promise<Gate> {
  const suppressed = suppressionOf(profile.traits, profile.computed.consent);
  if (suppressed) return { kind: 'skip', reason: suppressed };
  const { quietHours, sendCap, timeZone } = site.settings;
  const until = quietHours && quietUntil(now, quietHours, timeZone);
  if (until) return { kind: 'later', at: until };
  if (sendCap && (await automations.countSends(site.id, profile.id, now - sendCap.days * DAY_MS)) >= sendCap.sends) {
    return { kind: 'skip', reason: `send cap: ${sendCap.sends} in ${sendCap.days} d` };
  }
  return { kind: 'send' };
}

/**
 * When the quiet hours that `now` falls in end (the first moment of hour `to`, local time), or
 * null when `now` is outside them. `from` after `to` spans midnight (22 to 8: the night).
 *
 * @example
 * quietUntil(Date.UTC(2026, 10, 2, 23), { from: 22, to: 8 }, 'UTC'); // Date.UTC(2026, 10, 3, 8)
 */
export function quietUntil(now: number, quiet: { from: number; to: number }, timeZone: string): number | null {
  const hourOf = (ms: number) => Math.floor((((ms + offsetAt(ms, timeZone)) % DAY_MS) + DAY_MS) % DAY_MS / HOUR_MS);
  const quietAt = (hour: number) => (quiet.from < quiet.to ? hour >= quiet.from && hour < quiet.to : hour >= quiet.from || hour < quiet.to);
  if (!quietAt(hourOf(now))) return null;
  // A quarter of an hour at a time (every zone's offset is whole quarters) to the first that is
  // not quiet: a daylight-saving change moves it with the local clock.
  let at = Math.floor(now / QUARTER_MS) * QUARTER_MS;
  for (let i = 0; i < 26 * 4; i++) {
    at += QUARTER_MS;
    if (!quietAt(hourOf(at))) return at;
  }
  return null;
}
