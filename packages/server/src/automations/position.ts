import type { Step } from './definition.js';

/**
 * Where a run is in an automation's steps, as the store keeps it (`RunRecord.position`): the
 * index in the top list, then for each branch taken its name and the index in it, joined by
 * `/`: `1/else/0` is the first step of the else branch of the second step. A position is also
 * the per-step half of a delivery's idempotency key (`webhook-id` is `<run id>:<position>`), so
 * the same step of the same run goes out under the same id on every attempt.
 */
export type Position = string;

type Branch = 'then' | 'else';

interface Frame {
  list: Step[];
  index: number;
  /** The branch taken from this frame's step into the next frame, if there is one. */
  branch?: Branch;
}

/** The lists a position passes through, outermost first; null for a position these steps lack. */
function framesOf(steps: Step[], position: Position): Frame[] | null {
  const parts = position.split('/');
  if (parts.length % 2 !== 1) return null;
  const frames: Frame[] = [];
  let list = steps;
  for (let i = 0; ; i += 2) {
    const index = Number(parts[i]);
    if (!/^\d{1,3}$/.test(parts[i]) || index >= list.length) return null;
    if (i + 1 === parts.length) {
      frames.push({ list, index });
      return frames;
    }
    const step = list[index];
    const branch = parts[i + 1];
    if ((branch !== 'then' && branch !== 'else') || !('then' in step)) return null;
    frames.push({ list, index, branch });
    list = step[branch];
  }
}

const positionOf = (frames: Frame[]): Position => frames.map((f) => (f.branch ? `${f.index}/${f.branch}` : String(f.index))).join('/');

/** The step at `position`, or null when the steps have none there (they were edited since). */
export function stepAt(steps: Step[], position: Position): Step | null {
  const frames = framesOf(steps, position);
  if (!frames) return null;
  const last = frames[frames.length - 1];
  return last.list[last.index];
}

/**
 * The position after the step at `position` is done, without going into its branches: the next
 * step of its list, or, at the end of a branch, the step after the one that branched; null when
 * the run has gone through every step (or `position` is not one of these steps).
 *
 * @example
 * nextPosition(steps, '1/else/0'); // '1/else/1', or '2' at the end of that branch, or null
 */
export function nextPosition(steps: Step[], position: Position): Position | null {
  const frames = framesOf(steps, position);
  if (!frames) return null;
  while (frames.length) {
    const last = frames[frames.length - 1];
    if (last.index + 1 < last.list.length) {
      last.index++;
      return positionOf(frames);
    }
    frames.pop();
    if (frames.length) delete frames[frames.length - 1].branch;
  }
  return null;
}

/**
 * The first position inside the `branch` of the branching step at `position`, or, for an empty
 * branch, the position after that step.
 *
 * @example
 * enterBranch(steps, '1', 'else'); // '1/else/0'
 */
export function enterBranch(steps: Step[], position: Position, branch: Branch): Position | null {
  const frames = framesOf(steps, position);
  if (!frames) return null;
  const last = frames[frames.length - 1];
  const step = last.list[last.index];
  if (!('then' in step)) return null;
  if (step[branch].length === 0) return nextPosition(steps, position);
  last.branch = branch;
  frames.push({ list: step[branch], index: 0 });
  return positionOf(frames);
}

/** Where a run starts. */
export const FIRST_POSITION: Position = '0';
