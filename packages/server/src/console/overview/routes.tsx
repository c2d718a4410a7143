import { Hono } from 'hono';
import type { AppContext } from '../../app-context.js';
import { abcClasses } from '../../profiles/rankings.js';
import type { RankingInput, Site } from '../../store/types.js';
import type { SiteOverview } from '../../store/store.js';
import type { ConsoleEnv } from '../env.js';
import { BarList, DailyChart, SplitBar } from '../ui/charts.js';
import { Card, Empty, Stat } from '../ui/components.js';
import { money, num, pct } from '../ui/format.js';
import { hereOf, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';

/** `GET /console`: how the chosen site is doing. */
export function overviewRoutes(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();
  app.get('/', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Overview', section: 'overview', children: <NoSite /> });
    const [overview, inputs] = await Promise.all([ctx.store.siteOverview(site.id, here.now), ctx.store.rankingInputs(site.id)]);
    return page(c, {
      here,
      title: site.name,
      section: 'overview',
      children: <Overview here={here} site={site} overview={overview} inputs={inputs} />,
    });
  });
  return app;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * ABC classes of the buyers (who together make 80%, 15% and 5% of revenue) with their share of
 * revenue; people who never bought are counted apart rather than as C.
 */
function abcParts(inputs: RankingInput[], visitors: number) {
  const classes = abcClasses(inputs);
  const figures = { A: { customers: 0, revenue: 0 }, B: { customers: 0, revenue: 0 }, C: { customers: 0, revenue: 0 } };
  let buyers = 0;
  let total = 0;
  for (const p of inputs) {
    if (p.revenue <= 0) continue;
    buyers++;
    const f = figures[classes.get(p.id) ?? 'C'];
    f.customers++;
    f.revenue += p.revenue;
    total += p.revenue;
  }
  // rankingInputs holds the people who ordered; everyone else has not bought.
  return { figures, none: visitors - buyers, total };
}

function Overview(props: { here: Here; site: Site; overview: SiteOverview; inputs: RankingInput[] }) {
  const { here, site, overview: o } = props;
  if (o.visitors === 0) {
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
  const abc = abcParts(props.inputs, props.overview.visitors);
  const dates = o.daily.map((d) => d.date);
  const seen30 = o.newVisitors + o.returningVisitors;
  return (
    <>
      <div class="stats">
        <Stat label="Visitors" value={num(o.visitors)} hint="people, all time" />
        <Stat label="Identified customers" value={num(o.identified)} hint={`${pct(o.visitors ? o.identified / o.visitors : 0, 0)} of visitors`} />
        <Stat label="Events today" value={num(o.events.today)} hint="since 00:00 UTC" />
        <Stat label="Events, 7 days" value={num(o.events.last7Days)} />
        <Stat label="Events, 30 days" value={num(o.events.last30Days)} />
      </div>
      <Card title="Visitors per day" actions={<span class="muted small">last 30 days</span>}>
        <DailyChart
          title="Visitors per day"
          unit="visitors"
          dates={dates}
          series={[{ name: 'Visitors', tone: 'tone-1', values: o.daily.map((d) => d.visitors) }]}
          tableOnly={[{ name: 'Events', tone: 'tone-2', values: o.daily.map((d) => d.events) }]}
        />
      </Card>
      <div class="grid-2">
        <Card title="Top referral sources" actions={<span class="muted small">visits, last 30 days</span>}>
          {o.sources.length ? (
            <BarList
              title="Visits by referral source, last 30 days"
              unit="visits"
              rows={o.sources.map((s) => ({ label: s.source ?? capital(s.medium), value: s.visits, hint: s.source ? s.medium : undefined }))}
            />
          ) : (
            <p class="muted">No visits in the last 30 days.</p>
          )}
        </Card>
        <Card title="Top search keywords" actions={<span class="muted small">visits, last 30 days</span>}>
          {o.keywords.length ? (
            <BarList title="Visits by search keyword, last 30 days" unit="visits" rows={o.keywords.map((k) => ({ label: k.term, value: k.visits }))} />
          ) : (
            <p class="muted">No search keywords in the last 30 days. Search engines pass few of them; campaign links can name one with utm_term.</p>
          )}
        </Card>
      </div>
      <div class="grid-2">
        <Card title="New and returning" actions={<span class="muted small">people seen in the last 30 days</span>}>
          {seen30 ? (
            <SplitBar
              title="New and returning visitors, last 30 days"
              parts={[
                { label: 'New', value: o.newVisitors, tone: 'tone-1', hint: 'first visit in these 30 days' },
                { label: 'Returning', value: o.returningVisitors, tone: 'tone-3', hint: 'known from before' },
              ]}
            />
          ) : (
            <p class="muted">Nobody visited in the last 30 days.</p>
          )}
        </Card>
        <Card title="ABC classes" actions={<span class="muted small">customers by revenue</span>}>
          {abc.total > 0 ? (
            <>
              <SplitBar
                title="Customers by ABC class"
                share={false}
                parts={[
                  { label: 'A', value: abc.figures.A.customers, tone: 'tone-2', hint: `customers, ${pct(abc.figures.A.revenue / abc.total, 0)} of revenue` },
                  { label: 'B', value: abc.figures.B.customers, tone: 'tone-1', hint: `customers, ${pct(abc.figures.B.revenue / abc.total, 0)} of revenue` },
                  { label: 'C', value: abc.figures.C.customers, tone: 'tone-4', hint: `customers, ${pct(abc.figures.C.revenue / abc.total, 0)} of revenue` },
                ]}
              />
              <p class="muted small">
                {`A customers together make the first 80% of revenue (${money(abc.total)} in all), B the next 15%, C the rest. ${num(abc.none)} visitors have not bought yet.`}
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
