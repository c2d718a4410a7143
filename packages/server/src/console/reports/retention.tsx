import { Hono } from 'hono';
import type { AppContext } from '../../app-context.js';
import { RETENTION_WEEKS, retentionReport, retentionRequest, type CohortFigures, type RetentionReport } from '../../reports/cohorts.js';
import type { DayRange } from '../../reports/days.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { Card, Empty } from '../ui/components.js';
import { num, pct } from '../ui/format.js';
import { hereOf, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { RangePicker, rangeLabel } from '../ui/range.js';
import { ReportTabs } from './tabs.js';

const PATH = '/console/reports/retention';
/** Sources shown as grids of their own with by=source; the rest are in the total. */
const MAX_GROUPS = 6;
const METRICS = [
  { value: 'return', label: 'Came back', noun: 'came back' },
  { value: 'order', label: 'Bought', noun: 'bought' },
] as const;

/** `GET /console/reports/retention`: weekly cohorts as a grid shaded by share, with the average curve above it. */
export function retentionPages(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/retention', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Retention', section: 'reports', children: <NoSite /> });
    const q = c.req.query();
    // A bad field is a 400 page that names it.
    const request = retentionRequest(q, site, here.now);
    const report = await retentionReport(ctx.store, site, request, here.now);
    return page(c, { here, title: 'Retention', section: 'reports', children: <RetentionPage here={here} site={site} range={request.range} report={report} /> });
  });

  return app;
}

/**
 * The average curve: for each week after, the people who came back over the people of the
 * cohorts in which that week has begun.
 */
