import type { OfferContent } from '@rapport/protocol';
import { Hono, type Context } from 'hono';
import type { AppContext } from '../../app-context.js';
import { isObject } from '../../collect/validate.js';
import { givenOfferFields, MAX_RECOMMENDED_ITEMS, OFFER_DEFAULTS, offerFields } from '../../decisions/offer-input.js';
import { findOffer, remove, save } from '../../decisions/offer-routes.js';
import { fillContent } from '../../decisions/placeholders.js';
import { offerReport } from '../../decisions/report.js';
import type { Offer, Segment } from '../../decisions/types.js';
import { HttpError } from '../../http/errors.js';
import { jsonBody } from '../../http/input.js';
import { newId } from '../../ids.js';
import { findProfile } from '../../profiles/routes.js';
import { recommendationReport } from '../../recommendations/report.js';
import { siteOf } from '../../sites/routes.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { Badge, Card, Confirm, CsrfField, Empty, PostButton, problemOf, Problems, type Problem, type Tone } from '../ui/components.js';
import { dateTime, num, truncate } from '../ui/format.js';
import { hereOf, withQuery, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { DEFAULT_PRODUCT_COUNT, EMPTY_OFFER, formValues, kindOf, offerBody, offerValues, STRATEGY_LABELS, type OfferValues } from './form.js';
import { OfferPreview } from './preview.js';
import { ReportPage } from './report.js';

/** Traits the preview fills placeholders with when no customer is named. */
const SAMPLE_TRAITS = { firstName: 'Alex', lastName: 'Sample', name: 'Alex Sample', email: 'alex@example.com', city: 'Lyon' };

const DONE: Record<string, string> = {
  saved: 'The offer is saved. Decisions use it from now on.',
  paused: 'The offer is paused: its slot shows the next offer or the default content.',
  active: 'The offer is active again.',
  deleted: 'The offer and its report are deleted: its slot shows the next offer or the default content.',
};

/** `/console/offers`: offers per slot, the editor with its live preview, pause and resume, reports. */
export function offerRoutes(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/offers', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Offers', section: 'offers', children: <NoSite /> });
    const [offers, segments] = await Promise.all([ctx.store.listOffers(site.id), ctx.store.listSegments(site.id)]);
    const slots = new Map<string, Offer[]>();
    for (const offer of offers) slots.set(offer.slot, [...(slots.get(offer.slot) ?? []), offer]);
    return page(c, {
      here,
      title: 'Offers',
      section: 'offers',
      notice: DONE[c.req.query('done') ?? ''] ?? null,
      actions: (
        <a class="button button-primary" href={here.to('/console/offers/new')}>
          New offer
        </a>
      ),
      children: slots.size ? (
        [...slots].map(([slot, list]) => (
          <Card
            title={
              <>
                <span class="muted">Slot </span>
                {slot}
              </>
            }
            actions={<code class="muted small">{`<div data-rapport-slot="${slot}">`}</code>}
          >
            <OfferTable here={here} offers={list} segments={segments} />
          </Card>
        ))
      ) : (
        <Card>
          <Empty
            title="No offers yet"
            action={
              <a class="button button-primary" href={here.to('/console/offers/new')}>
                Create the first offer
              </a>
            }
          >
            {'An offer fills a slot of your pages — an element such as <div data-rapport-slot="home-hero"> — for the customers of a segment, and is measured against a control group that keeps the default.'}
          </Empty>
        </Card>
      ),
    });
  });

  app.get('/offers/new', async (c) => {
    const here = hereOf(c, ctx);
    if (!here.site) return page(c, { here, title: 'New offer', section: 'offers', children: <NoSite /> });
    const values = { ...EMPTY_OFFER, slot: c.req.query('slot') ?? '' };
    return editor(c, ctx, here, values);
  });

  app.post('/offers', async (c) => {
    const form = await c.req.parseBody();
    const site = siteOf(ctx, form.site);
    const here = hereOf(c, ctx, site);
    const values = formValues(form);
    try {
      const now = ctx.now();
      const offer: Offer = { ...OFFER_DEFAULTS, id: `off_${newId()}`, siteId: site.id, ...fieldsOf(values), createdAt: now, updatedAt: now };
      await save(ctx, offer);
      return c.redirect(here.to('/console/offers', { done: 'saved' }), 303);
    } catch (error) {
      return refused(c, ctx, here, values, error);
    }
  });

  app.get('/offers/:id', async (c) => {
    const offer = await findOffer(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, offer.siteId);
    return editor(c, ctx, here, offerValues(offer), offer);
  });

  app.post('/offers/:id', async (c) => {
    const current = await findOffer(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, current.siteId);
    const values = formValues(await c.req.parseBody());
    try {
      await save(ctx, { ...current, ...fieldsOf(values), updatedAt: ctx.now() });
      return c.redirect(here.to('/console/offers', { done: 'saved' }), 303);
    } catch (error) {
      return refused(c, ctx, here, values, error, current);
    }
  });

  // Pause and resume: only the status changes.
  app.post('/offers/:id/status', async (c) => {
    const current = await findOffer(ctx, c.req.param('id'));
    const form = await c.req.parseBody();
    const status = form.status;
    if (status !== 'active' && status !== 'paused') throw new HttpError(400, 'status: must be active or paused');
    await save(ctx, { ...current, status, updatedAt: ctx.now() });
    const back = form.back === 'editor' ? `/console/offers/${current.id}` : '/console/offers';
    return c.redirect(withQuery(back, { site: current.siteId, done: status }), 303);
  });

  app.get('/offers/:id/delete', async (c) => {
    const offer = await findOffer(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, offer.siteId);
    const self = `/console/offers/${offer.id}`;
    return page(c, {
      here,
      title: `Delete ${offer.name}?`,
      section: 'offers',
      back: { href: self, label: 'Back to the offer' },
      children: (
        <Confirm here={here} action={`${self}/delete`} label="Delete the offer" cancel={self}>
          <p>
            {`The offer leaves the slot ${offer.slot} at once, and its report (exposures, impressions, clicks, conversions) goes with it. It cannot be undone. `}
            To stop showing it but keep the report, pause it instead.
          </p>
        </Confirm>
      ),
    });
  });

  app.post('/offers/:id/delete', async (c) => {
    const offer = await findOffer(ctx, c.req.param('id'));
    await remove(ctx, offer);
    return c.redirect(withQuery('/console/offers', { site: offer.siteId, done: 'deleted' }), 303);
  });

  app.get('/offers/:id/report', async (c) => {
    const offer = await findOffer(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, offer.siteId);
    const report = await offerReport(ctx.store, offer, here.now, here.site?.settings.timeZone);
    const cards = offer.content.type === 'recommendations' && here.site ? await cardsReport(ctx, offer, here.site, here.now) : undefined;
    const segment = offer.segmentId ? (await ctx.catalog.forSite(offer.siteId)).segments.get(offer.segmentId)?.segment : undefined;
    return page(c, {
      here,
      title: `Report: ${offer.name}`,
      section: 'offers',
      back: { href: here.to('/console/offers'), label: 'Offers' },
      actions: (
        <a class="button" href={`/console/offers/${offer.id}`}>
          Edit the offer
        </a>
      ),
      children: <ReportPage here={here} offer={offer} report={report} segment={segment} recommendations={cards} />,
    });
  });

  // The editor's live preview: the content with placeholders filled, for the preview to draw.
  app.post('/api/offers/preview', async (c) => {
    const body = await jsonBody(c, ['site', 'content', 'customer']);
    const site = siteOf(ctx, body.site);
    const content = contentOf(body.content);
    let problem: string | null = null;
    try {
      offerFields({ content });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      problem = error.message;
    }
    const customer = typeof body.customer === 'string' ? body.customer.trim() : '';
    const profile = customer ? await profileByAnyId(ctx, site, customer) : null;
    if (customer && !profile) problem ??= `No customer ${customer} in ${site.name}: the preview uses sample traits.`;
    return c.json({
      content: fillContent(content, profile?.traits ?? SAMPLE_TRAITS),
      traitsOf: profile ? 'customer' : 'sample',
      problem,
    });
  });

  return app;
}

