import { Hono, type Context } from 'hono';
import type { AppContext } from '../../app-context.js';
import type { Segment } from '../../decisions/types.js';
import { HttpError } from '../../http/errors.js';
import { jsonBody } from '../../http/input.js';
import { newId } from '../../ids.js';
import { countMembers } from '../../segments/membership.js';
import { findSegment, offersUsing, remove, ruleOf, save, segmentFields } from '../../segments/routes.js';
import { siteOf } from '../../sites/routes.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { Card, Confirm, CsrfField, Empty, problemOf, Problems, type Problem } from '../ui/components.js';
import { ago, num, plural, truncate } from '../ui/format.js';
import { hereOf, withQuery, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { builderSchema, describeRule } from './schema.js';

const DONE: Record<string, string> = {
  saved: 'The segment is saved. Offers aimed at it use it from now on.',
  deleted: 'The segment is deleted. Its customers are untouched.',
};

const NEW_RULE = { all: [{ field: 'computed.orders', op: 'gte', value: 1 }] };

/** `/console/segments`: the list with member counts, the rule builder, and its live count. */
export function segmentRoutes(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/segments', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Segments', section: 'segments', children: <NoSite /> });
    const [segments, offers] = await Promise.all([ctx.store.listSegments(site.id), ctx.store.listOffers(site.id)]);
    const counts = await countMembers(ctx, site.id, segments.map((s) => s.rule));
    return page(c, {
      here,
      title: 'Segments',
      section: 'segments',
      notice: DONE[c.req.query('done') ?? ''] ?? null,
      actions: (
        <a class="button button-primary" href={here.to('/console/segments/new')}>
          New segment
        </a>
      ),
      children: (
        <Card>
          {segments.length ? (
            <table class="table segments">
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col">Who</th>
                  <th scope="col" class="num">
                    Members
                  </th>
                  <th scope="col">Offers</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {segments.map((s, i) => {
                  const used = offers.filter((o) => o.segmentId === s.id).length;
                  return (
                    <tr>
                      <td>
                        <a class="strong" href={here.to(`/console/segments/${s.id}`)}>
                          {s.name}
                        </a>
                        {s.description ? <div class="sub">{truncate(s.description, 100)}</div> : null}
                      </td>
                      <td class="rule-words">{truncate(describeRule(s.rule), 160)}</td>
                      <td class="num">
                        <a href={here.to('/console/customers', { segment: s.id })} title="See the members">
                          {num(counts[i])}
                        </a>
                      </td>
                      <td>{used ? <a href={here.to('/console/offers')}>{plural(used, 'offer')}</a> : <span class="muted">none</span>}</td>
                      <td class="nowrap">{ago(s.updatedAt, here.now)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : (
            <Empty
              title="No segments yet"
              action={
                <a class="button button-primary" href={here.to('/console/segments/new')}>
                  Build the first segment
                </a>
              }
            >
              A segment is a group of customers described by a rule: “bought in the last 30 days”, “came from a search for Thailand”.
              Offers are shown to the members of a segment.
            </Empty>
          )}
        </Card>
      ),
    });
  });

  app.get('/segments/new', (c) => {
    const here = hereOf(c, ctx);
    if (!here.site) return page(c, { here, title: 'New segment', section: 'segments', children: <NoSite /> });
    return editor(c, here, { name: '', description: '', rule: JSON.stringify(NEW_RULE, null, 2) });
  });

  app.post('/segments', async (c) => {
    const form = await c.req.parseBody();
    const site = siteOf(ctx, form.site);
    const here = hereOf(c, ctx, site);
    const values = formValues(form);
    try {
      const now = ctx.now();
      const segment: Segment = { id: `seg_${newId()}`, siteId: site.id, ...segmentFields(bodyOf(values)), createdAt: now, updatedAt: now };
      await save(ctx, segment);
      return c.redirect(here.to('/console/segments', { done: 'saved' }), 303);
    } catch (error) {
      return refused(c, here, values, error);
    }
  });

  app.get('/segments/:id', async (c) => {
    const segment = await findSegment(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, segment.siteId);
    const [count] = await countMembers(ctx, segment.siteId, [segment.rule]);
    return editor(c, here, { name: segment.name, description: segment.description ?? '', rule: JSON.stringify(segment.rule, null, 2) }, { segment, count });
  });

  app.post('/segments/:id', async (c) => {
    const current = await findSegment(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, current.siteId);
    const values = formValues(await c.req.parseBody());
    try {
      await save(ctx, { ...current, ...segmentFields(bodyOf(values)), updatedAt: ctx.now() });
      return c.redirect(here.to('/console/segments', { done: 'saved' }), 303);
    } catch (error) {
      return refused(c, here, values, error, current);
    }
  });

  app.get('/segments/:id/delete', async (c) => {
    const segment = await findSegment(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, segment.siteId);
    const users = await offersUsing(ctx, segment);
    const one = users.length === 1;
    const self = `/console/segments/${segment.id}`;
    return page(c, {
      here,
      title: `Delete ${segment.name}?`,
      section: 'segments',
      back: { href: self, label: 'Back to the segment' },
      children: users.length ? (
        <Card>
          <p>{`${plural(users.length, 'offer')} ${one ? 'is' : 'are'} shown to this segment. Aim ${one ? 'it' : 'them'} at another segment or delete ${one ? 'it' : 'them'} first, so that no offer loses its audience:`}</p>
          <ul>
            {users.map((o) => (
              <li>
                <a href={`/console/offers/${o.id}`}>{o.name}</a>
              </li>
            ))}
          </ul>
        </Card>
      ) : (
        <Confirm here={here} action={`${self}/delete`} label="Delete the segment" cancel={self}>
          <p>The rule goes; the customers it describes and everything stored about them stay. It cannot be undone.</p>
        </Confirm>
      ),
    });
  });

  app.post('/segments/:id/delete', async (c) => {
    const segment = await findSegment(ctx, c.req.param('id'));
    await remove(ctx, segment);
    return c.redirect(withQuery('/console/segments', { site: segment.siteId, done: 'deleted' }), 303);
  });

  // The builder's live count: the API's preview, behind the console's session and CSRF token.
  app.post('/api/segments/count', async (c) => {
    const body = await jsonBody(c, ['site', 'rule']);
    const site = siteOf(ctx, body.site);
    const [count] = await countMembers(ctx, site.id, [ruleOf(body)]);
    return c.json({ count });
  });

  return app;
}

interface SegmentValues {
  name: string;
  description: string;
  /** The rule as the form sent it: text, which may not even be JSON. */
  rule: string;
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');
const formValues = (form: Record<string, unknown>): SegmentValues => ({ name: text(form.name), description: text(form.description), rule: text(form.rule) });

/** The form as the API's body, so that the same readers validate it with the same messages. */
function bodyOf(values: SegmentValues): Record<string, unknown> {
  let rule: unknown;
  try {
    rule = JSON.parse(values.rule);
  } catch (error) {
    throw new HttpError(400, `rule: is not valid JSON (${(error as Error).message})`, [{ field: 'rule', message: 'is not valid JSON' }]);
  }
  return { name: values.name, description: values.description.trim() === '' ? undefined : values.description, rule };
}

function refused(c: Context<ConsoleEnv>, here: Here, values: SegmentValues, error: unknown, segment?: Segment) {
  return editor(c, here, values, segment ? { segment } : undefined, problemOf(error), 400);
}

function editor(
  c: Context<ConsoleEnv>,
  here: Here,
  values: SegmentValues,
  existing?: { segment: Segment; count?: number },
  problem?: Problem,
  status: 400 | 200 = 200,
) {
  const site = here.site as Site;
  const segment = existing?.segment;
  const title = segment ? segment.name : 'New segment';
  return page(
    c,
    {
      here,
      title,
      section: 'segments',
      back: { href: here.to('/console/segments'), label: 'Segments' },
      scripts: ['segment-builder.js'],
      actions: segment ? (
        <>
          <a class="button" href={here.to('/console/customers', { segment: segment.id })}>
            See the members
          </a>
          <a class="button button-quiet" href={`/console/segments/${segment.id}/delete`}>
            Delete…
          </a>
        </>
      ) : undefined,
      children: (
        <form method="post" action={segment ? `/console/segments/${segment.id}` : '/console/segments'} class="stack" id="segment-form">
          <CsrfField here={here} />
          <input type="hidden" name="site" value={site.id} />
          <Problems problem={problem} />
          <Card title="About">
            <div class="form-grid">
              <label for="name">Name</label>
              <input id="name" name="name" value={values.name} required maxlength={100} placeholder="e.g. Thailand fans" />
              <label for="description">Description</label>
              <input id="description" name="description" value={values.description} maxlength={500} placeholder="What the members have in common (optional)" />
            </div>
          </Card>
          <Card
            title="Who is in it"
            actions={
              <output id="live-count" class="live-count" aria-live="polite" for="rule">
                {existing?.count !== undefined ? `${plural(existing.count, 'customer')} match now` : ''}
              </output>
            }
          >
            <p class="hint count-hint">
              {`Counted over the customers of ${site.name} as they are now. Conditions on the page being viewed or the current visit are judged only when a page asks for an offer: the count cannot foresee them.`}
            </p>
            <ul id="rule-problems" class="rule-problems" aria-live="polite"></ul>
            <div
              id="rule-builder"
              class="rule-builder"
              data-schema={JSON.stringify(builderSchema())}
              data-count-url="/console/api/segments/count"
              data-site={site.id}
            ></div>
            <div id="rule-json" class="rule-json">
              <label for="rule">Rule as JSON</label>
              <textarea id="rule" name="rule" rows={14} spellcheck={false} class="code">
                {values.rule}
              </textarea>
              <p class="hint">
                {'Groups: '}
                <code>{'{"all": [...]}'}</code>, <code>{'{"any": [...]}'}</code>, <code>{'{"not": rule}'}</code>
                {'. Conditions: '}
                <code>{'{"field": "referrer.first.term", "op": "contains", "value": "thailand"}'}</code>
                {' or '}
                <code>{'{"event": "Order Completed", "op": "gte", "value": 1, "withinDays": 30}'}</code>.
              </p>
            </div>
            <noscript>
              <p class="hint">The rule builder needs JavaScript; the rule can be edited as JSON above.</p>
            </noscript>
            <div class="builder-foot">
              <button type="button" id="rule-toggle" class="button button-quiet button-small" hidden>
                Edit as JSON
              </button>
            </div>
          </Card>
          <div class="actions-row">
            <button type="submit" class="button button-primary">
              {segment ? 'Save changes' : 'Save segment'}
            </button>
            <a class="button button-quiet" href={here.to('/console/segments')}>
              Cancel
            </a>
          </div>
        </form>
      ),
    },
    status,
  );
}
