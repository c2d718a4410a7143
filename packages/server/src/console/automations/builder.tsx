import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { AppContext } from '../../app-context.js';
import { AUTOMATION_STATUSES } from '../../automations/admin.js';
import type { AutomationDefinition } from '../../automations/definition.js';
import { firstEmail } from '../../automations/test-send.js';
import { newWebhookSecret } from '../../automations/webhook.js';
import type { AutomationRecord } from '../../store/automations.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { Card, CsrfField, Problems, type Problem } from '../ui/components.js';
import type { Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { attributeLabel, Flow, type Names, type PathError } from './flow.js';
import { inputOf, TRIGGER_ATTRIBUTES, TRIGGER_KINDS, TRIGGER_LABELS, type AutomationValues } from './form.js';

/** What the builder page shows besides the form's values. */
export interface BuilderState {
  automation?: AutomationRecord;
  /** The refusal of the last save, with the API's paths. */
  problem?: Problem;
  notice?: string | null;
  /** The test send's address and its refusal, when one was just tried. */
  test?: { to: string; problem?: string };
}

export const STATUS_LABELS: Record<string, string> = { draft: 'Draft', active: 'Active', paused: 'Paused' };

/** The site's segments and offers by id, for the words of a trigger or a step. */
export async function namesOf(ctx: AppContext, siteId: string) {
  const [segments, offers] = await Promise.all([ctx.store.listSegments(siteId), ctx.store.listOffers(siteId)]);
  const names: Names = { segments: new Map(segments.map((s) => [s.id, s.name])), offers: new Map(offers.map((o) => [o.id, o.name])) };
  return { segments, names };
}

/**
 * Each problem with its path: the API's details, or the one field its message starts with
 * (`name: …` of a name taken, which has no details).
 */
function pathErrors(problem: Problem | undefined): PathError[] {
  if (!problem) return [];
  if (problem.details?.length) return problem.details;
  const match = /^([A-Za-z0-9_.[\]$-]+): (.*)$/s.exec(problem.message);
  return match ? [{ field: match[1], message: match[2] }] : [];
}

/** The problems a path of which is about `input`, beside that input. */
function InputErrors(props: { errors: PathError[]; input: keyof AutomationValues }) {
  const mine = props.errors.filter((e) => inputOf(e.field) === props.input);
  if (!mine.length) return null;
  return (
    <ul class="input-errors" id={`${props.input}-errors`}>
      {mine.map((e) => (
        <li>
          <code>{e.field}</code>: {e.message}
        </li>
      ))}
    </ul>
  );
}

type FieldProps = { id: keyof AutomationValues; values: AutomationValues; errors: PathError[] };

const bad = (errors: PathError[], id: keyof AutomationValues) => errors.some((e) => inputOf(e.field) === id);

function Input(props: FieldProps & { type?: string; placeholder?: string; min?: number; max?: number; label?: string; list?: string }) {
  const invalid = bad(props.errors, props.id);
  return (
    <input
      id={props.id}
      name={props.id}
      type={props.type ?? 'text'}
      value={props.values[props.id]}
      placeholder={props.placeholder}
      min={props.min}
      max={props.max}
      list={props.list}
      aria-label={props.label}
      aria-invalid={invalid ? 'true' : undefined}
      aria-describedby={invalid ? `${props.id}-errors` : undefined}
      class={invalid ? 'invalid' : undefined}
    />
  );
}

function JsonArea(props: FieldProps & { rows: number; placeholder?: string }) {
  const invalid = bad(props.errors, props.id);
  return (
    <textarea
      id={props.id}
      name={props.id}
      rows={props.rows}
      spellcheck={false}
      placeholder={props.placeholder}
      aria-invalid={invalid ? 'true' : undefined}
      aria-describedby={invalid ? `${props.id}-errors` : undefined}
      class={invalid ? 'code invalid' : 'code'}
    >
      {props.values[props.id]}
    </textarea>
  );
}

/** A labelled row of the form grid with its problems under the input. */
function Row(props: { label: string; for: keyof AutomationValues; errors: PathError[]; hint?: Child; children?: Child }) {
  return (
    <>
      <label for={props.for}>{props.label}</label>
      <div>
        {props.children}
        <InputErrors errors={props.errors} input={props.for} />
        {props.hint ? <p class="hint">{props.hint}</p> : null}
      </div>
    </>
  );
}

const EVENT_NAMES = ['Product Added', 'Product Viewed', 'Checkout Started', 'Order Completed', 'Signed Up'];

/** The steps of the form when they are a JSON array, to draw as they are. */
function enteredSteps(text: string): unknown[] | null {
  try {
    const steps = JSON.parse(text);
    return Array.isArray(steps) ? steps : null;
  } catch {
    return null;
  }
}

/** The builder, new or of a saved automation: the form, its flow, and the test send. */
export async function builderPage(c: Context<ConsoleEnv>, ctx: AppContext, here: Here, values: AutomationValues, state: BuilderState = {}, status: 200 | 400 | 502 = 200) {
  const site = here.site as Site;
  const { automation, problem } = state;
  const { segments, names } = await namesOf(ctx, site.id);
  const errors = pathErrors(problem);
  const f = { values, errors };
  const self = automation ? `/console/automations/${automation.id}` : null;
  const saved = automation ? (automation.definition as unknown as AutomationDefinition) : null;
  const entered = enteredSteps(values.steps);
  const stepErrors = errors.filter((e) => inputOf(e.field) === 'steps');
  return page(
    c,
    {
      here,
      title: automation ? automation.name : 'New automation',
      section: 'automations',
      back: { href: here.to('/console/automations'), label: 'Automations' },
      notice: state.notice,
      actions: self ? (
        <>
          <a class="button" href={`${self}/report`}>
            Report
          </a>
          <a class="button" href={`${self}/runs`}>
            Runs
          </a>
          <a class="button" href={`${self}/runs?status=failed`}>
            Dead letters
          </a>
          <a class="button button-quiet" href={`${self}/delete`}>
            Delete…
          </a>
        </>
      ) : undefined,
      children: (
        <>
          <form method="post" action={self ?? '/console/automations'} class="stack" id="automation-form">
            <CsrfField here={here} />
            <input type="hidden" name="site" value={site.id} />
            <Problems problem={problem} />
            <Card title="About">
              <div class="form-grid">
                <Row label="Name" for="name" errors={errors}>
                  <Input id="name" {...f} placeholder="e.g. Cart reminder" />
                </Row>
                <Row label="Status" for="status" errors={errors} hint="Only active automations start runs. Pausing one holds its runs where they are until it is active again.">
                  <select id="status" name="status">
                    {AUTOMATION_STATUSES.map((s) => (
                      <option value={s} selected={values.status === s}>
                        {STATUS_LABELS[s]}
                      </option>
                    ))}
                  </select>
                </Row>
              </div>
            </Card>
            <Card title="When it starts" class="trigger-card">
              <div class="form-grid">
                <Row label="Trigger" for="triggerKind" errors={errors}>
                  <select id="triggerKind" name="triggerKind" class={bad(errors, 'triggerKind') ? 'invalid' : undefined}>
                    {TRIGGER_KINDS.map((k) => (
                      <option value={k} selected={values.triggerKind === k}>
                        {TRIGGER_LABELS[k]}
                      </option>
                    ))}
                  </select>
                </Row>
              </div>
              <div class="form-grid trigger-fields trigger-for-event">
                <h3 class="sub-head trigger-head">For an event</h3>
                <Row label="Event name" for="triggerEvent" errors={errors}>
                  <Input id="triggerEvent" {...f} list="event-names" placeholder="e.g. Product Added" />
                </Row>
                <Row
                  label="Only where"
                  for="triggerWhere"
                  errors={errors}
                  hint={
                    <>
                      {'Optional conditions on the event’s properties, as JSON: '}
                      <code>{'{"category": "laptops", "price": {"op": "gte", "value": 100}}'}</code>
                    </>
                  }
                >
                  <JsonArea id="triggerWhere" {...f} rows={3} placeholder="(every such event)" />
                </Row>
              </div>
              <div class="form-grid trigger-fields trigger-for-segment">
                <h3 class="sub-head trigger-head">For entering or leaving a segment</h3>
                <Row label="Segment" for="triggerSegment" errors={errors} hint={segments.length ? undefined : 'This site has no segment yet: build one first.'}>
                  <select id="triggerSegment" name="triggerSegment" class={bad(errors, 'triggerSegment') ? 'invalid' : undefined}>
                    <option value="" selected={values.triggerSegment === ''}>
                      Choose a segment
                    </option>
                    {segments.map((s) => (
                      <option value={s.id} selected={values.triggerSegment === s.id}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                </Row>
              </div>
              <div class="form-grid trigger-fields trigger-for-attribute">
                <h3 class="sub-head trigger-head">For a computed number</h3>
                <Row label="Number" for="triggerAttribute" errors={errors}>
                  <select id="triggerAttribute" name="triggerAttribute" class={bad(errors, 'triggerAttribute') ? 'invalid' : undefined}>
                    {TRIGGER_ATTRIBUTES.map((a) => (
                      <option value={a} selected={values.triggerAttribute === a}>
                        {`${attributeLabel(a)} (${a})`}
                      </option>
                    ))}
                  </select>
                </Row>
                <Row label="Reaches" for="triggerReaches" errors={errors} hint="A run starts when the number comes to this value: 90 days since the last order, say.">
                  <Input id="triggerReaches" type="number" {...f} />
                </Row>
              </div>
              <div class="form-grid trigger-fields trigger-for-identified">
                <h3 class="sub-head trigger-head">For a first identify</h3>
                <p class="hint trigger-note">A run starts when a visitor first gets a user id: at sign-up or their first login.</p>
              </div>
              <datalist id="event-names">
                {EVENT_NAMES.map((e) => (
                  <option value={e} />
                ))}
              </datalist>
            </Card>
            <div class="grid-2">
              <Card title="Who may enter">
                <div class="form-grid form-grid-stacked">
                  <label for="conditions">Conditions (a segment rule as JSON)</label>
                  <JsonArea id="conditions" {...f} rows={5} placeholder="(everyone)" />
                  <InputErrors errors={errors} input="conditions" />
                  <p class="hint">
                    {'Judged on the person when the trigger fires, as segment rules are: '}
                    <code>{'{"all": [{"field": "computed.orders", "op": "gte", "value": 1}]}'}</code>
                  </p>
                </div>
                <div class="form-grid">
                  <Row label="Holdout (%)" for="holdoutPercent" errors={errors} hint="Entrants kept out of every send, to measure what the automation changes.">
                    <Input id="holdoutPercent" type="number" {...f} min={0} max={90} />
                  </Row>
                  <label for="capRuns">Cap</label>
                  <div>
                    <div class="inline-inputs">
                      <Input id="capRuns" type="number" {...f} min={1} max={1000} label="Runs at most" />
                      <span>runs per person in</span>
                      <Input id="capDays" type="number" {...f} min={1} max={3650} label="Days" />
                      <span>days</span>
                    </div>
                    <InputErrors errors={errors} input="capRuns" />
                    <InputErrors errors={errors} input="capDays" />
                    <p class="hint">Empty: no cap.</p>
                  </div>
                  <label for="goalEvent">Goal</label>
                  <div>
                    <div class="inline-inputs">
                      <Input id="goalEvent" {...f} list="event-names" label="Goal event" placeholder="Order Completed" />
                      <span>within</span>
                      <Input id="goalDays" type="number" {...f} min={1} max={365} label="Goal days" />
                      <span>days of the start</span>
                    </div>
                    <InputErrors errors={errors} input="goalEvent" />
                    <InputErrors errors={errors} input="goalDays" />
                    <p class="hint">What the report counts as converted, against the holdout. Empty: an order within a week.</p>
                  </div>
                </div>
              </Card>
              <Card title="When it ends early">
                <div class="form-grid form-grid-stacked">
                  <label for="exitEvent">Exit event</label>
                  <Input id="exitEvent" {...f} list="event-names" placeholder="e.g. Order Completed" />
                  <InputErrors errors={errors} input="exitEvent" />
                  <label for="exitRule">Exit rule (a segment rule as JSON)</label>
                  <JsonArea id="exitRule" {...f} rows={5} placeholder="(none)" />
                  <InputErrors errors={errors} input="exitRule" />
                  <p class="hint">A run ends when the person sends the event, or when the rule holds before a step. Both may be empty.</p>
                </div>
              </Card>
            </div>
            <Card title="Steps">
              <div class="grid-2 steps-grid">
                <div>
                  <h3 class="sub-head">{entered ? 'The flow' : saved ? 'The flow as saved' : 'The flow'}</h3>
                  {entered ? (
                    <Flow steps={entered} names={names} errors={stepErrors} />
                  ) : saved ? (
                    <>
                      <p class="hint">The steps below are not a JSON array; this is the flow last saved.</p>
                      <Flow steps={saved.steps} names={names} />
                    </>
                  ) : (
                    <p class="muted">The steps below are not a JSON array yet.</p>
                  )}
                </div>
                <div class="form-grid form-grid-stacked">
                  <label for="steps">Steps as JSON</label>
                  <JsonArea id="steps" {...f} rows={22} />
                  <InputErrors errors={errors} input="steps" />
                  <div class="hint">
                    <p class="hint">
                      {'A list of steps, each one of: '}
                      <code>{'{"wait": "1h"}'}</code>, <code>{'{"waitFor": {"event": "Order Completed", "within": "1h"}, "then": [...], "else": [...]}'}</code>,{' '}
                      <code>{'{"if": rule, "then": [...], "else": [...]}'}</code>, <code>{'{"email": {"subject": "...", "text": "...", "html": "..."}}'}</code>,{' '}
                      <code>{'{"webhook": {"url": "https://...", "secret": "whsec_..."}}'}</code>, <code>{'{"coupon": {"prefix": "BACK"}}'}</code>,{' '}
                      <code>{'{"setTrait": {"winback": true}}'}</code>, <code>{'{"tag": {"add": "vip"}}'}</code>, <code>{'{"offer": {"id": "off_…", "days": 7}}'}</code>.
                      {' Durations: a whole number and s, m, h or d. Texts take placeholders such as '}
                      <code>{'{{traits.firstName|friend}}'}</code>.
                    </p>
                    <p class="hint">
                      {'A fresh webhook secret: '}
                      <code>{newWebhookSecret()}</code>
                    </p>
                  </div>
                </div>
              </div>
            </Card>
            <div class="actions-row">
              <button type="submit" class="button button-primary">
                {automation ? 'Save changes' : 'Save automation'}
              </button>
              <a class="button button-quiet" href={here.to('/console/automations')}>
                Cancel
              </a>
            </div>
          </form>
          {automation && saved ? <TestSend here={here} site={site} automation={automation} definition={saved} test={state.test} /> : null}
        </>
      ),
    },
    status,
  );
}

/** The test send of the saved automation's first email, to one address, now. */
function TestSend(props: { here: Here; site: Site; automation: AutomationRecord; definition: AutomationDefinition; test?: BuilderState['test'] }) {
  const email = firstEmail(props.definition.steps);
  const settings = props.site.settings;
  return (
    <Card title="Test send" id="test-send" class="test-send">
      {email ? (
        <>
          <p>{`Sends the first email of the saved steps, “${email.email.subject}”, once and now, over the mail server of ${props.site.name}. Placeholders take their fallbacks; nothing is recorded.`}</p>
          {!settings.smtpUrl || !settings.mailFrom ? (
            <p class="hint hint-risk">This site has no mail server yet (smtpUrl and mailFrom in its settings): the test send, and every email step, fails until it has one.</p>
          ) : null}
          {props.test?.problem ? (
            <div class="alert alert-error" role="alert">
              <strong>Not sent: </strong>
              {props.test.problem}
            </div>
          ) : null}
          <form method="post" action={`/console/automations/${props.automation.id}/test`} class="inline-inputs">
            <CsrfField here={props.here} />
            <label for="test-to" class="sr-only">
              Send to
            </label>
            <input
              id="test-to"
              name="to"
              type="email"
              required
              maxlength={254}
              value={props.test?.to ?? ''}
              placeholder="you@shop.example"
              class={props.test?.problem ? 'test-to invalid' : 'test-to'}
            />
            <button type="submit" class="button">
              Send a test
            </button>
          </form>
        </>
      ) : (
        <p class="muted">The saved steps send no email: there is nothing to test-send.</p>
      )}
    </Card>
  );
}
