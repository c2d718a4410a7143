import { Hono } from 'hono';
import type { AppContext } from '../../app-context.js';
import { isoDate, type DayRange } from '../../reports/days.js';
import { funnelReport, funnelRequest, MAX_STEPS, MAX_WITHIN_DAYS, segmentOfSplit, type FunnelReport, type FunnelStepFigures } from '../../reports/funnel.js';
import type { FunnelStep } from '../../store/store.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { BarList } from '../ui/charts.js';
import { Card, Empty, problemOf, type Problem } from '../ui/components.js';
import { num, pct } from '../ui/format.js';
import { hereOf, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { consoleRange, RangePicker, rangeLabel } from '../ui/range.js';
import { ReportTabs } from './tabs.js';

/** The steps a new funnel starts with: the e-commerce standard events of the Segment spec. */
const DEFAULT_STEPS: FunnelStep[] = [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Checkout Started' }, { event: 'Order Completed' }];
const DEFAULT_WITHIN = '7';
const PATH = '/console/reports/funnel';

/** A step row of the form: `kindN` (event or path) and `stepN` (its name or path), N from 1. */
interface StepRow {
  kind: 'event' | 'path';
  value: string;
}

/** The steps of the form's query; the defaults when it has none (a first visit). */
function rowsOf(q: Record<string, string>): StepRow[] {
  const rows: StepRow[] = [];
  for (let n = 1; n <= MAX_STEPS; n++) {
    const value = (q[`step${n}`] ?? '').trim();
    if (value) rows.push({ kind: q[`kind${n}`] === 'path' ? 'path' : 'event', value });
  }
  if (rows.length || Object.keys(q).some((k) => k.startsWith('step'))) return rows;
  return DEFAULT_STEPS.map((s) => ('event' in s ? { kind: 'event', value: s.event } : { kind: 'path', value: s.path }));
}

/** `GET /console/reports/funnel`: a form of steps, the people at each step as bars, their figures in a table. */
export function funnelPages(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/funnel', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Funnels', section: 'reports', children: <NoSite /> });
    const q = c.req.query();
    const range = consoleRange(q, here, site);
    const rows = rowsOf(q);
    const within = q.within ?? DEFAULT_WITHIN;
    const by = q.by ?? '';
    let report: FunnelReport | null = null;
    let problem: Problem | null = null;
    try {
      const body = {
        steps: rows.map((r) => ({ [r.kind]: r.value })),
        withinDays: within.trim() === '' ? undefined : Number(within),
        by: by || undefined,
        from: isoDate(range.from),
        to: isoDate(range.to),
      };
      const request = funnelRequest(body, site, here.now);
      report = await funnelReport(ctx.store, site, request, await segmentOfSplit(ctx, site, request.by));
    } catch (error) {
      problem = problemOf(error);
    }
    const segments = [...(await ctx.catalog.forSite(site.id)).segments.values()].map((s) => ({ id: s.segment.id, name: s.segment.name }));
    return page(c, {
      here,
      title: 'Funnels',
      section: 'reports',
      children: <FunnelPage here={here} site={site} range={range} rows={rows} within={within} by={by} segments={segments} report={report} problem={problem} />,
    });
  });

  return app;
}

/** The query that shows this funnel again (for the range picker's links and form). */
function keepOf(rows: StepRow[], within: string, by: string): Record<string, string> {
  const keep: Record<string, string> = { within };
  if (by) keep.by = by;
  rows.forEach((r, i) => {
    keep[`kind${i + 1}`] = r.kind;
    keep[`step${i + 1}`] = r.value;
  });
  return keep;
}

const BY_OPTIONS = [
  { value: '', label: 'Nobody: everyone together' },
  { value: 'source', label: 'Source of the first visit' },
  { value: 'medium', label: 'Medium of the first visit' },
];

