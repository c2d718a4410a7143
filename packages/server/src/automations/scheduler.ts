import type { AutomationStore, RunRecord } from '../store/automations.js';

export interface SchedulerOptions {
  store: AutomationStore;
  /** This process among the nodes sharing the store: the holder of the leases it takes. */
  holder: string;
  /**
   * Carries out a claimed run's due step and writes its outcome with `updateRun` under the same
   * holder. A handler that throws, or never writes, leaves the run to be claimed again once its
   * lease runs out.
   */
  handle: (run: RunRecord) => Promise<void>;
  /** How long a claim holds: longer than a step takes (a webhook's timeout, say). @default 60_000 */
  leaseMs?: number;
  /** Runs claimed per round, and so the most handled at once. @default 50 */
  batch?: number;
  /**
   * The longest sleep between rounds, for runs that other nodes start or that this one was not
   * told of: a step is never later than this beyond its time plus its handling. @default 1_000
   */
  pollMs?: number;
  now?: () => number;
}

/** What the scheduler has done since it started: what `/healthz` and the logs report. */
export interface SchedulerStats {
  claimed: number;
  failed: number;
  /** Claimed more than `LATE_MS` after their time: catch-up after a stop, or a backlog. */
  late: number;
  /** The latest a step was claimed after its time, ms. */
  maxLatenessMs: number;
}

/** A due step claimed later than this is counted late (the promise is 5 s). */
export const LATE_MS = 5_000;

/**
 * Fires due automation steps: claims the runs whose step is due (a lease each, so that one step
 * runs on one node), hands them to `handle` with at most `batch` in hand, and sleeps until the
 * earliest next due time or `pollMs`, whichever comes first. After downtime it catches up at that
 * pace, the oldest first, so that a backlog of thousands neither floods the receivers nor starves the
 * process; what was late is counted in `stats`.
 *
 * @example
 * const scheduler = new Scheduler({ store: store.automations, holder: node, handle: (run) => runner.step(run) });
 * scheduler.start();
 * await scheduler.stop();
 */
export class Scheduler {
  readonly stats: SchedulerStats = { claimed: 0, failed: 0, late: 0, maxLatenessMs: 0 };
  private readonly leaseMs: number;
  private readonly batch: number;
  private readonly pollMs: number;
  private readonly now: () => number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the pending timer fires (this process's clock). */
  private timerAt = Infinity;
  private running: Promise<void> | null = null;
  private stopped = true;
  /** Set by `stop`: a round under way ends after its batch. */
  private stopping = false;

  constructor(private readonly options: SchedulerOptions) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.batch = options.batch ?? 50;
    this.pollMs = options.pollMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = false;
    this.schedule(0);
  }

  /** Stops taking new work and waits for the steps being handled. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    await this.running;
  }

  /** A run was started or moved to fall due at `at`: wake up then if that is sooner. */
  wake(at: number): void {
    // A round under way looks for the next due time itself when it ends.
    if (this.stopped || this.running || at >= this.timerAt) return;
    this.schedule(Math.max(0, at - this.now()));
  }

  /**
   * One round: claims and handles what is due now until nothing is left; the number of runs
   * handled. Up to `batch` steps are in hand at once, and more are claimed as soon as half of
   * them are done, so that one slow receiver does not hold up the rest of a batch (a claim is a
   * durable write: claiming a run at a time would cost one per step). The loop calls it; tests
   * call it on an injected clock.
   */
  async round(): Promise<number> {
    let handled = 0;
    let exhausted = false;
    const inHand = new Set<Promise<void>>();
    for (;;) {
      if (!exhausted && !this.stopping && inHand.size <= this.batch / 2) {
        const room = this.batch - inHand.size;
        const now = this.now();
        const runs = await this.options.store.claimDueRuns(now, this.options.holder, this.leaseMs, room);
        for (const run of runs) {
          this.count(now - run.dueAt!);
          const step: Promise<void> = this.options
            .handle(run)
            .catch((error) => {
              this.stats.failed++;
              console.error(`rapport: automation step of run ${run.id} failed; it is retried when its lease runs out`, error);
            })
            .finally(() => inHand.delete(step));
          inHand.add(step);
        }
        handled += runs.length;
        if (runs.length < room) exhausted = true;
      }
      if (inHand.size === 0) return handled;
      if (exhausted || this.stopping) {
        await Promise.all(inHand);
        return handled;
      }
      await Promise.race(inHand);
    }
  }

  private count(lateness: number) {
    this.stats.claimed++;
    if (lateness > LATE_MS) this.stats.late++;
    this.stats.maxLatenessMs = Math.max(this.stats.maxLatenessMs, lateness);
  }

  private schedule(delay: number) {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = this.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.running = this.loop().finally(() => (this.running = null));
    }, delay);
    // Pending steps must not keep a process alive that is otherwise done.
    this.timer.unref?.();
  }

  private async loop(): Promise<void> {
    let next = this.pollMs;
    try {
      await this.round();
      const due = await this.options.store.nextDueAt();
      if (due !== null) next = Math.min(this.pollMs, Math.max(0, due - this.now()));
    } catch (error) {
      console.error('rapport: the automation scheduler could not reach the store; it tries again', error);
    }
    if (!this.stopped) this.schedule(next);
  }
}
