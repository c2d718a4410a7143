import type { JsonObject } from '@rapport/protocol';
import type { Page } from './types.js';

export type AutomationStatus = 'draft' | 'active' | 'paused';

/**
 * A follow-up automation as stored. The store keeps its definition (trigger, steps, exit, holdout,
 * cap) as the JSON that `automations/definition.ts` validated; only the fields it indexes or
 * filters by are columns.
 */
export interface AutomationRecord {
  id: string;
  siteId: string;
  /** Unique per site. */
  name: string;
  status: AutomationStatus;
  definition: JsonObject;
  createdAt: number;
  updatedAt: number;
}

/**
 * `active`: it has a step to come (due at `dueAt`, or when `waitingFor` happens). The others are
 * final: `done` (every step ran), `exited` (its exit rule or event), `cancelled` (the automation
 * was deleted, or the person erased), `failed` (a step could not be carried out).
 */
export type RunStatus = 'active' | 'done' | 'exited' | 'cancelled' | 'failed';

/** One person's way through one automation. */
export interface RunRecord {
  id: string;
  siteId: string;
  automationId: string;
  profileId: string;
  /**
   * What started it, unique per automation (the triggering message's sender and id, say): the
   * same trigger seen twice, by a retry or by two nodes, starts one run.
   */
  triggerKey: string;
  /** In the automation's holdout: it goes through the steps, but nothing is sent. */
  holdout: boolean;
  status: RunStatus;
  /** Where in the steps the run is, in the runner's notation; the store does not read it. */
  position: string;
  /** What the steps carry along (the trigger's properties, a coupon code). */
  context: JsonObject;
  /** When its next step falls due (ms), or null: finished, or waiting for an event only. */
  dueAt: number | null;
  /** The track event a `waitFor` step waits for, or null. */
  waitingFor: string | null;
  /** Attempts of the step now due that have failed and will be retried (0 for a fresh step). */
  attempts: number;
  startedAt: number;
  updatedAt: number;
}

/** An email or webhook that went out for a step of a run. */
export interface SendRecord {
  siteId: string;
  runId: string;
  position: string;
  automationId: string;
  profileId: string;
  kind: 'email' | 'webhook';
  sentAt: number;
}

/** How many runs of an automation there are, by holdout and status (watches left out). */
export interface RunCount {
  holdout: boolean;
  status: RunStatus;
  runs: number;
}

/** How many distinct runs of an automation sent something, had a send opened, and clicked. */
export interface SendCounts {
  sent: number;
  opened: number;
  clicked: number;
}

export interface RunQuery {
  siteId: string;
  automationId?: string;
  profileId?: string;
  limit: number;
  cursor?: string;
}

/**
 * What automations keep: their definitions, and each person's run with its next due step, claimed
 * with a lease so that one step fires once whichever node, or restarted process, looks at it.
 */
export interface AutomationStore {
  /** Inserts or replaces; a name taken by another automation of the site is a `ConflictError`. */
  saveAutomation(automation: AutomationRecord): Promise<void>;
  getAutomation(siteId: string, id: string): Promise<AutomationRecord | null>;
  /** By name. */
  listAutomations(siteId: string): Promise<AutomationRecord[]>;
  /** Deletes the automation and cancels its active runs; false when there was none. */
  deleteAutomation(siteId: string, id: string): Promise<boolean>;

  /**
   * Starts runs in one transaction; for each, false when its automation already has a run of
   * that `triggerKey` (the existing run is left as it is).
   *
   * @example
   * await store.startRuns([{ ...run, triggerKey: `${sender}:${messageId}`, dueAt: now + HOUR_MS }]); // [true]
   */
  startRuns(runs: RunRecord[]): Promise<boolean[]>;
  /**
   * Starts each run like `startRuns`; when its automation has a run of that `triggerKey` already
   * that is active and due at no time (a dormant watch), wakes that one at the new run's `dueAt`
   * instead. Nothing else about an existing run changes. One write per run, however often it is
   * armed: what keeps an index of due times for a trigger that time sets off.
   *
   * @example
   * await store.armRuns([{ ...watch, triggerKey: `t:${profileId}`, dueAt: lastOrderAt + 90 * DAY_MS }]);
   */
  armRuns(runs: RunRecord[]): Promise<void>;
  /**
   * Leases to `holder`, for `leaseMs`, at most `limit` active runs whose step is due by `now`
   * and whose lease (if any) has run out, the earliest due first, and returns them. A run
   * leased by one caller is not returned to another until that lease runs out, so two nodes
   * never carry out one step at once.
   *
   * @example
   * for (const run of await store.claimDueRuns(Date.now(), node, 30_000, 100)) await runStep(run);
   */
  claimDueRuns(now: number, holder: string, leaseMs: number, limit: number): Promise<RunRecord[]>;
  /**
   * Leases one active run to `holder` for `leaseMs`, due or not, unless another holder's lease
   * on it still holds; null then, or when the run is not active. What a run waiting for an event
   * is taken with when the event comes, so that it moves on once, on one node.
   *
   * @example
   * const run = await store.claimRun(site.id, waiting.id, node, 30_000); // null: another node has it
   */
  claimRun(siteId: string, id: string, holder: string, leaseMs: number): Promise<RunRecord | null>;
  /**
   * The earliest `dueAt` of an active run that no lease holds now (the scheduler's next wake-up),
   * or null. A run under a lease is left out: counting it would have the scheduler ask again at
   * once, over and over, until the lease runs out; its poll finds it then.
   */
  nextDueAt(): Promise<number | null>;
  /**
   * Writes a claimed run's new state (next step, retry, or the end) and lets go of its lease,
   * only while `holder` still holds it: false, and nothing written, once the lease ran out and
   * another holder may have taken the run over.
   */
  updateRun(run: RunRecord, holder: string): Promise<boolean>;
  getRun(siteId: string, id: string): Promise<RunRecord | null>;
  /** Runs of a site, newest first, by automation or by person. */
  listRuns(query: RunQuery): Promise<Page<RunRecord>>;
  /** The active runs of a person that wait for the track event `event`. */
  runsWaitingFor(siteId: string, profileId: string, event: string): Promise<RunRecord[]>;
  /**
   * Puts a failed run (a dead letter) back to work as `run` says (active, due again, its error
   * cleared), only while it is still failed: false when it is not, so that a replay sent twice
   * starts it once.
   */
  replayRun(run: RunRecord): Promise<boolean>;
  /** Records a send; the same step of a run sent again (a retry that got through twice) stays one send. */
  recordSend(send: SendRecord): Promise<void>;
  /** Marks a send opened (or clicked, which is an open too) the first time; false for an unknown send. */
  markSend(siteId: string, runId: string, position: string, what: 'opened' | 'clicked', at: number): Promise<boolean>;
  /** How many sends went to a person since `since`: what the site's send cap counts. */
  countSends(siteId: string, profileId: string, since: number): Promise<number>;
  sendCounts(siteId: string, automationId: string): Promise<SendCounts>;
  /** Runs of an automation by holdout and status, watches (position `watch`) left out. */
  runCounts(siteId: string, automationId: string): Promise<RunCount[]>;
  /** Each run's person, start and bucket, oldest first, for conversions; at most `limit`. */
  runStarts(siteId: string, automationId: string, limit: number): Promise<Array<{ profileId: string; startedAt: number; holdout: boolean }>>;
  /** Cancels the active runs of a person (an erasure); how many. */
  cancelRuns(siteId: string, profileId: string): Promise<number>;
}
