import { describe, expect, it } from 'vitest';
import type { Step } from './definition.js';
import { enterBranch, FIRST_POSITION, nextPosition, stepAt } from './position.js';

const always = { field: 'identified', op: 'eq', value: true } as const;
// 0 wait, 1 waitFor (then: [tag], else: [coupon, if (then: [], else: [webhook])]), 2 offer
const steps: Step[] = [
  { wait: '1h' },
  {
    waitFor: { event: 'Order Completed', within: '1h' },
    then: [{ tag: { add: 'bought' } }],
    else: [{ coupon: { prefix: 'C' } }, { if: always, then: [], else: [{ webhook: { url: 'http://127.0.0.1/', secret: 'whsec_x' } }] }],
  },
  { offer: { id: 'o', days: 1 } },
];

describe('positions in the steps', () => {
  it('names each step by its indexes and the branches taken', () => {
    expect(stepAt(steps, FIRST_POSITION)).toEqual({ wait: '1h' });
    expect(stepAt(steps, '1/else/0')).toEqual({ coupon: { prefix: 'C' } });
    expect(stepAt(steps, '1/else/1/else/0')).toMatchObject({ webhook: {} });
    for (const bad of ['3', '1/then/1', '1/maybe/0', '0/then/0', '', '1/else', '-1', '01x']) expect(stepAt(steps, bad)).toBeNull();
  });

  it('walks to the next step, out of a branch at its end, and to the end of the run', () => {
    expect(nextPosition(steps, '0')).toBe('1');
    expect(nextPosition(steps, '1/else/0')).toBe('1/else/1');
    expect(nextPosition(steps, '1/then/0')).toBe('2');
    expect(nextPosition(steps, '1/else/1/else/0')).toBe('2');
    expect(nextPosition(steps, '2')).toBeNull();
    expect(nextPosition(steps, '9')).toBeNull();
  });

  it('goes into a branch, or past the step when the branch is empty', () => {
    expect(enterBranch(steps, '1', 'then')).toBe('1/then/0');
    expect(enterBranch(steps, '1', 'else')).toBe('1/else/0');
    expect(enterBranch(steps, '1/else/1', 'else')).toBe('1/else/1/else/0');
    expect(enterBranch(steps, '1/else/1', 'then')).toBe('2');
    expect(enterBranch(steps, '0', 'then')).toBeNull();
  });

  it('visits every step once when it walks all the branches', () => {
    const seen: string[] = [];
    const walk = (position: string | null) => {
      while (position) {
        seen.push(position);
        const step = stepAt(steps, position)!;
        if ('then' in step) {
          walk(enterBranch(steps, position, 'then'));
          walk(enterBranch(steps, position, 'else'));
          return;
        }
        position = nextPosition(steps, position);
      }
    };
    walk(FIRST_POSITION);
    expect(new Set(seen)).toEqual(new Set(['0', '1', '1/then/0', '2', '1/else/0', '1/else/1', '1/else/1/else/0']));
  });
});
