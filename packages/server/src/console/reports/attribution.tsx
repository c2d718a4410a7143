import { Hono } from 'hono';
import type { AppContext } from '../../app-context.js';
import { HttpError } from '../../http/errors.js';
import { attribution, csvCell, segmentAttribution, type AttributionRow } from '../../reports/attribution.js';
import { segmentTest } from '../../segments/membership.js';
import type { DayRange } from '../../reports/days.js';
import { byParam } from '../../reports/routes.js';
import type { TouchField } from '../../store/store.js';
import { TOUCH_FIELDS } from '../../store/store.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { BarList } from '../ui/charts.js';
import { Card, Empty } from '../ui/components.js';
import { money, num, pct } from '../ui/format.js';
import { hereOf, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { consoleRange, RangePicker, rangeLabel } from '../ui/range.js';
import { ReportTabs } from './tabs.js';

const BY_LABELS: Record<TouchField, string> = { source: 'Source', medium: 'Medium', campaign: 'Campaign', term: 'Search keyword' };
const COLUMNS = ['visitors', 'customers', 'orders', 'revenue', 'conversionRate', 'revenuePerVisitor'] as const;
type Column = (typeof COLUMNS)[number];
const COLUMN_LABELS: Record<Column, string> = {
  visitors: 'Visitors',
  customers: 'Customers',
  orders: 'Orders',
  revenue: 'Revenue',
  conversionRate: 'Conversion',
  revenuePerVisitor: 'Revenue per visitor',
};

/** One row of the page: a key with its first-touch and last-touch figures. */
interface SideBySide {
  key: string;
  first: AttributionRow;
  last: AttributionRow;
}

const EMPTY_ROW = (key: string): AttributionRow => ({ key, visitors: 0, customers: 0, orders: 0, revenue: 0, conversionRate: 0, revenuePerVisitor: 0 });

async function sideBySide(ctx: AppContext, site: Site, range: DayRange, by: TouchField, segment: string | undefined): Promise<SideBySide[]> {
  const inSegment = segment ? await segmentTest(ctx, site.id, segment) : null;
  const report = (touch: 'first' | 'last') =>
    inSegment ? segmentAttribution(ctx.store, site, range, touch, by, inSegment) : attribution(ctx.store, site, range, touch, by);
  const [first, last] = await Promise.all([report('first'), report('last')]);
  const rows = new Map<string, SideBySide>();
  for (const r of first.rows) rows.set(r.key, { key: r.key, first: r, last: EMPTY_ROW(r.key) });
  for (const r of last.rows) {
    const row = rows.get(r.key);
    if (row) row.last = r;
    else rows.set(r.key, { key: r.key, first: EMPTY_ROW(r.key), last: r });
  }
  return [...rows.values()];
}

/** The sort of the table: `first.revenue` (the default) or any touch and column, descending or not. */
function sortOf(value: string | undefined, dir: string | undefined) {
  const [touch, column] = (value ?? 'first.revenue').split('.');
  if ((touch !== 'first' && touch !== 'last') || !COLUMNS.includes(column as Column)) {
    throw new HttpError(400, `sort: must be first.<column> or last.<column>, with a column among ${COLUMNS.join(', ')}`);
  }
  if (dir !== undefined && dir !== 'asc' && dir !== 'desc') throw new HttpError(400, 'dir: must be asc or desc');
  return { touch: touch as 'first' | 'last', column: column as Column, descending: dir !== 'asc' };
}

/** `GET /console/reports/attribution`: which sources and keywords bring customers who buy, first and last touch side by side. */
export function attributionPages(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/attribution', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Attribution', section: 'reports', children: <NoSite /> });
    const q = c.req.query();
    const range = consoleRange(q, here, site);
    const by = consoleBy(q.by);
    const sort = sortOf(q.sort || undefined, q.dir || undefined);
    const segment = q.segment || undefined;
    const rows = await sideBySide(ctx, site, range, by, segment);
    const segments = [...(await ctx.catalog.forSite(site.id)).segments.values()].map((s) => ({ id: s.segment.id, name: s.segment.name }));
    const value = (r: SideBySide) => r[sort.touch][sort.column];
    rows.sort((a, b) => (sort.descending ? value(b) - value(a) : value(a) - value(b)) || a.key.localeCompare(b.key));
    return page(c, {
      here,
      title: 'Attribution',
      section: 'reports',
      children: <AttributionPage here={here} site={site} range={range} by={by} sort={sort} rows={rows} query={q} segments={segments} segment={segment} />,
    });
  });

  app.get('/attribution.csv', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) throw new HttpError(404, 'There is no site yet.');
    const q = c.req.query();
    const range = consoleRange(q, here, site);
    const by = consoleBy(q.by);
    const rows = (await sideBySide(ctx, site, range, by, q.segment || undefined)).sort((a, b) => b.first.revenue - a.first.revenue || a.key.localeCompare(b.key));
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="attribution-${by}.csv"`);
    return c.body(sideBySideCsv(by, rows));
  });

  return app;
}

function consoleBy(value: string | undefined): TouchField {
  try {
    return byParam(value || undefined);
  } catch {
    throw new HttpError(400, `by: must be one of ${TOUCH_FIELDS.join(', ')}`);
  }
}

/** CSV of the table; a cell that a spreadsheet would run as a formula is prefixed so that it stays text. */
export function sideBySideCsv(by: TouchField, rows: SideBySide[]): string {
  const cell = csvCell;
  const figures = (r: AttributionRow) => [r.visitors, r.customers, r.orders, r.revenue.toFixed(2), r.conversionRate.toFixed(4), r.revenuePerVisitor.toFixed(2)];
  const header = [by, ...['first', 'last'].flatMap((t) => COLUMNS.map((c) => `${t}_${c.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)}`))];
  const lines = [header.join(','), ...rows.map((r) => [cell(r.key), ...figures(r.first), ...figures(r.last)].join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

const shown = (column: Column, r: AttributionRow) =>
  column === 'revenue' || column === 'revenuePerVisitor' ? money(r[column]) : column === 'conversionRate' ? pct(r[column], 1) : num(r[column]);

function AttributionPage(props: {
  here: Here;
  site: Site;
  range: DayRange;
  by: TouchField;
  sort: { touch: 'first' | 'last'; column: Column; descending: boolean };
  rows: SideBySide[];
  query: Record<string, string>;
  segments: Array<{ id: string; name: string }>;
  segment: string | undefined;
}) {
  const { here, site, range, by, sort, rows } = props;
  const keep = { by, ...(props.segment ? { segment: props.segment } : {}), ...(props.query.days ? { days: props.query.days } : {}), ...(props.query.from ? { from: props.query.from, to: props.query.to ?? '' } : {}) };
  const sortLink = (touch: 'first' | 'last', column: Column) => {
    const current = sort.touch === touch && sort.column === column;
    const dir = current && sort.descending ? 'asc' : 'desc';
    return (
      <a href={here.to('/console/reports/attribution', { ...keep, sort: `${touch}.${column}`, dir })} aria-sort={current ? (sort.descending ? 'descending' : 'ascending') : undefined}>
        {COLUMN_LABELS[column]}
        {current ? (sort.descending ? ' ↓' : ' ↑') : ''}
      </a>
    );
  };
  const label = (key: string) => key || (by === 'source' ? '(direct or none)' : '(none)');
  const topRevenue = [...rows].sort((a, b) => b.first.revenue - a.first.revenue).filter((r) => r.first.revenue > 0).slice(0, 10);
  return (
    <>
      <ReportTabs here={here} current="attribution" />
      <RangePicker here={here} path="/console/reports/attribution" range={range} site={site} keep={props.segment ? { by, segment: props.segment } : { by }} />
      <div class="report-controls">
        <span class="muted">Group by</span>
        {TOUCH_FIELDS.map((field) => (
          <a class={field === by ? 'button button-small is-current' : 'button button-small'} href={here.to('/console/reports/attribution', { ...keep, by: field })}>
            {BY_LABELS[field]}
          </a>
        ))}
        <a class="button button-small" href={here.to('/console/reports/attribution.csv', keep)} download>
          Download CSV
        </a>
      </div>
      {props.segments.length ? (
        <form class="report-controls" method="get" action="/console/reports/attribution">
          <input type="hidden" name="site" value={site.id} />
          {Object.entries(keep)
            .filter(([name]) => name !== 'segment')
            .map(([name, value]) => (
              <input type="hidden" name={name} value={value} />
            ))}
          <label>
            Segment{' '}
            <select name="segment">
              <option value="">Everyone</option>
              {props.segments.map((s) => (
                <option value={s.id} selected={s.id === props.segment}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="button button-small">
            Filter
          </button>
          {props.segment ? <span class="muted small">The people of the segment as they are now, from their profiles: last-touch visitors are then people seen in the range.</span> : null}
        </form>
      ) : null}
      {rows.length === 0 ? (
        <Card>
          <Empty title="Nothing to attribute in this range">
            Visitors, customers and orders show up here by where they came from once the script tag sends page views and
            "Order Completed" events.
          </Empty>
        </Card>
      ) : (
        <>
          <Card title={`Revenue by ${BY_LABELS[by].toLowerCase()}, first touch`} actions={<span class="muted small">{rangeLabel(range)}</span>}>
            {topRevenue.length ? (
              <BarList
                title={`Revenue by ${BY_LABELS[by].toLowerCase()} of the buyer's first touch`}
                unit="revenue"
                rows={topRevenue.map((r) => ({ label: label(r.key), value: r.first.revenue }))}
              />
            ) : (
              <p class="muted">No revenue in this range.</p>
            )}
          </Card>
          <Card title={`${BY_LABELS[by]}: first touch and last touch`}>
            <div class="table-scroll">
              <table class="table report-table">
                <caption class="sr-only">{`Attribution by ${BY_LABELS[by].toLowerCase()}, ${rangeLabel(range)}`}</caption>
                <thead>
                  <tr>
                    <th scope="col" rowspan={2}>
                      {BY_LABELS[by]}
                    </th>
                    <th scope="colgroup" colspan={COLUMNS.length}>
                      First touch
                    </th>
                    <th scope="colgroup" colspan={COLUMNS.length}>
                      Last touch
                    </th>
                  </tr>
                  <tr>
                    {(['first', 'last'] as const).flatMap((touch) =>
                      COLUMNS.map((column) => (
                        <th scope="col" class="num">
                          {sortLink(touch, column)}
                        </th>
                      )),
                    )}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr>
                      <th scope="row">{label(r.key)}</th>
                      {(['first', 'last'] as const).flatMap((touch) => COLUMNS.map((column) => <td class="num">{shown(column, r[touch])}</td>))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p class="muted small">
              First touch: visitors are people first seen in the range, by what first brought them; customers are people whose
              first order is in the range. Last touch: visitors are the sessions of the range, by where each came from; customers
              are counted by their last touch before their first order. Orders and revenue are those of the range, credited to the
              buyer's touch when they ordered. Days are in {site.settings.timeZone}.
            </p>
          </Card>
        </>
      )}
    </>
  );
}
