import type pg from 'pg';
import type { AutomationRecord, AutomationStore, RunCount, RunQuery, RunRecord, SendCounts, SendRecord } from '../automations.js';
import { decodeCursorParts } from '../cursor.js';
import { ConflictError } from '../store.js';
import type { Page } from '../types.js';
import { automationFromRow, automationToParams, pageOf, RUN_COLUMNS, runCursor, runFromRow, runToParams, type AutomationRow, type RunRow } from '../rows.js';
import { isState } from './errors.js';
import { NOW_MS } from './rows.js';

type Query = <R extends pg.QueryResultRow = any>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;


const AUTOMATION_COLUMNS = ['site_id', 'id', 'name', 'status', 'definition', 'created_at', 'updated_at'] as const;

/**
 * Automations and their runs (migration 6) on PostgreSQL, shared by every node. A claim takes
 * due runs with `FOR UPDATE SKIP LOCKED`, so that nodes claiming at once take different runs
 * without waiting on each other, and leases them on the database's clock; a step's outcome is
 * written only by the holder of a lease that has not run out (a fence against a node that
 * stalled past its lease while another took the run over).
 */
export class PostgresAutomations implements AutomationStore {
  constructor(
    private readonly query: Query,
    private readonly transaction: <T>(work: (q: Query) => Promise<T>) => Promise<T>,
  ) {}

  async saveAutomation(automation: AutomationRecord): Promise<void> {
    const params = automationToParams(automation);
    try {
      await this.query(
        `INSERT INTO automations (${AUTOMATION_COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (site_id, id) DO UPDATE SET name = excluded.name, status = excluded.status,
           definition = excluded.definition, updated_at = excluded.updated_at`,
        AUTOMATION_COLUMNS.map((c) => params[c]),
      );
    } catch (error) {
      if (isState(error, '23505', 'automations_name')) throw new ConflictError(`an automation named "${automation.name}" exists already`);
      throw error;
    }
  }

  async getAutomation(siteId: string, id: string): Promise<AutomationRecord | null> {
    const { rows } = await this.query<AutomationRow>('SELECT * FROM automations WHERE site_id = $1 AND id = $2', [siteId, id]);
    return rows[0] ? automationFromRow(rows[0]) : null;
  }

  async listAutomations(siteId: string): Promise<AutomationRecord[]> {
    return (await this.query<AutomationRow>('SELECT * FROM automations WHERE site_id = $1 ORDER BY name', [siteId])).rows.map(automationFromRow);
  }

  deleteAutomation(siteId: string, id: string): Promise<boolean> {
    return this.transaction(async (q) => {
      const deleted = ((await q('DELETE FROM automations WHERE site_id = $1 AND id = $2', [siteId, id])).rowCount ?? 0) > 0;
      if (deleted) {
        await q(
          `UPDATE automation_runs SET status = 'cancelled', due_at = NULL, waiting_for = NULL, lease_holder = NULL, lease_until = NULL, updated_at = ${NOW_MS}
           WHERE site_id = $1 AND automation_id = $2 AND status = 'active'`,
          [siteId, id],
        );
      }
      return deleted;
    });
  }

  async startRuns(runs: RunRecord[]): Promise<boolean[]> {
    if (runs.length === 0) return [];
    // One statement for the whole call; the ids of the rows inserted say which runs started.
    const { rows } = await this.insertRuns(runs, 'DO NOTHING');
    const started = new Set(rows.map((r) => r.id));
    return runs.map((run) => started.has(run.id));
  }

  async armRuns(runs: RunRecord[]): Promise<void> {
    // One statement may not touch a row twice: the last run of a key wins.
    const byKey = new Map(runs.map((run) => [`${run.siteId}\u0000${run.automationId}\u0000${run.triggerKey}`, run]));
    if (byKey.size === 0) return;
    await this.insertRuns(
      [...byKey.values()],
      `DO UPDATE SET due_at = excluded.due_at, updated_at = excluded.updated_at
       WHERE automation_runs.status = 'active' AND automation_runs.due_at IS NULL`,
    );
  }

