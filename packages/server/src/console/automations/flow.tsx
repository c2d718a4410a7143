import type { AutomationDefinition, PropertyCondition, Step } from '../../automations/definition.js';
import { builderSchema, describeRule } from '../segments/schema.js';
import { Badge, type Tone } from '../ui/components.js';
import { plural, truncate, valueText } from '../ui/format.js';

/**
 * Automations in words: the trigger in one line for lists, and the steps as a vertical flow of
 * cards with the branches of `waitFor` and `if` indented beneath their step. The flow is drawn
 * from whatever the steps' JSON holds, valid or not, so each card guards what it reads.
 */

/** Names of the site's segments and offers, for the words about the ids a definition holds. */
export interface Names {
  segments: Map<string, string>;
  offers: Map<string, string>;
}

const FIELD_LABELS = new Map<string, string>(builderSchema().fields.map((f) => [f.key, f.label]));

/** "Days since the last order" for `daysSinceLastOrder`. */
export const attributeLabel = (attribute: string) => FIELD_LABELS.get(`computed.${attribute}`) ?? attribute;

const UNITS = { s: 'second', m: 'minute', h: 'hour', d: 'day' } as const;

/** "1 hour" for `1h`; the text itself when it is not a duration. */
export function durationWords(text: unknown): string {
  const match = typeof text === 'string' ? /^(\d{1,6})(s|m|h|d)$/.exec(text) : null;
  return match ? plural(Number(match[1]), UNITS[match[2] as keyof typeof UNITS]) : valueText(text, 40);
}

const OPS: Record<string, string> = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', contains: 'contains', in: 'is one of', exists: 'is set' };

function whereWords(where: Record<string, PropertyCondition>): string {
  return Object.entries(where)
    .map(([property, c]) => {
      if (c === null || typeof c !== 'object') return `${property} = ${JSON.stringify(c)}`;
      if (c.op === 'exists') return `${property} ${c.value === false ? 'is not set' : 'is set'}`;
      return `${property} ${OPS[c.op] ?? c.op} ${JSON.stringify(c.value)}`;
    })
    .join(', ');
}

/** The trigger in one line: "Event: Product Added", "Enters segment Buyers", "First identify". */
export function triggerWords(trigger: AutomationDefinition['trigger'], names: Names): string {
  if ('event' in trigger) return `Event: ${trigger.event}${trigger.where && Object.keys(trigger.where).length ? ` where ${whereWords(trigger.where)}` : ''}`;
  if ('segmentEntered' in trigger) return `Enters segment ${names.segments.get(trigger.segmentEntered) ?? trigger.segmentEntered}`;
  if ('segmentLeft' in trigger) return `Leaves segment ${names.segments.get(trigger.segmentLeft) ?? trigger.segmentLeft}`;
  if ('attribute' in trigger) return `${attributeLabel(trigger.attribute)} reaches ${trigger.reaches}`;
  return 'First identify';
}

/** Every step, through every branch: what the definition's limit counts. */
export function countSteps(steps: Step[]): number {
  return steps.reduce((n, s) => n + 1 + ('then' in s ? countSteps(s.then) + countSteps(s.else) : 0), 0);
}

interface StepView {
  kind: string;
  tone: Tone;
  title: string;
  detail?: string;
  /** The branches' names, when the step has them. */
  branches?: { then: string; else: string };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown, max = 120) => truncate(typeof v === 'string' ? v : valueText(v, max), max);