/** The report of an offer's product cards, with the names of its products. */
async function cardsReport(ctx: AppContext, offer: Offer, site: Site, now: number) {
  const report = await recommendationReport(ctx.store, offer, site, now);
  const products = await ctx.store.recommendations.getProducts(site.id, report.products.map((p) => p.productId));
  return { report, names: new Map(products.map((p) => [p.productId, p.name])) };
}

/** The content being edited, of its kind, for the first preview. */
function editedContent(values: OfferValues): OfferContent {
  if (kindOf(values) === 'recommendations') {
    const limit = Number(values.limit);
    const content: OfferContent = { type: 'recommendations', strategy: values.strategy as OfferContent['strategy'], limit: Number.isInteger(limit) ? limit : DEFAULT_PRODUCT_COUNT };
    if (values.title.trim() !== '') content.title = values.title;
    return content;
  }
  return Object.fromEntries(CONTENT_KEYS.filter((k) => values[k].trim() !== '').map((k) => [k, values[k]])) as OfferContent;
}

/** The form's fields through the API's validator; the form sends every field, so all are set. */
function fieldsOf(values: OfferValues) {
  return givenOfferFields(offerBody(values));
}

const CONTENT_KEYS = ['title', 'text', 'image', 'link', 'linkText'] as const;

/** Content strings as typed, cut to a sane length: the preview shows what it can even while invalid. */
function contentOf(value: unknown): OfferContent {
  const out: OfferContent = {};
  if (!isObject(value)) return out;
  if (value.type === 'recommendations') {
    // As typed too: the validator names a strategy or a number that will not do.
    const cards = {
      type: 'recommendations',
      strategy: typeof value.strategy === 'string' ? value.strategy.slice(0, 100) : undefined,
      limit: typeof value.limit === 'number' || typeof value.limit === 'string' ? value.limit : undefined,
    } as OfferContent;
    if (typeof value.title === 'string' && value.title.trim() !== '') cards.title = value.title.slice(0, 2048);
    return cards;
  }
  for (const key of CONTENT_KEYS) {
    const v = value[key];
    if (typeof v === 'string' && v.trim() !== '') out[key] = key === 'link' || key === 'image' ? v.trim().slice(0, 2048) : v.slice(0, 2048);
  }
  return out;
}

