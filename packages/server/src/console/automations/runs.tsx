import type { AppContext } from '../../app-context.js';
import { isRun, runJson } from '../../automations/admin.js';
import type { AutomationDefinition, Step } from '../../automations/definition.js';
import { stepAt } from '../../automations/position.js';
import type { ProfileRecord } from '../../profiles/types.js';
import type { AutomationRecord, RunRecord, RunStatus } from '../../store/automations.js';
import { Badge, PostButton, Time, type Tone } from '../ui/components.js';
import { dateTime, num, personName, truncate, valueText } from '../ui/format.js';
import type { Here } from '../ui/here.js';
import { stepView, type Names } from './flow.js';

export const RUN_STATUS_LABELS: Record<RunStatus, string> = { active: 'Active', done: 'Done', exited: 'Exited', cancelled: 'Cancelled', failed: 'Failed' };
const RUN_TONES: Record<RunStatus, Tone> = { active: 'blue', done: 'green', exited: 'gray', cancelled: 'gray', failed: 'red' };

export const RunStatusBadge = (props: { status: RunStatus }) => <Badge tone={RUN_TONES[props.status]}>{RUN_STATUS_LABELS[props.status]}</Badge>;

/** The step a run is at, in words, beside its position; the steps may have changed since. */
export function PositionCell(props: { steps: Step[]; position: string; names: Names }) {
  const step = stepAt(props.steps, props.position);
  return (
    <>
      <code>{props.position}</code>
      <div class="sub">{step ? stepView(step, props.names).title : 'not in the steps as they are now'}</div>
    </>
  );
}

const Due = (props: { at: number | null; timeZone?: string }) =>
  props.at === null ? (
    <span class="muted">—</span>
  ) : (
    <time datetime={new Date(props.at).toISOString()} title={dateTime(props.at, props.timeZone)}>
      {dateTime(props.at, props.timeZone)}
    </time>
  );

/** A dead letter's reason as the runner wrote it: where, what, how many attempts, since when. */
interface RunError {
  position?: unknown;
  message?: unknown;
  attempts?: unknown;
  since?: unknown;
}

/**
 * Runs of one automation. In the dead letters (`failed`), each with its error and a Replay
 * button; `profiles` names the people, absent for an erased one.
 */
export function RunTable(props: {
  here: Here;
  automation: AutomationRecord;
  runs: RunRecord[];
  profiles: Map<string, ProfileRecord | null>;
  names: Names;
  deadLetters: boolean;
}) {
  const { here, automation } = props;
  const steps = (automation.definition as unknown as AutomationDefinition).steps;
  const timeZone = here.site?.settings.timeZone;
  return (
    <table class="table runs">
      <thead>
        <tr>
          <th scope="col">Person</th>
          <th scope="col">Status</th>
          <th scope="col">Position</th>
          {props.deadLetters ? (
            <>
              <th scope="col">Error</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Failing since</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </>
          ) : (
            <>
              <th scope="col">Due at</th>
              <th scope="col">Waiting for</th>
              <th scope="col" class="num">
                Attempts
              </th>
            </>
          )}
          <th scope="col">Started</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((r) => {
          const profile = props.profiles.get(r.profileId);
          const error = (runJson(r).error ?? {}) as RunError;
          return (
            <tr>
              <td>
                <a class="strong" href={`/console/customers/${r.profileId}`}>
                  {profile ? personName(profile) : 'Erased customer'}
                </a>
                <div class="sub">{profile?.userId ?? profile?.email ?? r.profileId}</div>
              </td>
              <td>
                <RunStatusBadge status={r.status} />
                {r.holdout ? (
                  <div>
                    <Badge tone="violet" title="In the holdout: goes through the steps, but nothing is sent">
                      Holdout
                    </Badge>
                  </div>
                ) : null}
              </td>
              <td>
                <PositionCell steps={steps} position={r.position} names={props.names} />
              </td>
              {props.deadLetters ? (
                <>
                  <td class="run-error">
                    {truncate(valueText(error.message ?? 'no reason recorded', 400), 400)}
                    {error.position !== undefined && error.position !== r.position ? <div class="sub">{`at ${valueText(error.position, 40)}`}</div> : null}
                  </td>
                  <td class="num">{typeof error.attempts === 'number' ? num(error.attempts) : num(r.attempts)}</td>
                  <td class="nowrap">
                    {typeof error.since === 'number' ? <Time at={error.since} now={here.now} /> : <Time at={r.updatedAt} now={here.now} />}
                  </td>
                  <td class="row-actions">
                    {r.status === 'failed' ? (
                      <PostButton here={here} action={`/console/automations/${automation.id}/runs/${r.id}/replay`} label="Replay" class="button button-small" />
                    ) : null}
                  </td>
                </>
              ) : (
                <>
                  <td class="nowrap">
                    <Due at={r.dueAt} timeZone={timeZone} />
                  </td>
                  <td>{r.waitingFor ?? <span class="muted">—</span>}</td>
                  <td class="num">{num(r.attempts)}</td>
                </>
              )}
              <td class="nowrap">
                <Time at={r.startedAt} now={here.now} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** A person's runs on their 360-degree page: which automation, where they are, what comes next. */
export function PersonRuns(props: { here: Here; runs: RunRecord[]; automations: AutomationRecord[]; names: Names }) {
  const runs = props.runs.filter(isRun);
  if (!runs.length) return <p class="muted">In no automation yet.</p>;
  const byId = new Map(props.automations.map((a) => [a.id, a]));
  const timeZone = props.here.site?.settings.timeZone;
  return (
    <table class="table compact person-runs">
      <thead>
        <tr>
          <th scope="col">Automation</th>
          <th scope="col">Status</th>
          <th scope="col">Position</th>
          <th scope="col">Due at</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => {
          const automation = byId.get(r.automationId);
          return (
            <tr>
              <td>
                {automation ? (
                  <a href={`/console/automations/${automation.id}/runs?profile=${encodeURIComponent(r.profileId)}`}>{automation.name}</a>
                ) : (
                  <span class="muted">a deleted automation</span>
                )}
                <div class="sub">
                  {'started '}
                  <Time at={r.startedAt} now={props.here.now} />
                </div>
              </td>
              <td>
                <RunStatusBadge status={r.status} />
                {r.holdout ? <div class="sub">holdout</div> : null}
              </td>
              <td>
                {automation ? (
                  <PositionCell steps={(automation.definition as unknown as AutomationDefinition).steps} position={r.position} names={props.names} />
                ) : (
                  <code>{r.position}</code>
                )}
              </td>
              <td class="nowrap">
                <Due at={r.dueAt} timeZone={timeZone} />
                {r.waitingFor ? <div class="sub">{`or when ${r.waitingFor} comes`}</div> : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