/** What one step does, in words, from whatever it holds. */
export function stepView(step: unknown, names: Names): StepView {
  if (!isObject(step)) return { kind: 'Not a step', tone: 'red', title: text(step) };
  if ('wait' in step) return { kind: 'Wait', tone: 'gray', title: `Wait ${durationWords(step.wait)}` };
  if ('waitFor' in step) {
    const w = isObject(step.waitFor) ? step.waitFor : {};
    const within = durationWords(w.within);
    return {
      kind: 'Wait for',
      tone: 'blue',
      title: `Wait up to ${within} for “${text(w.event, 80)}”`,
      branches: { then: 'When it comes', else: `If it has not come within ${within}` },
    };
  }
  if ('if' in step) return { kind: 'If', tone: 'violet', title: `If ${truncate(describeRule(step.if) || text(step.if), 200)}`, branches: { then: 'Yes', else: 'No' } };
  const a = (key: string) => (isObject(step[key]) ? (step[key] as Record<string, unknown>) : {});
  if ('email' in step) return { kind: 'Email', tone: 'green', title: `Email “${text(a('email').subject, 100)}”`, detail: text(a('email').text, 160) };
  // The secret stays in the JSON: the flow may be looked at over a shoulder.
  if ('webhook' in step) return { kind: 'Webhook', tone: 'amber', title: `Webhook to ${text(a('webhook').url, 100)}` };
  if ('coupon' in step) return { kind: 'Coupon', tone: 'green', title: `Give a coupon code${a('coupon').prefix ? ` starting ${text(a('coupon').prefix, 12)}` : ''}`, detail: 'in the trait coupon' };
  if ('setTrait' in step) {
    const traits = Object.entries(a('setTrait')).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
    return { kind: 'Set traits', tone: 'gray', title: `Set ${truncate(traits.join(', '), 160)}` };
  }
  if ('tag' in step) {
    const t = a('tag');
    return { kind: 'Tag', tone: 'gray', title: 'remove' in t ? `Remove the tag ${text(t.remove, 64)}` : `Add the tag ${text(t.add, 64)}` };
  }
  if ('offer' in step) {
    const o = a('offer');
    const name = typeof o.id === 'string' ? (names.offers.get(o.id) ?? o.id) : text(o.id);
    return { kind: 'Offer', tone: 'violet', title: `Show the offer ${name} for ${typeof o.days === 'number' ? plural(o.days, 'day') : text(o.days, 20)}` };
  }
  return { kind: 'Not a step', tone: 'red', title: text(step) };
}

/** A problem of the definition (`steps[1].else[0].webhook.url`) that the flow marks. */
export interface PathError {
  field?: string;
  message?: string;
}

/** The errors about the step at `path` itself, not about the steps of its branches. */
function errorsAt(errors: PathError[], path: string): PathError[] {
  return errors.filter((e) => {
    if (!e.field || !e.field.startsWith(path)) return false;
    const rest = e.field.slice(path.length);
    return rest === '' || (rest.startsWith('.') && !/^\.(then|else)\[/.test(rest));
  });
}

function StepList(props: { steps: unknown[]; path: string; position: string; names: Names; errors: PathError[] }) {
  return (
    <ol class="flow">
      {props.steps.map((step, i) => {
        const path = `${props.path}[${i}]`;
        const position = props.position ? `${props.position}/${i}` : String(i);
        const view = stepView(step, props.names);
        const errors = errorsAt(props.errors, path);
        const branch = (name: 'then' | 'else', label: string) => {
          const list = isObject(step) ? step[name] : undefined;
          return (
            <div class="flow-branch">
              <div class="flow-branch-label">{label}</div>
              {Array.isArray(list) && list.length ? (
                <StepList steps={list} path={`${path}.${name}`} position={`${position}/${name}`} names={props.names} errors={props.errors} />
              ) : (
                <p class="muted small">Nothing: on to the next step.</p>
              )}
            </div>
          );
        };
        return (
          <li class="flow-step">
            <div class={errors.length ? 'flow-card flow-card-invalid' : 'flow-card'}>
              <div class="flow-kind">
                <Badge tone={view.tone}>{view.kind}</Badge>
                <code class="flow-position" title={`Position ${position} (${path} in the JSON)`}>
                  {position}
                </code>
              </div>
              <div class="flow-title">{view.title}</div>
              {view.detail ? <div class="sub">{view.detail}</div> : null}
              {errors.length ? (
                <ul class="flow-errors">
                  {errors.map((e) => (
                    <li>
                      <code>{e.field}</code>: {e.message}
                    </li>
                  ))}
                </ul>
              ) : null}
            </div>
            {view.branches ? (
              <div class="flow-branches">
                {branch('then', view.branches.then)}
                {branch('else', view.branches.else)}
              </div>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}

/** The steps as a flow of cards; each card names its position, the runs' notation (`1/else/0`). */
export function Flow(props: { steps: unknown[]; names: Names; errors?: PathError[] }) {
  return (
    <div class="flow-wrap">
      <div class="flow-start">Trigger</div>
      <StepList steps={props.steps} path="steps" position="" names={props.names} errors={props.errors ?? []} />
      <div class="flow-end">Done</div>
    </div>
  );
}
