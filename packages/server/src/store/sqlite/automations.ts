import type Database from 'better-sqlite3';
import type { AutomationRecord, AutomationStore, RunCount, RunQuery, RunRecord, SendCounts, SendRecord } from '../automations.js';
import { decodeCursorParts } from '../cursor.js';
import { ConflictError } from '../store.js';
import type { Page } from '../types.js';
import { automationFromRow, automationToParams, pageOf, RUN_COLUMNS, runCursor, runFromRow, runToParams, type AutomationRow, type RunRow } from '../rows.js';

const named = (columns: readonly string[]) => columns.map((c) => `@${c}`).join(', ');

/**
 * Automations and their runs (migration 9) on SQLite. Every write goes through the store's group
 * commit (`write`), so that a claim or a step's outcome is durable before the caller acts on it.
 * One process owns the file, but the lease still matters: a step claimed before a crash is not
 * claimed again until its lease runs out, and an owner that outlived its lease writes nothing.
 */
export class SqliteAutomations implements AutomationStore {
  private readonly sql;

  constructor(
    db: Database.Database,
    private readonly write: <T>(work: () => T) => Promise<T>,
  ) {
    this.sql = {
      upsert: db.prepare(
        `INSERT INTO automations (site_id, id, name, status, definition, created_at, updated_at)
         VALUES (@site_id, @id, @name, @status, @definition, @created_at, @updated_at)
         ON CONFLICT (site_id, id) DO UPDATE SET name = excluded.name, status = excluded.status,
           definition = excluded.definition, updated_at = excluded.updated_at`,
      ),
      get: db.prepare('SELECT * FROM automations WHERE site_id = ? AND id = ?'),
      list: db.prepare('SELECT * FROM automations WHERE site_id = ? ORDER BY name'),
      delete: db.prepare('DELETE FROM automations WHERE site_id = ? AND id = ?'),
      cancelOf: db.prepare(
        `UPDATE automation_runs SET status = 'cancelled', due_at = NULL, waiting_for = NULL, lease_holder = NULL, lease_until = NULL, updated_at = ?
         WHERE site_id = ? AND automation_id = ? AND status = 'active'`,
      ),
      start: db.prepare(
        `INSERT INTO automation_runs (${RUN_COLUMNS.join(', ')}) VALUES (${named(RUN_COLUMNS)})
         ON CONFLICT (site_id, automation_id, trigger_key) DO NOTHING`,
      ),
      arm: db.prepare(
        `INSERT INTO automation_runs (${RUN_COLUMNS.join(', ')}) VALUES (${named(RUN_COLUMNS)})
         ON CONFLICT (site_id, automation_id, trigger_key) DO UPDATE SET due_at = excluded.due_at, updated_at = excluded.updated_at
         WHERE automation_runs.status = 'active' AND automation_runs.due_at IS NULL`,
      ),
      due: db.prepare(
        `SELECT site_id, id FROM automation_runs
         WHERE status = 'active' AND due_at IS NOT NULL AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?)
         ORDER BY due_at LIMIT ?`,
      ),
      lease: db.prepare('UPDATE automation_runs SET lease_holder = ?, lease_until = ? WHERE site_id = ? AND id = ? RETURNING *'),
      claimOne: db.prepare(
        `UPDATE automation_runs SET lease_holder = ?, lease_until = ?
         WHERE site_id = ? AND id = ? AND status = 'active' AND (lease_until IS NULL OR lease_until < ?) RETURNING *`,
      ),
      // Along the due index; past the leased rows only, at most a batch per node.
      nextDue: db
        .prepare(
          `SELECT due_at FROM automation_runs WHERE status = 'active' AND due_at IS NOT NULL AND (lease_until IS NULL OR lease_until < ?)
           ORDER BY due_at LIMIT 1`,
        )
        .pluck(),
      update: db.prepare(
        `UPDATE automation_runs SET status = @status, position = @position, context = @context, due_at = @due_at,
           waiting_for = @waiting_for, attempts = @attempts, updated_at = @updated_at, lease_holder = NULL, lease_until = NULL
         WHERE site_id = @site_id AND id = @id AND lease_holder = @holder AND lease_until >= @now`,
      ),
      getRun: db.prepare('SELECT * FROM automation_runs WHERE site_id = ? AND id = ?'),
      waiting: db.prepare(
        `SELECT * FROM automation_runs WHERE site_id = ? AND profile_id = ? AND waiting_for = ? AND status = 'active' ORDER BY started_at, id`,
      ),
      replay: db.prepare(
        `UPDATE automation_runs SET status = @status, position = @position, context = @context, due_at = @due_at,
           waiting_for = @waiting_for, attempts = @attempts, updated_at = @updated_at, lease_holder = NULL, lease_until = NULL
         WHERE site_id = @site_id AND id = @id AND status = 'failed'`,
      ),
      recordSend: db.prepare(
        `INSERT INTO automation_sends (site_id, run_id, position, automation_id, profile_id, kind, sent_at)
         VALUES (@siteId, @runId, @position, @automationId, @profileId, @kind, @sentAt) ON CONFLICT DO NOTHING`,
      ),
      markOpened: db.prepare(
        'UPDATE automation_sends SET opened_at = coalesce(opened_at, ?) WHERE site_id = ? AND run_id = ? AND position = ?',
      ),
      markClicked: db.prepare(
        `UPDATE automation_sends SET opened_at = coalesce(opened_at, @at), clicked_at = coalesce(clicked_at, @at)
         WHERE site_id = @site AND run_id = @run AND position = @position`,
      ),
      countSends: db.prepare('SELECT COUNT(*) FROM automation_sends WHERE site_id = ? AND profile_id = ? AND sent_at >= ?').pluck(),
      sendCounts: db.prepare(
        `SELECT COUNT(DISTINCT run_id) AS sent,
           COUNT(DISTINCT CASE WHEN opened_at IS NOT NULL THEN run_id END) AS opened,
           COUNT(DISTINCT CASE WHEN clicked_at IS NOT NULL THEN run_id END) AS clicked
         FROM automation_sends WHERE site_id = ? AND automation_id = ?`,
      ),
      runCounts: db.prepare(
        `SELECT holdout, status, COUNT(*) AS runs FROM automation_runs
         WHERE site_id = ? AND automation_id = ? AND position <> 'watch' GROUP BY holdout, status ORDER BY holdout, status`,
      ),
      runStarts: db.prepare(
        `SELECT profile_id, started_at, holdout FROM automation_runs
         WHERE site_id = ? AND automation_id = ? AND position <> 'watch' ORDER BY started_at, id LIMIT ?`,
      ),
      cancelFor: db.prepare(
        `UPDATE automation_runs SET status = 'cancelled', due_at = NULL, waiting_for = NULL, lease_holder = NULL, lease_until = NULL, updated_at = ?
         WHERE site_id = ? AND profile_id = ? AND status = 'active'`,
      ),
    };
  }

