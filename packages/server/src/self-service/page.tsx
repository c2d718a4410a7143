import type { Child } from 'hono/jsx';
import type { Site } from '../store/types.js';
import type { ActivityItem } from './activity.js';
import { PAGE_CSS } from './style.js';
import type { FormProblem, TraitInput } from './traits.js';

/**
 * The HTML of the self-service pages. Every value is escaped by JSX; the only raw text is the
 * page's own stylesheet, which the CSP allows by its hash.
 */

export interface PersonView {
  site: Site;
  /** `/me/<token>`: where the page's forms and links go. */
  base: string;
  expiresAt: string;
  traits: Array<{ name: string; label: string; text: string }>;
  editable: Array<{ name: string; label: string; input: TraitInput }>;
  consent: Array<{ purpose: string; label: string; hint: string; granted: boolean | null; when: string | null }>;
  /** Purposes the site recorded that the page does not ask about. */
  otherConsent: Array<{ purpose: string; granted: boolean; when: string }>;
  /** Names of the shown segments the person is in; null when the site shows none. */
  segments: string[] | null;
  activity: ActivityItem[];
  summary: Array<[string, string]>;
}

export interface PageState {
  notice?: string;
  problem?: FormProblem;
  /** What was submitted with a refused traits form, to show it again. */
  submitted?: URLSearchParams;
  /** The form the problem is in. */
  form?: 'traits' | 'consent';
}

/** The document around every self-service page: the site's logo and stylesheet (after Rapport's own, to override it). */
export function Frame(props: { site: Site | null; title: string; children?: Child }) {
  const { site } = props;
  const look = site?.settings.selfService;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="referrer" content="no-referrer" />
        <title>{site && !props.title.includes(site.name) ? `${props.title} · ${site.name}` : props.title}</title>
        <style dangerouslySetInnerHTML={{ __html: PAGE_CSS }} />
        {look?.cssUrl ? <link rel="stylesheet" href={look.cssUrl} /> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {site ? (
          <header class="site-header">
            {look?.logoUrl ? <img src={look.logoUrl} alt={site.name} /> : <span class="site-name">{site.name}</span>}
          </header>
        ) : null}
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <footer class="site-footer">
          {site
            ? `${site.name} keeps this data with Rapport, its customer-relationship service. For anything this page does not answer, contact ${site.name}.`
            : 'Rapport: customer data, kept for the sites that use it.'}
        </footer>
      </body>
    </html>
  );
}

