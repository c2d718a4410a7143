import type { ConsentRecord } from '../profiles/types.js';
import { FormProblem } from './traits.js';

/** The purposes the page asks about, with what each means to the customer (docs/privacy.md, docs/self-service.md). */
export const CONSENT_PURPOSES = [
  { purpose: 'marketing', label: 'Marketing', hint: 'Emails and offers chosen for you.' },
  { purpose: 'analytics', label: 'Analytics', hint: 'Counting visits and clicks to improve the site.' },
  { purpose: 'personalization', label: 'Personalization', hint: 'Content on the site chosen by what you looked at before.' },
] as const;

export type ConsentChoice = 'granted' | 'withdrawn';

/**
 * The purposes a submitted consent form changes, as `{ purpose: granted }`: fields
 * `consent:<purpose>` with `granted` or `withdrawn`, a purpose left unanswered is not changed,
 * and one answered as it is recorded is left out. Throws `FormProblem` naming the field at fault.
 *
 * @example
 * consentChanges(new URLSearchParams('consent:marketing=withdrawn'), profile.computed.consent); // { marketing: false }
 */
export function consentChanges(form: URLSearchParams, recorded: Record<string, ConsentRecord> | undefined): Record<string, boolean> {
  const known: readonly string[] = CONSENT_PURPOSES.map((p) => p.purpose);
  const changes: Record<string, boolean> = {};
  for (const field of new Set(form.keys())) {
    const match = /^consent:(.+)$/.exec(field);
    if (!match || !known.includes(match[1])) throw new FormProblem(field, 'is not a field of this form');
    const values = form.getAll(field);
    if (values.length > 1) throw new FormProblem(field, 'is given more than once');
    if (values[0] !== 'granted' && values[0] !== 'withdrawn') throw new FormProblem(field, 'must be granted or withdrawn');
    const granted = values[0] === 'granted';
    if (recorded?.[match[1]]?.granted !== granted) changes[match[1]] = granted;
  }
  return changes;
}