  async saveAutomation(automation: AutomationRecord): Promise<void> {
    try {
      await this.write(() => this.sql.upsert.run(automationToParams(automation)));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError(`an automation named "${automation.name}" exists already`);
      }
      throw error;
    }
  }

  async getAutomation(siteId: string, id: string): Promise<AutomationRecord | null> {
    const row = this.sql.get.get(siteId, id) as AutomationRow | undefined;
    return row ? automationFromRow(row) : null;
  }

  async listAutomations(siteId: string): Promise<AutomationRecord[]> {
    return (this.sql.list.all(siteId) as AutomationRow[]).map(automationFromRow);
  }

  deleteAutomation(siteId: string, id: string): Promise<boolean> {
    return this.write(() => {
      const deleted = this.sql.delete.run(siteId, id).changes > 0;
      if (deleted) this.sql.cancelOf.run(Date.now(), siteId, id);
      return deleted;
    });
  }

  startRuns(runs: RunRecord[]): Promise<boolean[]> {
    return this.write(() => runs.map((run) => this.sql.start.run(runToParams(run)).changes > 0));
  }

  async armRuns(runs: RunRecord[]): Promise<void> {
    if (runs.length) await this.write(() => runs.forEach((run) => this.sql.arm.run(runToParams(run))));
  }

  claimDueRuns(now: number, holder: string, leaseMs: number, limit: number): Promise<RunRecord[]> {
    return this.write(() => {
      // The lease is on this process's clock, the one that also reads it back.
      const clock = Date.now();
      const due = this.sql.due.all(now, clock, limit) as Array<{ site_id: string; id: string }>;
      return due.map((key) => runFromRow(this.sql.lease.get(holder, clock + leaseMs, key.site_id, key.id) as RunRow));
    });
  }

  claimRun(siteId: string, id: string, holder: string, leaseMs: number): Promise<RunRecord | null> {
    return this.write(() => {
      const clock = Date.now();
      const row = this.sql.claimOne.get(holder, clock + leaseMs, siteId, id, clock) as RunRow | undefined;
      return row ? runFromRow(row) : null;
    });
  }

  async nextDueAt(): Promise<number | null> {
    return (this.sql.nextDue.get(Date.now()) as number | undefined) ?? null;
  }

  updateRun(run: RunRecord, holder: string): Promise<boolean> {
    return this.write(() => this.sql.update.run({ ...runToParams(run), holder, now: Date.now() }).changes > 0);
  }

  async getRun(siteId: string, id: string): Promise<RunRecord | null> {
    const row = this.sql.getRun.get(siteId, id) as RunRow | undefined;
    return row ? runFromRow(row) : null;
  }

  async listRuns(query: RunQuery): Promise<Page<RunRecord>> {
    const where = ['site_id = ?'];
    const params: unknown[] = [query.siteId];
    if (query.automationId) (where.push('automation_id = ?'), params.push(query.automationId));
    if (query.profileId) (where.push('profile_id = ?'), params.push(query.profileId));
    const after = query.cursor ? decodeCursorParts(query.cursor) : null;
    if (after && after.length === 2) (where.push('(started_at, id) < (?, ?)'), params.push(after[0], after[1]));
    const rows = this.sql.getRun.database
      .prepare(`SELECT * FROM automation_runs WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT ?`)
      .all(...params, query.limit + 1) as RunRow[];
    return pageOf(rows, query.limit, runFromRow, runCursor);
  }

  async runsWaitingFor(siteId: string, profileId: string, event: string): Promise<RunRecord[]> {
    return (this.sql.waiting.all(siteId, profileId, event) as RunRow[]).map(runFromRow);
  }

  async recordSend(send: SendRecord): Promise<void> {
    await this.write(() => this.sql.recordSend.run(send));
  }

  markSend(siteId: string, runId: string, position: string, what: 'opened' | 'clicked', at: number): Promise<boolean> {
    return this.write(
      () =>
        (what === 'opened'
          ? this.sql.markOpened.run(at, siteId, runId, position)
          : this.sql.markClicked.run({ at, site: siteId, run: runId, position })
        ).changes > 0,
    );
  }

  async countSends(siteId: string, profileId: string, since: number): Promise<number> {
    return this.sql.countSends.get(siteId, profileId, since) as number;
  }

  async sendCounts(siteId: string, automationId: string): Promise<SendCounts> {
    return this.sql.sendCounts.get(siteId, automationId) as SendCounts;
  }

  async runCounts(siteId: string, automationId: string): Promise<RunCount[]> {
    const rows = this.sql.runCounts.all(siteId, automationId) as Array<{ holdout: number; status: RunCount['status']; runs: number }>;
    return rows.map((r) => ({ holdout: r.holdout === 1, status: r.status, runs: r.runs }));
  }

  async runStarts(siteId: string, automationId: string, limit: number) {
    const rows = this.sql.runStarts.all(siteId, automationId, limit) as Array<{ profile_id: string; started_at: number; holdout: number }>;
    return rows.map((r) => ({ profileId: r.profile_id, startedAt: r.started_at, holdout: r.holdout === 1 }));
  }

  replayRun(run: RunRecord): Promise<boolean> {
    return this.write(() => this.sql.replay.run(runToParams(run)).changes > 0);
  }

  cancelRuns(siteId: string, profileId: string): Promise<number> {
    return this.write(() => this.sql.cancelFor.run(Date.now(), siteId, profileId).changes);
  }
}
