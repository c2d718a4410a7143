import type { Rule } from '../segments/rule.js';
import { durationMs, type Action, type Step } from './definition.js';
import { enterBranch, nextPosition, stepAt, type Position } from './position.js';

/**
 * Where a run stands after moving as far as it can without the outside world: at a step that
 * falls due at `dueAt` (a wait's end, a `waitFor`'s deadline, or an action, due at once), or at
 * the end of its steps.
 */
export type Stop =
  | { done: false; position: Position; dueAt: number; waitingFor: string | null }
  | { done: true };

/**
 * Moves a run that arrives at `position` at time `at`: an `if` is decided on the spot with
 * `holds` and its branch taken; a wait or a `waitFor` makes the run sleep until its end (a
 * `waitFor` also listens for its event); an action stops the run there, due at once, for the
 * runner to carry out under its lease. Pure: the runner supplies the clock and the rule test.
 *
 * @example
 * arrive(steps, '0', now, (rule) => predicate(rule)(subject)); // { done: false, position: '0', dueAt: now + 3_600_000, waitingFor: null }
 */
export function arrive(steps: Step[], position: Position | null, at: number, holds: (rule: Rule) => boolean): Stop {
  // A definition has at most MAX_STEPS steps, so the walk through `if`s ends within that many.
  for (let guard = 0; position !== null && guard <= 1_000; guard++) {
    const step = stepAt(steps, position);
    if (!step) break;
    if ('if' in step) {
      position = enterBranch(steps, position, holds(step.if) ? 'then' : 'else');
      continue;
    }
    if ('wait' in step) return { done: false, position, dueAt: at + durationMs(step.wait)!, waitingFor: null };
    if ('waitFor' in step) return { done: false, position, dueAt: at + durationMs(step.waitFor.within)!, waitingFor: step.waitFor.event };
    return { done: false, position, dueAt: at, waitingFor: null };
  }
  return { done: true };
}

/**
 * Why a run moves on from the step it stands at: `elapsed`, a wait ended or a `waitFor`'s
 * deadline passed without its event; `happened`, a `waitFor`'s event came; `acted`, the action
 * there was carried out (or, in the holdout, skipped).
 */
export type Resume = 'elapsed' | 'happened' | 'acted';

/**
 * Moves a run on from the step it stood at, to its next stop: past a wait or an action done,
 * into the then branch of a `waitFor` whose event came or its else branch when the deadline
 * passed. A position the steps no longer have (the automation was edited) ends the run. A
 * reason that does not fit the step (an action "elapsed") is a bug in the caller and throws.
 *
 * @example
 * resume(steps, '1', 'happened', now, holds); // into the then branch of the waitFor at 1
 */
export function resume(steps: Step[], position: Position, why: Resume, at: number, holds: (rule: Rule) => boolean): Stop {
  const step = stepAt(steps, position);
  if (!step) return { done: true };
  const kind = 'wait' in step ? 'wait' : 'waitFor' in step ? 'waitFor' : 'if' in step ? 'if' : 'action';
  const fits = kind === 'wait' ? why === 'elapsed' : kind === 'waitFor' ? why !== 'acted' : kind === 'action' && why === 'acted';
  if (!fits) throw new Error(`a run at ${position} (${kind}) cannot resume because ${why}`);
  if (kind === 'waitFor') return arrive(steps, enterBranch(steps, position, why === 'happened' ? 'then' : 'else'), at, holds);
  return arrive(steps, nextPosition(steps, position), at, holds);
}

/** The action a run stands at, or null when it stands at a wait. */
export function actionAt(steps: Step[], position: Position): Action | null {
  const step = stepAt(steps, position);
  return step && !('wait' in step) && !('waitFor' in step) && !('if' in step) ? step : null;
}
