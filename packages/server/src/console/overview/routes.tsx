import { Hono } from 'hono';
import type { AppContext } from '../../app-context.js';
import type { AbcSummary } from '../../profiles/rankings.js';
import type { DayRange } from '../../reports/days.js';
import { siteOverview, type Overview } from '../../reports/overview.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { BarList, DailyChart, SplitBar } from '../ui/charts.js';
import { Card, Empty, Stat } from '../ui/components.js';
import { money, num, pct } from '../ui/format.js';
import { hereOf, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { consoleRange, RangePicker, rangeLabel } from '../ui/range.js';

/** `GET /console`: how the chosen site is doing over a range of its days, from the rollups. */
export function overviewRoutes(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();
  app.get('/', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Overview', section: 'overview', children: <NoSite /> });
    const range = consoleRange(c.req.query(), here, site);
    // The ABC card reads the cached rankings: counted at most every few minutes, never per view.
    const [overview, rankings] = await Promise.all([siteOverview(ctx.store, site, range), ctx.rankings.get(site.id)]);
    return page(c, {
      here,
      title: site.name,
      section: 'overview',
      children: <OverviewPage here={here} site={site} range={range} overview={overview} abc={rankings.summary} />,
    });
  });
  return app;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function OverviewPage(props: { here: Here; site: Site; range: DayRange; overview: Overview; abc: AbcSummary }) {
  const { here, site, overview: o, abc } = props;
  if (o.people === 0) {
    return (
      <Card>
        <Empty
          title="No visitors yet"
          action={
            <a class="button button-primary" href={here.to(`/console/sites/${site.id}`)}>
              Get the script tag
            </a>
          }
        >
          {`Once the script tag of ${site.name} is on your pages, visits, customers and their sources show up here.`}
        </Empty>
      </Card>
    );
  }
  const dates = o.daily.map((d) => d.date);
  const t = o.totals;
  const span = `${o.range.days} days`;
  return (
    <>
      <RangePicker here={here} path="/console" range={props.range} site={site} />
      <div class="stats">
        <Stat label="People" value={num(o.people)} hint="all time" />
        <Stat label="Identified customers" value={num(o.identified)} hint={`${pct(o.people ? o.identified / o.people : 0, 0)} of people`} />
        <Stat label="New visitors" value={num(t.newVisitors)} hint={span} />
        <Stat label="Sessions" value={num(t.sessions)} hint={span} />
        <Stat label="Events" value={num(t.events)} hint={span} />
        <Stat label="Orders" value={num(t.orders)} hint={`${money(t.revenue / 100)}, ${span}`} />
      </div>
      <Card title="Visitors per day" actions={<span class="muted small">{`${rangeLabel(props.range)}, ${o.timeZone}`}</span>}>
        <DailyChart
          title="Visitors per day, new and returning"
          unit="visitors"
          dates={dates}
          series={[
            { name: 'New', tone: 'tone-1', values: o.daily.map((d) => d.newVisitors) },
            { name: 'Returning', tone: 'tone-3', values: o.daily.map((d) => d.visitors - d.newVisitors) },
          ]}
          tableOnly={[
            { name: 'Sessions', tone: 'tone-2', values: o.daily.map((d) => d.sessions) },
            { name: 'Events', tone: 'tone-4', values: o.daily.map((d) => d.events) },
            { name: 'Orders', tone: 'tone-5', values: o.daily.map((d) => d.orders) },
          ]}
        />
      </Card>
      <div class="grid-2">
        <Card title="Top referral sources" actions={<span class="muted small">{`sessions, ${span}`}</span>}>
          {o.sources.length ? (
            <BarList
              title={`Sessions by referral source, ${span}`}
              unit="sessions"
              rows={o.sources.map((s) => ({ label: s.source || capital(s.medium), value: s.sessions, hint: s.source ? s.medium : undefined }))}
            />
          ) : (
            <p class="muted">No sessions in this range.</p>
          )}
        </Card>
        <Card title="Top search keywords" actions={<span class="muted small">{`sessions, ${span}`}</span>}>
          {o.keywords.length ? (
            <BarList title={`Sessions by search keyword, ${span}`} unit="sessions" rows={o.keywords.map((k) => ({ label: k.term, value: k.sessions }))} />
          ) : (
            <p class="muted">No search keywords in this range. Search engines pass few of them; campaign links can name one with utm_term.</p>
          )}
        </Card>
      </div>
      <div class="grid-2">
        <Card title="New and returning" actions={<span class="muted small">{`visitors per day, added up over ${span}`}</span>}>
          {t.visitors ? (
            <SplitBar
              title={`New and returning visitors, ${span}`}
              parts={[
                { label: 'New', value: t.newVisitors, tone: 'tone-1', hint: 'people on their first day' },
                { label: 'Returning', value: t.visitors - t.newVisitors, tone: 'tone-3', hint: 'visitor-days of people known from before' },
              ]}
            />
          ) : (
            <p class="muted">Nobody visited in this range.</p>
          )}
        </Card>
        <Card title="ABC classes" actions={<span class="muted small">customers by revenue, all time</span>}>
          {abc.revenue > 0 ? (
            <>
              <SplitBar
                title="Customers by ABC class"
                share={false}
                parts={(['A', 'B', 'C'] as const).map((k, i) => ({
                  label: k,
                  value: abc.classes[k].customers,
                  tone: ['tone-2', 'tone-1', 'tone-4'][i],
                  hint: `customers, ${pct(abc.classes[k].revenue / abc.revenue, 0)} of revenue`,
                }))}
              />
              <p class="muted small">
                {`A customers together make the first 80% of revenue (${money(abc.revenue)} in all), B the next 15%, C the rest. ${num(Math.max(0, o.people - abc.buyers))} people have not bought yet.`}
              </p>
            </>
          ) : (
            <p class="muted">{`No purchases yet. Classes appear once "Order Completed" events with a revenue arrive.`}</p>
          )}
        </Card>
      </div>
    </>
  );
}
