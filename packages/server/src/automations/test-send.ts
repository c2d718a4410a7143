import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import type { ProfileRecord } from '../profiles/types.js';
import { emptyComputed } from '../profiles/types.js';
import type { AutomationRecord, RunRecord } from '../store/automations.js';
import type { Site } from '../store/types.js';
import type { Action, AutomationDefinition, Step } from './definition.js';

/** The first email step of the steps, branches included, in the order a run could meet them. */
export function firstEmail(steps: Step[]): Extract<Action, { email: unknown }> | null {
  for (const step of steps) {
    if ('email' in step) return step;
    if ('then' in step) {
      const inside = firstEmail(step.then) ?? firstEmail(step.else);
      if (inside) return inside;
    }
  }
  return null;
}

/**
 * Sends an automation's first email, now, to `address`, over the site's mail settings, as a
 * marketer checks it before switching the automation on: placeholders with no person behind
 * them take their fallbacks. Nothing is recorded; the links work, and unsubscribe no one.
 * A 400 names what is missing; a refused or failed delivery is a 502 with the server's words.
 *
 * @example
 * await sendTestEmail(ctx, site, automation, 'me@shop.example');
 */
export async function sendTestEmail(ctx: AppContext, site: Site, automation: AutomationRecord, address: string): Promise<void> {
  const step = firstEmail((automation.definition as unknown as AutomationDefinition).steps);
  if (!step) throw new HttpError(400, 'steps: this automation sends no email');
  const now = ctx.now();
  const profile: ProfileRecord = {
    id: 'test-send',
    siteId: site.id,
    userId: null,
    email: address.toLowerCase(),
    traits: { email: address },
    traitTimes: {},
    // The marketer typed it in: theirs to vouch for.
    computed: { ...emptyComputed(), vouchedEmail: address.toLowerCase() },
    mergedInto: null,
    createdAt: now,
    updatedAt: now,
  };
  const run = { id: `test-${now}`, siteId: site.id, automationId: automation.id, profileId: profile.id, position: '0', context: {} } as RunRecord;
  const result = await ctx.automations.email(step, { run, automation, profile, key: `${run.id}:test`, now });
  if (result.kind === 'done') return;
  if (result.error === 'the site has no SMTP server set' || result.error === 'the email trait is not one email address') {
    throw new HttpError(400, result.error.startsWith('the site') ? 'smtpUrl: the site has no SMTP server set' : 'to: must be one email address');
  }
  throw new HttpError(502, `the mail server did not take it: ${result.error}`);
}