/** The customer's page: what is kept, the forms to correct it, and the ways to take it or erase it. */
export function PersonPage(props: { view: PersonView; state: PageState }) {
  const { view, state } = props;
  const { site } = view;
  return (
    <Frame site={site} title={`Your data at ${site.name}`}>
      <p class="muted">{`This private link works until ${view.expiresAt}. Do not share it: anyone who has it can see and change this page.`}</p>
      {state.notice ? (
        <p class="notice" role="status">
          {state.notice}
        </p>
      ) : null}
      {state.problem ? (
        <p class="problem" role="alert" id="problem">
          {`Not saved. ${state.problem.message}`}
        </p>
      ) : null}

      <section aria-labelledby="kept">
        <h2 id="kept">What is kept about you</h2>
        {view.traits.length ? (
          <dl class="facts">
            {view.traits.map((t) => (
              <>
                <dt>{t.label}</dt>
                <dd>{t.text}</dd>
              </>
            ))}
          </dl>
        ) : (
          <p>No personal details are kept.</p>
        )}
        {view.summary.length ? (
          <>
            <h3 class="muted">In numbers</h3>
            <dl class="facts">
              {view.summary.map(([label, value]) => (
                <>
                  <dt>{label}</dt>
                  <dd>{value}</dd>
                </>
              ))}
            </dl>
          </>
        ) : null}
      </section>

      {view.editable.length ? <TraitsForm view={view} state={state} /> : null}
      <ConsentForm view={view} state={state} />

      {view.segments ? (
        <section aria-labelledby="groups">
          <h2 id="groups">Groups you are in</h2>
          <p class="muted">{`${site.name} sorts customers into groups to choose what to show them. These are the groups it shows here:`}</p>
          {view.segments.length ? (
            <ul class="plain">
              {view.segments.map((name) => (
                <li>{name}</li>
              ))}
            </ul>
          ) : (
            <p>You are in none of them.</p>
          )}
        </section>
      ) : null}

      <section aria-labelledby="activity">
        <h2 id="activity">Recent activity</h2>
        {view.activity.length ? (
          <table>
            <caption>{`Your latest ${view.activity.length === 1 ? 'event' : `${view.activity.length} events`}, newest first, in ${site.settings.timeZone} time.`}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Page</th>
              </tr>
            </thead>
            <tbody>
              {view.activity.map((a) => (
                <tr>
                  <td>
                    <time datetime={a.iso}>{a.when}</time>
                  </td>
                  <td>{a.what}</td>
                  <td>{a.where ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No activity is recorded.</p>
        )}
      </section>

      <section aria-labelledby="yours">
        <h2 id="yours">Take your data, or erase it</h2>
        <p>Download everything that is kept about you as a JSON file, or have all of it deleted.</p>
        <div class="actions">
          <a class="button button-quiet" href={`${view.base}/export`} download>
            Download my data (JSON)
          </a>
          <a class="button button-quiet" href={`${view.base}/erase`}>
            Erase my data…
          </a>
        </div>
      </section>
    </Frame>
  );
}

function TraitsForm(props: { view: PersonView; state: PageState }) {
  const { view, state } = props;
  const submitted = state.form === 'traits' ? state.submitted : undefined;
  const value = (field: string, held: string) => submitted?.get(field) ?? held;
  const invalid = (field: string) => (state.form === 'traits' && state.problem?.field === field ? { 'aria-invalid': 'true', 'aria-describedby': 'problem' } : {});
  const fixed = view.editable.filter((t) => t.input.kind === 'fixed');
  return (
    <section aria-labelledby="correct">
      <h2 id="correct">Correct your details</h2>
      <form method="post" action={`${view.base}/traits`}>
        {view.editable.map(({ name, label, input }) => {
          const field = `trait:${name}`;
          const id = `trait-${name}`;
          if (input.kind === 'text') {
            return (
              <div class="field">
                <label for={id}>{label}</label>
                {input.multiline ? (
                  <textarea id={id} name={field} maxlength={500} rows={3} {...invalid(field)}>
                    {value(field, input.value)}
                  </textarea>
                ) : (
                  <input id={id} name={field} type={input.type} maxlength={500} value={value(field, input.value)} autocomplete={autocompleteOf(name)} {...invalid(field)} />
                )}
              </div>
            );
          }
          if (input.kind === 'boolean') {
            const chosen = value(field, input.value === null ? '' : input.value ? 'yes' : 'no');
            return (
              <div class="field">
                <label for={id}>{label}</label>
                <select id={id} name={field} {...invalid(field)}>
                  <option value="yes" selected={chosen === 'yes'}>
                    Yes
                  </option>
                  <option value="no" selected={chosen === 'no'}>
                    No
                  </option>
                </select>
              </div>
            );
          }
          if (input.kind === 'address') {
            return (
              <fieldset>
                <legend>{label}</legend>
                {input.parts.map((p) => (
                  <div class="field">
                    <label for={`${id}-${p.part}`}>{p.label}</label>
                    <input
                      id={`${id}-${p.part}`}
                      name={`${field}.${p.part}`}
                      type="text"
                      maxlength={200}
                      value={value(`${field}.${p.part}`, p.value)}
                      autocomplete={ADDRESS_AUTOCOMPLETE[p.part]}
                      {...invalid(`${field}.${p.part}`)}
                    />
                  </div>
                ))}
              </fieldset>
            );
          }
          return null;
        })}
        {fixed.length ? <p class="hint">{`${fixed.map((t) => t.label).join(', ')}: not a simple value, so it cannot be changed here; ask ${view.site.name}.`}</p> : null}
        <p class="hint">Leave a field empty to remove it.</p>
        <div class="actions">
          <button type="submit">Save details</button>
        </div>
      </form>
    </section>
  );
}

function ConsentForm(props: { view: PersonView; state: PageState }) {
  const { view } = props;
  return (
    <section aria-labelledby="choices">
      <h2 id="choices">Your choices</h2>
      <p class="muted">{`What ${view.site.name} may use your data for. You can change each choice at any time.`}</p>
      <form method="post" action={`${view.base}/consent`}>
        {view.consent.map((c) => {
          const name = `consent:${c.purpose}`;
          const hintId = `consent-${c.purpose}-hint`;
          return (
            <fieldset aria-describedby={hintId}>
              <legend>{c.label}</legend>
              <span class="hint" id={hintId}>
                {`${c.hint} ${c.granted === null ? 'No choice recorded yet.' : `Now: ${c.granted ? 'allowed' : 'not allowed'}, since ${c.when}.`}`}
              </span>
              <label class="choice">
                <input type="radio" name={name} value="granted" checked={c.granted === true} />
                Allowed
              </label>
              <label class="choice">
                <input type="radio" name={name} value="withdrawn" checked={c.granted === false} />
                Not allowed
              </label>
            </fieldset>
          );
        })}
        {view.otherConsent.length ? (
          <p class="hint">
            {`Also recorded: ${view.otherConsent.map((o) => `${o.purpose} ${o.granted ? 'allowed' : 'not allowed'} (${o.when})`).join('; ')}.`}
          </p>
        ) : null}
        <div class="actions">
          <button type="submit">Save choices</button>
        </div>
      </form>
    </section>
  );
}

/** A valid link for a customer of whom nothing is kept (never seen, or erased). */
export function NothingKeptPage(props: { site: Site }) {
  return (
    <Frame site={props.site} title={`Your data at ${props.site.name}`}>
      <p>{`Nothing is kept about you by ${props.site.name} in Rapport: there is nothing to show, download or erase.`}</p>
      <p class="muted">If you use the site again, what it records will show here.</p>
    </Frame>
  );
}

/** The confirmation before an erasure: what goes, and the button that does it. */
export function ErasePage(props: { site: Site; base: string; counts: Array<[number, string]> }) {
  const { site } = props;
  return (
    <Frame site={site} title="Erase your data?">
      <p>{`This deletes everything ${site.name} keeps about you in Rapport, at once and for good:`}</p>
      <ul class="plain">
        {props.counts.map(([n, what]) => (
          <li>{`${n} ${what}`}</li>
        ))}
        <li>your choices, the groups you are in, and the history of your accounts</li>
      </ul>
      <p>{`It cannot be undone. Your account and orders with ${site.name} itself are not part of this: ask ${site.name} about those.`}</p>
      <form method="post" action={`${props.base}/erase`}>
        <input type="hidden" name="confirm" value="yes" />
        <div class="actions">
          <button type="submit" class="button-danger">
            Erase everything
          </button>
          <a class="button button-quiet" href={props.base}>
            Cancel
          </a>
        </div>
      </form>
    </Frame>
  );
}

export function ErasedPage(props: { site: Site; events: number }) {
  return (
    <Frame site={props.site} title="Your data is erased">
      <p role="status">{`Everything ${props.site.name} kept about you in Rapport is deleted, ${props.events === 1 ? 'with 1 event' : `with ${props.events} events`}.`}</p>
      <p class="muted">If you use the site again, it starts over with nothing.</p>
    </Frame>
  );
}

/** The 403 of a link that does not open the page: expired (the site's own link, out of date) or not valid at all. */
export function DeniedPage(props: { site: Site | null; expired: boolean }) {
  return props.expired ? (
    <Frame site={props.site} title="This link has expired">
      <p>{`For your safety, links to this page work for a limited time. Ask ${props.site?.name ?? 'the site'} for a new one, for example from the privacy page of your account.`}</p>
    </Frame>
  ) : (
    <Frame site={null} title="This link is not valid">
      <p>The link is incomplete or has been changed. Copy the whole link from the message you got, or ask the site for a new one.</p>
    </Frame>
  );
}

/** A page for what went wrong otherwise (too many requests, a form that cannot be read, a database away). */
export function ProblemPage(props: { site: Site | null; title: string; message: string }) {
  return (
    <Frame site={props.site} title={props.title}>
      <p>{props.message}</p>
    </Frame>
  );
}

const AUTOCOMPLETE: Record<string, string> = { firstName: 'given-name', lastName: 'family-name', name: 'name', phone: 'tel' };
const autocompleteOf = (name: string) => AUTOCOMPLETE[name] ?? 'off';
const ADDRESS_AUTOCOMPLETE: Record<string, string> = {
  street: 'address-line1',
  postalCode: 'postal-code',
  city: 'address-level2',
  state: 'address-level1',
  country: 'country-name',
};
