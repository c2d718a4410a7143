import type { Child } from 'hono/jsx';
import { HttpError } from '../../http/errors.js';
import { ago, dateTime, safeHref, truncate } from './format.js';
import type { Here } from './here.js';

/** Small building blocks shared by the console's pages. */

export function Card(props: { title?: Child; actions?: Child; class?: string; id?: string; children?: Child }) {
  return (
    <section class={props.class ? `card ${props.class}` : 'card'} id={props.id}>
      {props.title || props.actions ? (
        <header class="card-head">
          {props.title ? <h2>{props.title}</h2> : null}
          {props.actions ? <div class="card-actions">{props.actions}</div> : null}
        </header>
      ) : null}
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: Child; hint?: Child }) {
  return (
    <div class="stat">
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.hint ? <div class="stat-hint">{props.hint}</div> : null}
    </div>
  );
}

/** What a page shows when there is nothing yet, and what to do about it. */
export function Empty(props: { title: string; children?: Child; action?: Child }) {
  return (
    <div class="empty">
      <svg class="empty-icon" viewBox="0 0 24 24" aria-hidden="true">
        <circle cx="12" cy="12" r="9" />
        <path d="M8 12h8M12 8v8" />
      </svg>
      <h3>{props.title}</h3>
      {props.children ? <p>{props.children}</p> : null}
      {props.action ? <div class="empty-action">{props.action}</div> : null}
    </div>
  );
}

export type Tone = 'green' | 'amber' | 'red' | 'blue' | 'gray' | 'violet';

export const Badge = (props: { tone?: Tone; title?: string; children?: Child }) => (
  <span class={`badge badge-${props.tone ?? 'gray'}`} title={props.title}>
    {props.children}
  </span>
);

/**
 * A URL a visitor sent: a link when it is http(s) (opened without referrer or opener, and not
 * followed by crawlers), plain text otherwise, so a `javascript:` URL is only ever shown.
 */
export function VisitorUrl(props: { url: unknown; max?: number; label?: string }) {
  if (typeof props.url !== 'string' || props.url === '') return <span class="muted">—</span>;
  const href = safeHref(props.url);
  const text = props.label ?? truncate(props.url, props.max ?? 80);
  if (!href) return <span class="raw-url" title={props.url}>{text}</span>;
  return (
    <a href={href} rel="noopener noreferrer nofollow" target="_blank" class="ext" title={props.url}>
      {text}
    </a>
  );
}

export const Time = (props: { at: number | string | null | undefined; now: number }) =>
  props.at === null || props.at === undefined ? (
    <span class="muted">never</span>
  ) : (
    <time datetime={new Date(props.at).toISOString()} title={dateTime(props.at)}>
      {ago(props.at, props.now)}
    </time>
  );

/** Label and value pairs. */
export function Facts(props: { rows: Array<[string, Child]> }) {
  return (
    <dl class="facts">
      {props.rows.map(([label, value]) => (
        <div class="fact">
          <dt>{label}</dt>
          <dd>{value === null || value === undefined || value === '' ? <span class="muted">—</span> : value}</dd>
        </div>
      ))}
    </dl>
  );
}

export const CsrfField = (props: { here: Here }) => <input type="hidden" name="_csrf" value={props.here.csrf} />;

/** A one-button form that posts: pause, resume, reveal. */
export function PostButton(props: { here: Here; action: string; label: string; class?: string; fields?: Record<string, string> }) {
  return (
    <form method="post" action={props.action} class="inline-form">
      <CsrfField here={props.here} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.class ?? 'button'}>
        {props.label}
      </button>
    </form>
  );
}

/**
 * The confirmation step of an action that cannot be undone: what will happen, then the button that
 * does it (a POST with the CSRF token) beside a way back.
 *
 * @example <Confirm here={here} action="/console/offers/off_1/delete" label="Delete for good" cancel="/console/offers/off_1">…</Confirm>
 */
export function Confirm(props: { here: Here; action: string; label: string; cancel: string; fields?: Record<string, string>; children?: Child }) {
  return (
    <Card class="danger-zone">
      {props.children}
      <form method="post" action={props.action} class="actions-row">
        <CsrfField here={props.here} />
        {Object.entries(props.fields ?? {}).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <button type="submit" class="button button-danger">
          {props.label}
        </button>
        <a class="button button-quiet" href={props.cancel}>
          Cancel
        </a>
      </form>
    </Card>
  );
}

/** A refused form: the API's message and, per field, what is wrong. */
export interface Problem {
  message: string;
  details?: Array<{ field?: string; message?: string }>;
}

/**
 * A form's refusal from the API's validators (a 4xx), to show beside what was typed; anything else
 * is rethrown for the error page.
 */
export function problemOf(error: unknown): Problem {
  if (!(error instanceof HttpError) || error.status >= 500) throw error;
  return { message: error.message, details: error.details as Problem['details'] };
}

export function Problems(props: { problem: Problem | null | undefined }) {
  const p = props.problem;
  if (!p) return null;
  const details = (p.details ?? []).filter((d) => d.field && d.message);
  return (
    <div class="alert alert-error" role="alert">
      <strong>Not saved: </strong>
      {p.message}
      {details.length > 1 ? (
        <ul>
          {details.map((d) => (
            <li>
              <code>{d.field}</code>: {d.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** What an action did, or the state the page is in: "The offer is saved." */
export function Notice(props: { children?: Child }) {
  return (
    <div class="alert alert-ok" role="status">
      {props.children}
    </div>
  );
}

/** "Newer / older" links of a list paged with cursors. */
export function Pager(props: { first?: string | null; next?: string | null; nextLabel?: string }) {
  if (!props.first && !props.next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      {props.first ? (
        <a class="button button-quiet" href={props.first}>
          ← Back to the start
        </a>
      ) : (
        <span />
      )}
      {props.next ? (
        <a class="button button-quiet" href={props.next} rel="next">
          {props.nextLabel ?? 'Next page'} →
        </a>
      ) : null}
    </nav>
  );
}