function StepsForm(props: { here: Here; site: Site; range: DayRange; rows: StepRow[]; within: string; by: string; segments: Array<{ id: string; name: string }> }) {
  const { rows } = props;
  // One empty row to add a step with, as long as there is room.
  const shown: StepRow[] = [...rows];
  while (shown.length < Math.min(MAX_STEPS, Math.max(rows.length + 1, 4))) shown.push({ kind: 'event', value: '' });
  return (
    <form class="funnel-form" method="get" action={PATH}>
      <input type="hidden" name="site" value={props.site.id} />
      <input type="hidden" name="from" value={isoDate(props.range.from)} />
      <input type="hidden" name="to" value={isoDate(props.range.to)} />
      <ol class="funnel-steps">
        {shown.map((row, i) => (
          <li class="report-controls">
            <label>
              {`Step ${i + 1} `}
              <select name={`kind${i + 1}`} aria-label={`Step ${i + 1}: an event or a page path`}>
                <option value="event" selected={row.kind === 'event'}>
                  Event
                </option>
                <option value="path" selected={row.kind === 'path'}>
                  Page path
                </option>
              </select>
            </label>
            <input type="text" name={`step${i + 1}`} value={row.value} maxlength={1000} placeholder={i === 0 ? 'Product Viewed' : i === 1 ? '/checkout' : ''} aria-label={`Step ${i + 1}: the event name or the path`} />
          </li>
        ))}
      </ol>
      <div class="report-controls">
        <label>
          Within <input type="number" name="within" value={props.within} min={1} max={MAX_WITHIN_DAYS} required /> days of step 1
        </label>
        <label>
          Split by{' '}
          <select name="by">
            {BY_OPTIONS.map((o) => (
              <option value={o.value} selected={o.value === props.by}>
                {o.label}
              </option>
            ))}
            {props.segments.map((s) => (
              <option value={`segment:${s.id}`} selected={`segment:${s.id}` === props.by}>
                {`Segment: ${s.name}`}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="button button-primary button-small">
          Show the funnel
        </button>
      </div>
      <p class="muted small">
        {`Leave a step empty to drop it; ${MAX_STEPS} steps at most. An event is the name of a track call ("Order Completed"); a page path is the path of a page view, exactly ("/checkout").`}
      </p>
    </form>
  );
}

function FiguresTable(props: { caption: string; steps: FunnelStepFigures[] }) {
  return (
    <div class="table-scroll">
      <table class="table report-table">
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col" class="num">
              People
            </th>
            <th scope="col" class="num">
              From the step before
            </th>
            <th scope="col" class="num">
              From step 1
            </th>
          </tr>
        </thead>
        <tbody>
          {props.steps.map((s, k) => (
            <tr>
              <th scope="row">{`${k + 1}. ${s.label}`}</th>
              <td class="num">{num(s.people)}</td>
              <td class="num">{k === 0 ? '—' : pct(s.conversionFromPrevious, 1)}</td>
              <td class="num">{pct(s.conversionFromFirst, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const groupLabel = (by: string, key: string) =>
  by.startsWith('segment:') ? (key === 'in' ? 'In the segment' : 'Not in the segment') : key || (by === 'source' ? '(direct or none)' : '(none)');

function FunnelPage(props: {
  here: Here;
  site: Site;
  range: DayRange;
  rows: StepRow[];
  within: string;
  by: string;
  segments: Array<{ id: string; name: string }>;
  report: FunnelReport | null;
  problem: Problem | null;
}) {
  const { here, site, range, report } = props;
  return (
    <>
      <ReportTabs here={here} current="funnel" />
      <RangePicker here={here} path={PATH} range={range} site={site} keep={keepOf(props.rows, props.within, props.by)} />
      <Card title="Steps">
        <StepsForm here={here} site={site} range={range} rows={props.rows} within={props.within} by={props.by} segments={props.segments} />
      </Card>
      {props.problem ? (
        <div class="alert alert-error" role="alert">
          {props.problem.message}
        </div>
      ) : null}
      {report === null ? null : report.steps[0].people === 0 ? (
        <Card>
          <Empty title="Nobody did step 1 in this range">
            {`No one did "${report.steps[0].label}" between ${report.from} and ${report.to}. Check the name (event names are exact: "Product Viewed", not "product viewed") or pick a longer range.`}
          </Empty>
        </Card>
      ) : (
        <>
          <Card title="People at each step" actions={<span class="muted small">{`${rangeLabel(range)}, within ${report.withinDays} days`}</span>}>
            <BarList
              title={`People at each step of the funnel, ${rangeLabel(range)}`}
              unit="people"
              rows={report.steps.map((s, k) => ({ label: `${k + 1}. ${s.label}`, value: s.people, hint: k === 0 ? undefined : `${pct(s.conversionFromFirst, 0)} of step 1` }))}
            />
            <FiguresTable caption={`The funnel's figures, ${rangeLabel(range)}`} steps={report.steps} />
            <p class="muted small">
              {`People enter at their first step 1 between ${report.from} and ${report.to} (days in ${report.timeZone}); each next step counts when they did it after the step before, within ${report.withinDays} days of entering.`}
            </p>
          </Card>
          {report.groups ? (
            <Card title={`Split by ${props.by.startsWith('segment:') ? 'segment' : props.by}`}>
              <div class="table-scroll">
                <table class="table report-table">
                  <caption class="sr-only">People at each step by group</caption>
                  <thead>
                    <tr>
                      <th scope="col">Group</th>
                      {report.steps.map((s, k) => (
                        <th scope="col" class="num">
                          {`${k + 1}. ${s.label}`}
                        </th>
                      ))}
                      <th scope="col" class="num">
                        Step 1 to the last
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.groups.map((g) => (
                      <tr>
                        <th scope="row">{groupLabel(props.by, g.key)}</th>
                        {g.steps.map((s) => (
                          <td class="num">{num(s.people)}</td>
                        ))}
                        <td class="num">{pct(g.steps[g.steps.length - 1].conversionFromFirst, 1)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Card>
          ) : null}
        </>
      )}
    </>
  );
}