export function averageCurve(cohorts: CohortFigures[]): number[] {
  const curve: number[] = [];
  for (let k = 0; k < RETENTION_WEEKS; k++) {
    let people = 0;
    let back = 0;
    for (const cohort of cohorts) {
      if (cohort.weeks.length <= k) continue;
      people += cohort.people;
      back += cohort.weeks[k] * cohort.people;
    }
    if (people === 0) break;
    curve.push(back / people);
  }
  return curve;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Columns of the average share per week after, as inline SVG with its numbers in the title of each. */
function CurveChart(props: { title: string; curve: number[] }) {
  // The proportions of the overview's daily chart, which is drawn full width too.
  const W = 720;
  const H = 170;
  const pad = { left: 40, right: 12, top: 12, bottom: 26 };
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const step = plotW / RETENTION_WEEKS;
  const max = Math.max(0.1, ...props.curve);
  const top = Math.min(1, Math.ceil(max * 10) / 10);
  const yOf = (v: number) => pad.top + plotH - (v / top) * plotH;
  const summary = props.curve.map((v, k) => `week ${k + 1} ${pct(v, 0)}`).join(', ');
  return (
    <figure class="chart">
      <svg class="daily" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title}: ${summary}`}>
        <title>{`${props.title}: ${summary}`}</title>
        {[0, top / 2, top].map((t) => (
          <g class="grid">
            <line x1={String(pad.left)} x2={String(W - pad.right)} y1={String(round(yOf(t)))} y2={String(round(yOf(t)))} />
            <text x={String(pad.left - 5)} y={String(round(yOf(t) + 4))} text-anchor="end">
              {pct(t, 0)}
            </text>
          </g>
        ))}
        {props.curve.map((v, k) => (
          <rect class="col fill-tone-1" x={String(round(pad.left + step * k + step * 0.15))} y={String(round(yOf(v)))} width={String(round(step * 0.7))} height={String(round(pad.top + plotH - yOf(v)))}>
            <title>{`Week ${k + 1} after: ${pct(v, 1)}`}</title>
          </rect>
        ))}
        {Array.from({ length: RETENTION_WEEKS }, (_, k) => (
          <text class="axis-label" x={String(round(pad.left + step * k + step / 2))} y={String(H - 6)} text-anchor="middle">
            {`W${k + 1}`}
          </text>
        ))}
      </svg>
    </figure>
  );
}

/** A share as a cell shaded by it: an SVG swatch (the CSP allows no inline style) with the share written on it. */
function ShareCell(props: { share: number; people: number; noun: string }) {
  const text = pct(props.share, 0);
  const back = Math.round(props.share * props.people);
  return (
    <td class="num">
      <svg width="42" height="20" viewBox="0 0 42 20" role="img" aria-label={`${text}, ${num(back)} of ${num(props.people)} ${props.noun}`}>
        <title>{`${num(back)} of ${num(props.people)} ${props.noun} (${pct(props.share, 1)})`}</title>
        <rect class="fill-tone-1" x="0" y="0" width="42" height="20" rx="3" fill-opacity={String(round(0.06 + 0.94 * Math.min(1, props.share)))} />
        <text x="21" y="14" text-anchor="middle" font-size="11" font-family="inherit" fill={props.share > 0.45 ? '#ffffff' : '#1f2333'}>
          {text}
        </text>
      </svg>
    </td>
  );
}

function CohortGrid(props: { caption: string; cohorts: CohortFigures[]; noun: string }) {
  return (
    <div class="table-scroll">
      <table class="table compact report-table">
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Week of</th>
            <th scope="col" class="num">
              People
            </th>
            {Array.from({ length: RETENTION_WEEKS }, (_, k) => (
              <th scope="col" class="num" title={`Week ${k + 1} after the first`}>
                {`W${k + 1}`}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.cohorts.map((cohort) => (
            <tr>
              <th scope="row">{cohort.week}</th>
              <td class="num">{num(cohort.people)}</td>
              {Array.from({ length: RETENTION_WEEKS }, (_, k) =>
                k >= cohort.weeks.length ? (
                  <td class="num muted">·</td>
                ) : cohort.people === 0 ? (
                  <td class="num muted">—</td>
                ) : (
                  <ShareCell share={cohort.weeks[k]} people={cohort.people} noun={props.noun} />
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RetentionPage(props: { here: Here; site: Site; range: DayRange; report: RetentionReport }) {
  const { here, site, report } = props;
  const metric = METRICS.find((m) => m.value === report.metric)!;
  const keep = { metric: report.metric, ...(report.by ? { by: report.by } : {}) };
  const people = report.cohorts.reduce((sum, c) => sum + c.people, 0);
  const curve = averageCurve(report.cohorts);
  const link = (params: Record<string, string>) => here.to(PATH, { ...keep, from: report.from, to: report.to, ...params });
  return (
    <>
      <ReportTabs here={here} current="retention" />
      <RangePicker here={here} path={PATH} range={props.range} site={site} keep={keep} />
      <div class="report-controls">
        <span class="muted">Share who</span>
        {METRICS.map((m) => (
          <a class={m.value === report.metric ? 'button button-small is-current' : 'button button-small'} href={link({ metric: m.value })}>
            {m.label}
          </a>
        ))}
        <span class="muted">Split</span>
        <a class={report.by ? 'button button-small' : 'button button-small is-current'} href={link({ by: '' })}>
          Everyone
        </a>
        <a class={report.by ? 'button button-small is-current' : 'button button-small'} href={link({ by: 'source' })}>
          By first source
        </a>
      </div>
      {people === 0 ? (
        <Card>
          <Empty title="Nobody was first seen in this range">
            {`Cohorts are the people first seen between ${report.from} and ${report.to}, by week. Pick a longer range, or wait for the script tag to bring visitors.`}
          </Empty>
        </Card>
      ) : (
        <>
          <Card title={`Share who ${metric.noun}, week by week after their first`} actions={<span class="muted small">{`${num(people)} people, weeks from Monday, ${report.timeZone}`}</span>}>
            {curve.length ? <CurveChart title={`Average share who ${metric.noun} in each week after the first`} curve={curve} /> : <p class="muted">No week after the first has begun yet.</p>}
          </Card>
          <Card title="Cohorts by first week" actions={<span class="muted small">{rangeLabel(props.range)}</span>}>
            <CohortGrid caption={`Share of each week's new people who ${metric.noun} in each week after`} cohorts={report.cohorts} noun={metric.noun} />
            <p class="muted small">
              {`Each row is the people first seen in a week (Monday to Sunday, ${report.timeZone}); W1 is the week after theirs. ${
                report.metric === 'return' ? 'Coming back is any event' : 'Buying is an "Order Completed" event'
              }, counted once per person and week. Weeks that have not begun are left empty; the current one is still filling up.`}
            </p>
          </Card>
          {(report.groups ?? []).slice(0, MAX_GROUPS).map((g) => (
            <Card title={`First source: ${g.key || '(direct or none)'}`} actions={<span class="muted small">{`${num(g.cohorts.reduce((s, c) => s + c.people, 0))} people`}</span>}>
              <CohortGrid caption={`Cohorts of people whose first source was ${g.key || 'direct or none'}`} cohorts={g.cohorts} noun={metric.noun} />
            </Card>
          ))}
          {(report.groups?.length ?? 0) > MAX_GROUPS ? <p class="muted small">{`The other ${report.groups!.length - MAX_GROUPS} sources are in the total above; the API has them all.`}</p> : null}
        </>
      )}
    </>
  );
}
