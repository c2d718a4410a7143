import { describe, expect, it } from 'vitest';
import type { Rule } from '../segments/rule.js';
import type { Step } from './definition.js';
import { actionAt, arrive, resume } from './walk.js';

const HOUR = 3_600_000;
const buyer: Rule = { field: 'computed.orders', op: 'gt', value: 0 };
const email = { email: { subject: 'Your cart', text: 'Still there' } };
// Cart abandonment with a follow-up for buyers: wait for the order an hour, else mail, then tag buyers.
const steps: Step[] = [
  { waitFor: { event: 'Order Completed', within: '1h' }, then: [], else: [email] },
  { if: buyer, then: [{ tag: { add: 'buyer' } }], else: [] },
  { wait: '1d' },
];

describe('walking the steps', () => {
  const never = () => false;
  const always = () => true;

  it('starts at the first wait with its deadline and the event it listens for', () => {
    expect(arrive(steps, '0', 1000, never)).toEqual({ done: false, position: '0', dueAt: 1000 + HOUR, waitingFor: 'Order Completed' });
  });

  it('takes the else branch when the deadline passes and stops at the action, due at once', () => {
    const stop = resume(steps, '0', 'elapsed', 5000, never);
    expect(stop).toEqual({ done: false, position: '0/else/0', dueAt: 5000, waitingFor: null });
    expect(actionAt(steps, '0/else/0')).toEqual(email);
  });

  it('takes the then branch when the event comes, decides the if on the spot, and waits', () => {
    expect(resume(steps, '0', 'happened', 5000, never)).toEqual({ done: false, position: '2', dueAt: 5000 + 24 * HOUR, waitingFor: null });
    expect(resume(steps, '0', 'happened', 5000, always)).toEqual({ done: false, position: '1/then/0', dueAt: 5000, waitingFor: null });
  });

  it('moves past an action done, and ends after the last step', () => {
    expect(resume(steps, '0/else/0', 'acted', 7000, always)).toMatchObject({ position: '1/then/0', dueAt: 7000 });
    expect(resume(steps, '2', 'elapsed', 9000, always)).toEqual({ done: true });
  });

  it('ends a run whose position the edited steps no longer have, and refuses a reason that does not fit', () => {
    expect(resume(steps, '7', 'elapsed', 0, never)).toEqual({ done: true });
    expect(() => resume(steps, '0/else/0', 'elapsed', 0, never)).toThrow(/cannot resume/);
    expect(() => resume(steps, '2', 'happened', 0, never)).toThrow(/cannot resume/);
    expect(actionAt(steps, '2')).toBeNull();
  });

  it('goes through a run of ifs with empty branches to the end', () => {
    const ifs: Step[] = [{ if: buyer, then: [], else: [] }, { if: buyer, then: [], else: [] }];
    expect(arrive(ifs, '0', 0, always)).toEqual({ done: true });
  });
});