  private insertRuns(runs: RunRecord[], onConflict: string) {
    const columns = runs.map(runToParams);
    const types = { holdout: 'smallint', due_at: 'bigint', attempts: 'integer', started_at: 'bigint', updated_at: 'bigint' } as Record<string, string>;
    const arrays = RUN_COLUMNS.map((c, i) => `$${i + 1}::${types[c] ?? 'text'}[]`);
    return this.query<{ id: string }>(
      `INSERT INTO automation_runs (${RUN_COLUMNS.join(', ')})
       SELECT * FROM unnest(${arrays.join(', ')})
       ON CONFLICT (site_id, automation_id, trigger_key) ${onConflict}
       RETURNING site_id, id`,
      RUN_COLUMNS.map((c) => columns.map((row) => row[c])),
    );
  }

  async claimDueRuns(now: number, holder: string, leaseMs: number, limit: number): Promise<RunRecord[]> {
    const { rows } = await this.query<RunRow>(
      `WITH due AS (
         SELECT site_id, id FROM automation_runs
         WHERE status = 'active' AND due_at IS NOT NULL AND due_at <= $1 AND (lease_until IS NULL OR lease_until < ${NOW_MS})
         ORDER BY due_at LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE automation_runs r SET lease_holder = $3, lease_until = ${NOW_MS} + $4::bigint
       FROM due WHERE r.site_id = due.site_id AND r.id = due.id
       RETURNING r.*`,
      [now, limit, holder, leaseMs],
    );
    return rows.map(runFromRow).sort((a, b) => a.dueAt! - b.dueAt!);
  }

  async claimRun(siteId: string, id: string, holder: string, leaseMs: number): Promise<RunRecord | null> {
    const { rows } = await this.query<RunRow>(
      `UPDATE automation_runs SET lease_holder = $3, lease_until = ${NOW_MS} + $4::bigint
       WHERE site_id = $1 AND id = $2 AND status = 'active' AND (lease_until IS NULL OR lease_until < ${NOW_MS})
       RETURNING *`,
      [siteId, id, holder, leaseMs],
    );
    return rows[0] ? runFromRow(rows[0]) : null;
  }

  async nextDueAt(): Promise<number | null> {
    // Along the due index; past the leased rows only, at most a batch per node.
    const { rows } = await this.query<{ next: string }>(
      `SELECT due_at AS next FROM automation_runs
       WHERE status = 'active' AND due_at IS NOT NULL AND (lease_until IS NULL OR lease_until < ${NOW_MS})
       ORDER BY due_at LIMIT 1`,
    );
    return rows[0] ? Number(rows[0].next) : null;
  }

  async updateRun(run: RunRecord, holder: string): Promise<boolean> {
    const p = runToParams(run);
    const { rowCount } = await this.query(
      `UPDATE automation_runs SET status = $3, position = $4, context = $5, due_at = $6, waiting_for = $7, attempts = $8,
         updated_at = $9, lease_holder = NULL, lease_until = NULL
       WHERE site_id = $1 AND id = $2 AND lease_holder = $10 AND lease_until >= ${NOW_MS}`,
      [p.site_id, p.id, p.status, p.position, p.context, p.due_at, p.waiting_for, p.attempts, p.updated_at, holder],
    );
    return (rowCount ?? 0) > 0;
  }

  async getRun(siteId: string, id: string): Promise<RunRecord | null> {
    const { rows } = await this.query<RunRow>('SELECT * FROM automation_runs WHERE site_id = $1 AND id = $2', [siteId, id]);
    return rows[0] ? runFromRow(rows[0]) : null;
  }