/** A customer of the site by user id, anonymous id, email or profile id. */
async function profileByAnyId(ctx: AppContext, site: Site, id: string) {
  for (const kind of ['user', 'alias', 'anonymous'] as const) {
    const profileId = await ctx.store.findProfileId(site.id, kind, id);
    if (profileId) return ctx.store.getProfile(site.id, profileId);
  }
  if (id.includes('@')) {
    const [byEmail] = (await ctx.store.listProfiles({ siteId: site.id, email: id, limit: 1 })).items;
    if (byEmail) return byEmail;
  }
  const profile = await findProfile(ctx, id);
  return profile && profile.siteId === site.id && !profile.mergedInto ? profile : null;
}

function refused(c: Context<ConsoleEnv>, ctx: AppContext, here: Here, values: OfferValues, error: unknown, offer?: Offer) {
  return editor(c, ctx, here, values, offer, problemOf(error), 400);
}

/** The one-click status change of an offer: pause an active one, else make it active. */
function StatusButton(props: { here: Here; offer: Offer; class?: string; fields?: Record<string, string> }) {
  const { offer } = props;
  const active = offer.status === 'active';
  return (
    <PostButton
      here={props.here}
      action={`/console/offers/${offer.id}/status`}
      fields={{ status: active ? 'paused' : 'active', ...props.fields }}
      label={active ? 'Pause' : offer.status === 'draft' ? 'Activate' : 'Resume'}
      class={props.class}
    />
  );
}

