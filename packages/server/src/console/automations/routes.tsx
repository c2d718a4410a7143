import { Hono, type Context } from 'hono';
import type { AppContext } from '../../app-context.js';
import { automationFrom, deleteAutomation, findAutomation, isRun, replayRun, RUN_STATUSES, runsPage, saveAutomation } from '../../automations/admin.js';
import type { AutomationDefinition } from '../../automations/definition.js';
import { automationReport } from '../../automations/report.js';
import { sendTestEmail } from '../../automations/test-send.js';
import { AutomationReportView } from './report.js';
import { HttpError } from '../../http/errors.js';
import { cursorParam, invalidField, requiredString } from '../../http/input.js';
import type { ProfileRecord } from '../../profiles/types.js';
import { siteOf } from '../../sites/routes.js';
import type { AutomationRecord, RunStatus } from '../../store/automations.js';
import { decodeCursorParts } from '../../store/cursor.js';
import type { ConsoleEnv } from '../env.js';
import { Badge, Card, Confirm, Empty, Pager, problemOf, type Tone } from '../ui/components.js';
import { ago, plural } from '../ui/format.js';
import { hereOf, withQuery, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { builderPage, namesOf, STATUS_LABELS, type BuilderState } from './builder.js';
import { countSteps, triggerWords } from './flow.js';
import { automationBody, automationValues, formValues, NEW_AUTOMATION, type AutomationValues } from './form.js';
import { RUN_STATUS_LABELS, RunTable } from './runs.js';

/** What an action did, shown on the page it leads to: fixed texts, so that no URL carries words. */
const DONE: Record<string, string> = {
  saved: 'The automation is saved. Runs that start from now on follow it.',
  deleted: 'The automation is deleted and its active runs cancelled.',
  'test-sent': 'The test email went out: look for it in that inbox.',
  replayed: 'The run is active again: its failed step is due now, with the same idempotency key.',
};
/** Refusals after a redirect, shown as errors. */
const REFUSED: Record<string, string> = {
  'not-failed': 'That run was not replayed: it is no longer failed (replayed already, perhaps from another tab).',
};

const STATUS_TONES: Record<string, Tone> = { draft: 'gray', active: 'green', paused: 'amber' };
/** Runs counted per automation in the list: the newest ones only, so that the list stays one read per automation. */
const COUNTED_RUNS = 100;
const RUNS_PAGE = 50;

const definitionOf = (a: AutomationRecord) => a.definition as unknown as AutomationDefinition;

/**
 * `/console/automations`: the list, the builder (new and edit, with its flow and test send),
 * delete, and each automation's runs with the dead letters and their replay.
 */
export function automationPages(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/automations', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Automations', section: 'automations', children: <NoSite /> });
    const [automations, { names }] = await Promise.all([ctx.store.automations.listAutomations(site.id), namesOf(ctx, site.id)]);
    const counts = await Promise.all(
      automations.map(async (a) => {
        const latest = await ctx.store.automations.listRuns({ siteId: site.id, automationId: a.id, limit: COUNTED_RUNS });
        const runs = latest.items.filter(isRun);
        return { active: runs.filter((r) => r.status === 'active').length, failed: runs.filter((r) => r.status === 'failed').length, more: latest.nextCursor !== null };
      }),
    );
    return page(c, {
      here,
      title: 'Automations',
      section: 'automations',
      notice: DONE[c.req.query('done') ?? ''] ?? null,
      actions: (
        <a class="button button-primary" href={here.to('/console/automations/new')}>
          New automation
        </a>
      ),
      children: (
        <Card>
          {automations.length ? (
            <>
              <table class="table automations">
                <thead>
                  <tr>
                    <th scope="col">Automation</th>
                    <th scope="col">Trigger</th>
                    <th scope="col" class="num">
                      Steps
                    </th>
                    <th scope="col">Status</th>
                    <th scope="col">Runs</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {automations.map((a, i) => {
                    const d = definitionOf(a);
                    const n = counts[i];
                    const self = `/console/automations/${a.id}`;
                    return (
                      <tr>
                        <td>
                          <a class="strong" href={self}>
                            {a.name}
                          </a>
                          <div class="sub">{`changed ${ago(a.updatedAt, here.now)}`}</div>
                        </td>
                        <td class="rule-words">{triggerWords(d.trigger, names)}</td>
                        <td class="num">{countSteps(d.steps)}</td>
                        <td>
                          <Badge tone={STATUS_TONES[a.status]}>{STATUS_LABELS[a.status]}</Badge>
                        </td>
                        <td class="nowrap" title={n.more ? `among the latest ${COUNTED_RUNS} runs` : undefined}>
                          <a href={`${self}/runs?status=active`}>{`${n.active}${n.more ? '+' : ''} active`}</a>
                          {' · '}
                          <a href={`${self}/runs?status=failed`} class={n.failed ? 'run-failed' : undefined}>{`${n.failed}${n.more ? '+' : ''} failed`}</a>
                        </td>
                        <td class="row-actions">
                          <a class="button button-small" href={self}>
                            Edit
                          </a>
                          <a class="button button-small" href={`${self}/report`}>
                            Report
                          </a>
                          <a class="button button-small" href={`${self}/runs`}>
                            Runs
                          </a>
                          <a class="button button-small" href={`${self}/runs?status=failed`}>
                            Dead letters
                          </a>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {counts.some((n) => n.more) ? <p class="hint">{`Runs are counted among the latest ${COUNTED_RUNS} of each automation (+: there are more).`}</p> : null}
            </>
          ) : (
            <Empty
              title="No automations yet"
              action={
                <a class="button button-primary" href={here.to('/console/automations/new')}>
                  Build the first automation
                </a>
              }
            >
              An automation follows up on what a customer does: an email an hour after a cart is left, a coupon 90 days after the last order, a webhook when someone joins a segment.
            </Empty>
          )}
        </Card>
      ),
    });
  });

  app.get('/automations/new', (c) => {
    const here = hereOf(c, ctx);
    if (!here.site) return page(c, { here, title: 'New automation', section: 'automations', children: <NoSite /> });
    return builderPage(c, ctx, here, NEW_AUTOMATION);
  });

  app.post('/automations', async (c) => {
    const form = await c.req.parseBody();
    const site = siteOf(ctx, form.site);
    const here = hereOf(c, ctx, site);
    const values = formValues(form);
    try {
      const automation = await automationFrom(ctx, site, automationBody(values), null);
      await saveAutomation(ctx, automation, null);
      return c.redirect(withQuery(`/console/automations/${automation.id}`, { done: 'saved' }), 303);
    } catch (error) {
      return refused(c, ctx, here, values, error);
    }
  });

  app.get('/automations/:id', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, automation.siteId);
    return builderPage(c, ctx, here, automationValues(automation), { automation, notice: DONE[c.req.query('done') ?? ''] ?? null });
  });

  app.post('/automations/:id', async (c) => {
    const current = await findAutomation(ctx, c.req.param('id'));
    const site = siteOf(ctx, current.siteId);
    const here = hereOf(c, ctx, site);
    const values = formValues(await c.req.parseBody());
    try {
      const automation = await automationFrom(ctx, site, automationBody(values), current);
      await saveAutomation(ctx, automation, current);
      return c.redirect(withQuery(`/console/automations/${automation.id}`, { done: 'saved' }), 303);
    } catch (error) {
      return refused(c, ctx, here, values, error, current);
    }
  });

  // Sends the saved automation's first email (branches included) to one address, now.
  app.post('/automations/:id/test', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const site = siteOf(ctx, automation.siteId);
    const here = hereOf(c, ctx, site);
    const form = await c.req.parseBody();
    const to = typeof form.to === 'string' ? form.to.trim() : '';
    try {
      // One address is checked where the mail is made: sendTestEmail refuses anything else.
      await sendTestEmail(ctx, site, automation, requiredString({ to }, 'to', { max: 254 }));
      return c.redirect(withQuery(`/console/automations/${automation.id}`, { done: 'test-sent' }) + '#test-send', 303);
    } catch (error) {
      // A mail server that refused is the 502 of sendTestEmail: its words help, so they are shown too.
      if (!(error instanceof HttpError) || (error.status >= 500 && error.status !== 502)) throw error;
      const state: BuilderState = { automation, test: { to, problem: error.message } };
      return builderPage(c, ctx, here, automationValues(automation), state, error.status === 502 ? 502 : 400);
    }
  });

  app.get('/automations/:id/delete', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, automation.siteId);
    const self = `/console/automations/${automation.id}`;
    return page(c, {
      here,
      title: `Delete ${automation.name}?`,
      section: 'automations',
      back: { href: self, label: 'Back to the automation' },
      children: (
        <Confirm here={here} action={`${self}/delete`} label="Delete the automation" cancel={self}>
          <p>
            The automation stops at once: no run starts any more, and the runs in progress are cancelled before their next step. It cannot be undone. To
            stop it for a while instead, set it to paused.
          </p>
        </Confirm>
      ),
    });
  });

  app.post('/automations/:id/delete', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    await deleteAutomation(ctx, automation);
    return c.redirect(withQuery('/console/automations', { site: automation.siteId, done: 'deleted' }), 303);
  });

  app.get('/automations/:id/report', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, automation.siteId);
    const report = await automationReport(ctx.store, automation, here.now);
    return page(c, {
      here,
      title: `Report: ${automation.name}`,
      section: 'automations',
      back: { href: `/console/automations/${automation.id}`, label: 'Back to the automation' },
      children: <AutomationReportView report={report} />,
    });
  });

  // Newest first, paged with the API's cursor; `status=failed` is the dead letters.
  app.get('/automations/:id/runs', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, automation.siteId);
    const statusParam = c.req.query('status') || undefined;
    if (statusParam !== undefined && !RUN_STATUSES.includes(statusParam as RunStatus)) throw invalidField('status', `must be one of ${RUN_STATUSES.join(', ')}`);
    const status = statusParam as RunStatus | undefined;
    const profileId = c.req.query('profile') || undefined;
    const cursor = cursorParam(c.req.query('cursor'), decodeCursorParts);
    const [{ runs, nextCursor }, { names }] = await Promise.all([runsPage(ctx, automation, { status, profileId, limit: RUNS_PAGE, cursor }), namesOf(ctx, automation.siteId)]);
    const people = [...new Set(runs.map((r) => r.profileId))];
    const found = await Promise.all(people.map((id) => ctx.store.getProfile(automation.siteId, id)));
    const profiles = new Map<string, ProfileRecord | null>(people.map((id, i) => [id, found[i]]));
    const self = `/console/automations/${automation.id}/runs`;
    const params = { status, profile: profileId };
    const deadLetters = status === 'failed';
    const done = c.req.query('done') ?? '';
    return page(c, {
      here,
      title: deadLetters ? `Dead letters: ${automation.name}` : `Runs: ${automation.name}`,
      section: 'automations',
      back: { href: `/console/automations/${automation.id}`, label: 'Back to the automation' },
      notice: DONE[done] ?? null,
      actions: (
        <a class="button" href={`/console/automations/${automation.id}`}>
          Edit the automation
        </a>
      ),
      children: (
        <>
          {REFUSED[done] ? (
            <div class="alert alert-error" role="alert">
              {REFUSED[done]}
            </div>
          ) : null}
          <form class="run-filter" method="get" action={self} data-autosubmit="">
            <label for="run-status">Status</label>
            <select id="run-status" name="status">
              <option value="" selected={!status}>
                All runs
              </option>
              {RUN_STATUSES.map((s) => (
                <option value={s} selected={status === s}>
                  {s === 'failed' ? 'Failed (dead letters)' : RUN_STATUS_LABELS[s]}
                </option>
              ))}
            </select>
            {profileId ? <input type="hidden" name="profile" value={profileId} /> : null}
            <button type="submit" class="button button-small js-hide">
              Show
            </button>
            {profileId ? (
              <span class="filter-note">
                {'Of one customer only. '}
                <a href={withQuery(self, { status })}>Show everyone</a>
              </span>
            ) : null}
          </form>
          <Card>
            {runs.length ? (
              <RunTable here={here} automation={automation} runs={runs} profiles={profiles} names={names} deadLetters={deadLetters} />
            ) : (
              <Empty title={deadLetters ? 'No dead letters' : status ? `No ${RUN_STATUS_LABELS[status].toLowerCase()} runs` : 'No runs yet'}>
                {deadLetters
                  ? 'Every step that was due went through, or is still being retried.'
                  : automation.status === 'active'
                    ? 'A run starts for each person the trigger fires for.'
                    : 'Runs start only while the automation is active.'}
              </Empty>
            )}
            <Pager first={cursor ? withQuery(self, params) : null} next={nextCursor ? withQuery(self, { ...params, cursor: nextCursor }) : null} nextLabel="Older runs" />
          </Card>
          {runs.length ? <p class="hint">{`${plural(runs.length, 'run')} on this page, newest first.`}</p> : null}
        </>
      ),
    });
  });

  app.post('/automations/:id/runs/:run/replay', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const back = `/console/automations/${automation.id}/runs`;
    try {
      await replayRun(ctx, automation, c.req.param('run'));
    } catch (error) {
      if (error instanceof HttpError && error.status === 409) return c.redirect(withQuery(back, { status: 'failed', done: 'not-failed' }), 303);
      throw error;
    }
    return c.redirect(withQuery(back, { status: 'failed', done: 'replayed' }), 303);
  });

  return app;
}

/** A refused save: the form again, with what was typed and each problem beside its input. */
function refused(c: Context<ConsoleEnv>, ctx: AppContext, here: Here, values: AutomationValues, error: unknown, automation?: AutomationRecord) {
  return builderPage(c, ctx, here, values, { automation, problem: problemOf(error) }, 400);
}