  async listRuns(query: RunQuery): Promise<Page<RunRecord>> {
    const params: unknown[] = [query.siteId];
    const where = ['site_id = $1'];
    const add = (sql: (n: number) => string, value: unknown) => (params.push(value), where.push(sql(params.length)));
    if (query.automationId) add((n) => `automation_id = $${n}`, query.automationId);
    if (query.profileId) add((n) => `profile_id = $${n}`, query.profileId);
    const after = query.cursor ? decodeCursorParts(query.cursor) : null;
    if (after && after.length === 2) {
      params.push(after[0], after[1]);
      where.push(`(started_at, id) < ($${params.length - 1}::bigint, $${params.length}::text)`);
    }
    params.push(query.limit + 1);
    const { rows } = await this.query<RunRow>(
      `SELECT * FROM automation_runs WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return pageOf(rows, query.limit, runFromRow, runCursor);
  }

  async runsWaitingFor(siteId: string, profileId: string, event: string): Promise<RunRecord[]> {
    const { rows } = await this.query<RunRow>(
      `SELECT * FROM automation_runs WHERE site_id = $1 AND profile_id = $2 AND waiting_for = $3 AND status = 'active' ORDER BY started_at, id`,
      [siteId, profileId, event],
    );
    return rows.map(runFromRow);
  }

  async recordSend(send: SendRecord): Promise<void> {
    await this.query(
      `INSERT INTO automation_sends (site_id, run_id, position, automation_id, profile_id, kind, sent_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [send.siteId, send.runId, send.position, send.automationId, send.profileId, send.kind, send.sentAt],
    );
  }

  async markSend(siteId: string, runId: string, position: string, what: 'opened' | 'clicked', at: number): Promise<boolean> {
    const clicked = what === 'clicked' ? ', clicked_at = coalesce(clicked_at, $4)' : '';
    const { rowCount } = await this.query(
      `UPDATE automation_sends SET opened_at = coalesce(opened_at, $4)${clicked} WHERE site_id = $1 AND run_id = $2 AND position = $3`,
      [siteId, runId, position, at],
    );
    return (rowCount ?? 0) > 0;
  }

  async countSends(siteId: string, profileId: string, since: number): Promise<number> {
    const { rows } = await this.query<{ n: string }>(
      'SELECT count(*) AS n FROM automation_sends WHERE site_id = $1 AND profile_id = $2 AND sent_at >= $3',
      [siteId, profileId, since],
    );
    return Number(rows[0].n);
  }

  async sendCounts(siteId: string, automationId: string): Promise<SendCounts> {
    const { rows } = await this.query<{ sent: string; opened: string; clicked: string }>(
      `SELECT count(DISTINCT run_id) AS sent,
         count(DISTINCT run_id) FILTER (WHERE opened_at IS NOT NULL) AS opened,
         count(DISTINCT run_id) FILTER (WHERE clicked_at IS NOT NULL) AS clicked
       FROM automation_sends WHERE site_id = $1 AND automation_id = $2`,
      [siteId, automationId],
    );
    return { sent: Number(rows[0].sent), opened: Number(rows[0].opened), clicked: Number(rows[0].clicked) };
  }

  async runCounts(siteId: string, automationId: string): Promise<RunCount[]> {
    const { rows } = await this.query<{ holdout: number; status: RunCount['status']; runs: string }>(
      `SELECT holdout, status, count(*) AS runs FROM automation_runs
       WHERE site_id = $1 AND automation_id = $2 AND position <> 'watch' GROUP BY holdout, status ORDER BY holdout, status`,
      [siteId, automationId],
    );
    return rows.map((r) => ({ holdout: Number(r.holdout) === 1, status: r.status, runs: Number(r.runs) }));
  }

  async runStarts(siteId: string, automationId: string, limit: number) {
    const { rows } = await this.query<{ profile_id: string; started_at: string; holdout: number }>(
      `SELECT profile_id, started_at, holdout FROM automation_runs
       WHERE site_id = $1 AND automation_id = $2 AND position <> 'watch' ORDER BY started_at, id LIMIT $3`,
      [siteId, automationId, limit],
    );
    return rows.map((r) => ({ profileId: r.profile_id, startedAt: Number(r.started_at), holdout: Number(r.holdout) === 1 }));
  }

  async replayRun(run: RunRecord): Promise<boolean> {
    const p = runToParams(run);
    const { rowCount } = await this.query(
      `UPDATE automation_runs SET status = $3, position = $4, context = $5, due_at = $6, waiting_for = $7, attempts = $8, updated_at = $9,
         lease_holder = NULL, lease_until = NULL
       WHERE site_id = $1 AND id = $2 AND status = 'failed'`,
      [p.site_id, p.id, p.status, p.position, p.context, p.due_at, p.waiting_for, p.attempts, p.updated_at],
    );
    return (rowCount ?? 0) > 0;
  }

  async cancelRuns(siteId: string, profileId: string): Promise<number> {
    const { rowCount } = await this.query(
      `UPDATE automation_runs SET status = 'cancelled', due_at = NULL, waiting_for = NULL, lease_holder = NULL, lease_until = NULL, updated_at = ${NOW_MS}
       WHERE site_id = $1 AND profile_id = $2 AND status = 'active'`,
      [siteId, profileId],
    );
    return rowCount ?? 0;
  }
}