/** Where an offer stands today: its status, and its schedule when active. */
function stateOf(offer: Offer, now: number, timeZone?: string): { label: string; tone: Tone } {
  if (offer.status === 'paused') return { label: 'Paused', tone: 'amber' };
  if (offer.status === 'draft') return { label: 'Draft', tone: 'gray' };
  if (offer.startsAt !== null && offer.startsAt > now) return { label: `Starts ${dateTime(offer.startsAt, timeZone)}`, tone: 'blue' };
  if (offer.endsAt !== null && offer.endsAt <= now) return { label: 'Ended', tone: 'gray' };
  return { label: 'Active', tone: 'green' };
}

function OfferTable(props: { here: Here; offers: Offer[]; segments: Segment[] }) {
  const { here } = props;
  const names = new Map(props.segments.map((s) => [s.id, s.name]));
  return (
    <table class="table offers">
      <thead>
        <tr>
          <th scope="col">Offer</th>
          <th scope="col">Shown to</th>
          <th scope="col" class="num">
            Priority
          </th>
          <th scope="col">Status</th>
          <th scope="col" class="num">
            Control
          </th>
          <th scope="col">Goal</th>
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.offers.map((o) => {
          const state = stateOf(o, here.now, here.site?.settings.timeZone);
          return (
            <tr>
              <td>
                <a class="strong" href={`/console/offers/${o.id}`}>
                  {o.name}
                </a>
                {o.content.title ? <div class="sub">{truncate(o.content.title, 80)}</div> : null}
                {o.content.type === 'recommendations' ? <div class="sub">{`Product recommendations: ${o.content.strategy ?? ''}`}</div> : null}
              </td>
              <td>{o.segmentId ? <a href={here.to(`/console/segments/${o.segmentId}`)}>{names.get(o.segmentId) ?? o.segmentId}</a> : 'Everyone'}</td>
              <td class="num">{num(o.priority)}</td>
              <td>
                <Badge tone={state.tone}>{state.label}</Badge>
                {o.endsAt !== null && state.label === 'Active' ? <div class="sub">{`until ${dateTime(o.endsAt, here.site?.settings.timeZone)}`}</div> : null}
              </td>
              <td class="num">{`${o.controlPercent}%`}</td>
              <td>{o.goal ? `${o.goal.event} in ${o.goal.withinDays} d` : <span class="muted">none</span>}</td>
              <td class="row-actions">
                <a class="button button-small" href={`/console/offers/${o.id}/report`}>
                  Report
                </a>
                <StatusButton here={here} offer={o} class="button button-small" />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Whether the API's refusal is about this input of the editor. */
function isBad(problem: Problem | undefined, id: keyof OfferValues): boolean {
  if (!problem) return false;
  return fieldOf(problem.message.split(':')[0]) === id || Boolean(problem.details?.some((d) => fieldOf(d.field) === id));
}

/** A labelled input of the editor, marked when the API named it in a refusal. */
function Field(props: { id: keyof OfferValues; label: string; values: OfferValues; problem?: Problem; type?: string; hint?: string; placeholder?: string; list?: string; min?: number; max?: number }) {
  const bad = isBad(props.problem, props.id);
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <div>
        <input
          id={props.id}
          name={props.id}
          type={props.type ?? 'text'}
          value={props.values[props.id]}
          placeholder={props.placeholder}
          list={props.list}
          min={props.min}
          max={props.max}
          aria-invalid={bad ? 'true' : undefined}
          class={bad ? 'invalid' : undefined}
        />
        {props.hint ? <p class="hint">{props.hint}</p> : null}
      </div>
    </>
  );
}

/** The API's field names (`content.link`, `cap.count`) that are not the editor's input names. */
const INPUT_OF: Record<string, string> = {
  'content.title': 'title', 'content.text': 'text', 'content.image': 'image', 'content.link': 'link', 'content.linkText': 'linkText',
  content: 'title', 'cap.count': 'capCount', 'cap.days': 'capDays', cap: 'capCount', 'goal.event': 'goalEvent', 'goal.withinDays': 'goalDays',
  goal: 'goalEvent', 'content.type': 'contentKind', 'content.strategy': 'strategy', 'content.limit': 'limit',
};

const fieldOf = (apiField: string | undefined) => (apiField === undefined ? undefined : (INPUT_OF[apiField] ?? apiField));

async function editor(c: Context<ConsoleEnv>, ctx: AppContext, here: Here, values: OfferValues, offer?: Offer, problem?: Problem, status: 200 | 400 = 200) {
  const site = here.site as Site;
  const [segments, offers] = await Promise.all([ctx.store.listSegments(site.id), ctx.store.listOffers(site.id)]);
  const slots = [...new Set(offers.map((o) => o.slot))];
  const content = fillContent(editedContent(values), SAMPLE_TRAITS);
  const f = { values, problem };
  const kind = kindOf(values);
  return page(
    c,
    {
      here,
      title: offer ? offer.name : 'New offer',
      section: 'offers',
      back: { href: here.to('/console/offers'), label: 'Offers' },
      scripts: ['offer-preview.js'],
      actions: offer ? (
        <>
          <a class="button" href={`/console/offers/${offer.id}/report`}>
            Report
          </a>
          <StatusButton here={here} offer={offer} fields={{ back: 'editor' }} />
          <a class="button button-quiet" href={`/console/offers/${offer.id}/delete`}>
            Delete…
          </a>
        </>
      ) : undefined,
      notice: DONE[c.req.query('done') ?? ''] ?? null,
      children: (
        <form method="post" action={offer ? `/console/offers/${offer.id}` : '/console/offers'} class="stack" id="offer-form">
          <CsrfField here={here} />
          <input type="hidden" name="site" value={site.id} />
          <Problems problem={problem} />
          <Card title="Offer">
            <div class="form-grid">
              <Field id="name" label="Name" {...f} placeholder="e.g. Thailand summer deal" />
              <Field id="slot" label="Slot" {...f} list="known-slots" placeholder="e.g. home-hero" hint='The slot of your pages: <div data-rapport-slot="home-hero">…</div>' />
              <label for="segment">Shown to</label>
              <select id="segment" name="segment">
                <option value="" selected={values.segment === ''}>
                  Everyone
                </option>
                {segments.map((s) => (
                  <option value={s.id} selected={values.segment === s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
              <Field id="priority" label="Priority" type="number" {...f} min={-1000} max={1000} hint="When several offers of a slot match, the highest priority wins." />
              <label for="status">Status</label>
              <select id="status" name="status">
                {(['active', 'paused', 'draft'] as const).map((s) => (
                  <option value={s} selected={values.status === s}>
                    {s === 'active' ? 'Active' : s === 'paused' ? 'Paused' : 'Draft'}
                  </option>
                ))}
              </select>
            </div>
            <datalist id="known-slots">
              {slots.map((s) => (
                <option value={s} />
              ))}
            </datalist>
          </Card>
          <div class="grid-2">
            <Card title="Content">
              <div class="form-grid form-grid-stacked">
                <label for="contentKind">Kind</label>
                <div>
                  <select id="contentKind" name="contentKind">
                    <option value="message" selected={kind === 'message'}>
                      Title, text, image and link
                    </option>
                    <option value="recommendations" selected={kind === 'recommendations'}>
                      Product recommendations
                    </option>
                  </select>
                  <p class="hint">Product recommendations show cards of products picked for each visitor, under the title if there is one; the text, image and link are not used.</p>
                </div>
                <Field id="title" label="Title" {...f} placeholder="Hello {{traits.firstName|there}}!" />
                <h3 class="sub-head">Title, text, image and link</h3>
                <label for="text">Text</label>
                <textarea id="text" name="text" rows={4}>
                  {values.text}
                </textarea>
                <Field id="image" label="Image URL" {...f} placeholder="https://… or /images/…" />
                <Field id="link" label="Link" {...f} placeholder="https://… or /path" />
                <Field id="linkText" label="Link text" {...f} placeholder="See the offer" />
                <h3 class="sub-head">Product recommendations</h3>
                <label for="strategy">Products</label>
                <select id="strategy" name="strategy" aria-invalid={isBad(problem, 'strategy') ? 'true' : undefined} class={isBad(problem, 'strategy') ? 'invalid' : undefined}>
                  {Object.entries(STRATEGY_LABELS).map(([value, label]) => (
                    <option value={value} selected={values.strategy === value}>
                      {label}
                    </option>
                  ))}
                </select>
                <Field id="limit" label="Number of products" type="number" {...f} min={1} max={MAX_RECOMMENDED_ITEMS} hint={`1 to ${MAX_RECOMMENDED_ITEMS}; fewer are shown when fewer fit the visitor, none leaves the slot's default.`} />
              </div>
              <p class="hint">
                {'Personalize with placeholders: '}
                <code>{'{{traits.firstName}}'}</code>
                {', with a default: '}
                <code>{'{{traits.firstName|friend}}'}</code>. Links and images must be http(s) URLs or paths of your site.
              </p>
            </Card>
            <Card title="Preview" class="preview-card">
              <div class="preview-as">
                <label for="preview-customer">Preview for</label>
                <input id="preview-customer" type="search" placeholder="a user id or email (empty: a sample customer)" />
              </div>
              <div id="offer-preview" class="offer-preview" data-site={site.id} data-preview-url="/console/api/offers/preview" aria-live="polite">
                <OfferPreview content={content} />
              </div>
              <p id="preview-note" class="hint">
                Shown with the traits of a sample customer, Alex.
              </p>
            </Card>
          </div>
          <div class="grid-2">
            <Card title="Schedule and frequency">
              <div class="form-grid">
                <Field id="startsAt" label="Starts (UTC)" type="datetime-local" {...f} hint="Empty: at once." />
                <Field id="endsAt" label="Ends (UTC)" type="datetime-local" {...f} hint="Empty: no end." />
                <label for="capCount">Frequency cap</label>
                <div>
                  <div class="inline-inputs">
                    <input id="capCount" name="capCount" type="number" min={1} max={1000} value={values.capCount} aria-label="Impressions at most" class={isBad(problem, 'capCount') ? 'invalid' : undefined} />
                    <span>times per visitor in</span>
                    <input id="capDays" name="capDays" type="number" min={1} max={365} value={values.capDays} aria-label="Days" class={isBad(problem, 'capDays') ? 'invalid' : undefined} />
                    <span>days</span>
                  </div>
                  <p class="hint">Empty: no cap.</p>
                </div>
              </div>
            </Card>
            <Card title="Measurement">
              <div class="form-grid">
                <Field id="controlPercent" label="Control group (%)" type="number" {...f} min={0} max={100} hint="Matching visitors kept on the default content, to measure what the offer changes." />
                <Field id="goalEvent" label="Goal event" {...f} list="goal-events" placeholder="e.g. Order Completed" hint="A conversion: this event after seeing the offer. Empty: clicks only." />
                <Field id="goalDays" label="Within (days)" type="number" {...f} min={1} max={365} />
              </div>
              <datalist id="goal-events">
                {['Order Completed', 'Signed Up', 'Product Added', 'Checkout Started'].map((e) => (
                  <option value={e} />
                ))}
              </datalist>
            </Card>
          </div>
          <div class="actions-row">
            <button type="submit" class="button button-primary">
              {offer ? 'Save changes' : 'Save offer'}
            </button>
            <a class="button button-quiet" href={here.to('/console/offers')}>
              Cancel
            </a>
          </div>
        </form>
      ),
    },
    status,
  );
}
