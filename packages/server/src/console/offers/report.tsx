import type { OfferReport } from '../../decisions/report.js';
import type { Offer, Segment } from '../../decisions/types.js';
import type { RecommendationReport } from '../../recommendations/report.js';
import { productPath } from '../products/routes.js';
import { BarList, DailyChart } from '../ui/charts.js';
import { Card, Empty, Facts, Stat, type Tone } from '../ui/components.js';
import { money, num, pct, plural, truncate } from '../ui/format.js';
import { ComparisonTable, Figure, points } from '../ui/comparison.js';
import type { Here } from '../ui/here.js';
import { STRATEGY_LABELS } from './form.js';

const DAY_MS = 86_400_000;

/** The report's conclusion in plain words, for someone who does not read p-values. */
function verdict(offer: Offer, r: OfferReport): { tone: Tone; text: string } {
  const confidence = Math.round((1 - r.significance.level) * 100);
  if (!r.goal) return { tone: 'gray', text: 'No goal set: give the offer a goal event (such as “Order Completed”) to compare conversions with the control group.' };
  if (r.offer.exposures === 0 && r.control.exposures === 0) return { tone: 'gray', text: 'No one has been shown this offer yet.' };
  if (r.control.exposures === 0) {
    return {
      tone: 'gray',
      text: offer.controlPercent > 0 ? 'No visitor in the control group yet.' : 'No control group: set a control percentage above 0 to measure the offer against the default content.',
    };
  }
  if (r.offer.exposures === 0) return { tone: 'gray', text: 'No visitor has seen the offer yet, only the control group.' };
  const p = r.significance.pValue;
  if (p === null) return { tone: 'gray', text: 'Not enough conversions to compare yet.' };
  if (r.significance.significant) {
    return (r.uplift.absolute ?? 0) > 0
      ? { tone: 'green', text: `${confidence}% confident the offer converts better than the default content.` }
      : { tone: 'red', text: `${confidence}% confident the offer converts worse than the default content.` };
  }
  return { tone: 'amber', text: `Not significant yet: the difference could be chance (p = ${p.toFixed(2)}). Let it run to reach more visitors.` };
}

const relative = (n: number | null) => (n === null ? '—' : `${n >= 0 ? '+' : '−'}${Math.abs(n * 100).toFixed(0)}%`);

/** Every day from the first to the last of the report, so that the chart's days are evenly spaced. */
function days(r: OfferReport) {
  if (!r.daily.length) return [];
  const byDate = new Map(r.daily.map((d) => [d.date, d]));
  const out = [];
  for (let t = Date.parse(r.daily[0].date); t <= Date.parse(r.daily[r.daily.length - 1].date); t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    out.push(
      byDate.get(date) ?? {
        date,
        offer: { exposures: 0, impressions: 0, clicks: 0, conversions: 0 },
        control: { exposures: 0, conversions: 0 },
      },
    );
  }
  return out;
}

/** Offer group against control group: figures, uplift, significance in words, and the days. */
export function ReportPage(props: { here: Here; offer: Offer; report: OfferReport; segment?: Segment; recommendations?: { report: RecommendationReport; names: Map<string, string | null> } }) {
  const { offer, report: r } = props;
  const v = verdict(offer, r);
  const daily = days(r);
  const dates = daily.map((d) => d.date);
  return (
    <>
      <div class={`verdict verdict-${v.tone}`} role="status">
        <strong>{v.text}</strong>
      </div>
      <div class="grid-2">
        <Card title="Offer and control group">
          <ComparisonTable columns={['Offer group', 'Control group']}>
          <Figure label="Visitors exposed" first={num(r.offer.exposures)} second={num(r.control.exposures)} />
          <Figure label="Impressions" first={num(r.offer.impressions)} second={num(r.control.impressions)} />
          {/* The control group sees the default content: there is nothing of the offer for it to click. */}
          <Figure label="Clicks" first={num(r.offer.clicks)} />
          <Figure label="Click rate" first={pct(r.offer.clickRate)} />
          <Figure label="Conversions" first={num(r.offer.conversions)} second={num(r.control.conversions)} />
          <Figure label="Conversion rate" first={pct(r.offer.conversionRate)} second={pct(r.control.conversionRate)} strong />
          </ComparisonTable>
        </Card>
        <Card title="Uplift">
          <Facts
            rows={[
              ['Uplift', points(r.uplift.absolute)],
              ['Relative to control', relative(r.uplift.relative)],
              ['Significance', r.significance.pValue === null ? 'not computable yet' : `p = ${r.significance.pValue.toFixed(3)} (${r.significance.test})`],
              ['Goal', r.goal ? `${r.goal.event} within ${r.goal.withinDays} days of the first exposure` : 'none'],
              ['Control group', `${offer.controlPercent}% of matching visitors`],
              ['Shown to', props.segment?.name ?? (offer.segmentId ? offer.segmentId : 'Everyone')],
            ]}
          />
          <p class="hint">
            {`Uplift is the offer group's conversion rate minus the control group's. The difference counts as significant when p is below ${r.significance.level}.`}
          </p>
        </Card>
      </div>
      {props.recommendations ? <RecommendationsCard here={props.here} report={props.recommendations.report} names={props.recommendations.names} /> : null}
      <Card title="Day by day">
        {daily.length ? (
          <div class="grid-2 charts">
            <div>
              <h3 class="sub-head">Visitors exposed</h3>
              <DailyChart
                title="Visitors exposed per day"
                unit="visitors"
                compact
                dates={dates}
                series={[
                  { name: 'Offer', tone: 'tone-1', values: daily.map((d) => d.offer.exposures) },
                  { name: 'Control', tone: 'tone-4', values: daily.map((d) => d.control.exposures) },
                ]}
                tableOnly={[
                  { name: 'Impressions', tone: 'tone-2', values: daily.map((d) => d.offer.impressions) },
                  { name: 'Clicks', tone: 'tone-3', values: daily.map((d) => d.offer.clicks) },
                ]}
              />
            </div>
            <div>
              <h3 class="sub-head">Conversions</h3>
              {r.goal ? (
                <DailyChart
                  title="Conversions per day, by the day of first exposure"
                  unit="conversions"
                  compact
                  dates={dates}
                  series={[
                    { name: 'Offer', tone: 'tone-1', values: daily.map((d) => d.offer.conversions) },
                    { name: 'Control', tone: 'tone-4', values: daily.map((d) => d.control.conversions) },
                  ]}
                />
              ) : (
                <p class="muted">No goal set.</p>
              )}
            </div>
          </div>
        ) : (
          <Empty title="No data yet">
            {`Once visitors in the audience load a page with the slot “${offer.slot}”, their impressions, clicks and conversions appear here day by day.`}
          </Empty>
        )}
      </Card>
    </>
  );
}

const perVisitor = (n: number | null) => (n === null ? '—' : money(n));

/**
 * The product cards of the offer: who saw them and clicked, the orders of clicked products, and
 * revenue per visitor against the control group (which saw the slot's default).
 */
function RecommendationsCard(props: { here: Here; report: RecommendationReport; names: Map<string, string | null> }) {
  const { here, report: r } = props;
  const strategy = r.strategy && Object.hasOwn(STRATEGY_LABELS, r.strategy) ? STRATEGY_LABELS[r.strategy as keyof typeof STRATEGY_LABELS] : null;
  return (
    <Card title="Product recommendations" actions={strategy ? <span class="muted small">{strategy}</span> : undefined}>
      <div class="stats">
        <Stat label="Impressions" value={num(r.impressions)} hint="visitors shown the cards" />
        <Stat label="Clicks" value={num(r.clicks)} hint="on a product of the cards" />
        <Stat label="Click-through rate" value={pct(r.clickThroughRate)} hint="clicks per visitor shown" />
        <Stat label="Attributed orders" value={num(r.attributed.orders)} hint={`with a clicked product, within ${plural(r.attributionDays, 'day')}`} />
        <Stat label="Attributed revenue" value={money(r.attributed.revenue)} hint="the lines of clicked products" />
      </div>
      <div class="grid-2">
        <div>
          <h3 class="sub-head">Offer and control group</h3>
          <ComparisonTable columns={['Offer group', 'Control group']}>
            <Figure label="Visitors" first={num(r.offer.visitors)} second={num(r.control.visitors)} />
            <Figure label="Buyers" first={num(r.offer.buyers)} second={num(r.control.buyers)} />
            <Figure label="Orders" first={num(r.offer.orders)} second={num(r.control.orders)} />
            <Figure label="Revenue" first={money(r.offer.revenue)} second={money(r.control.revenue)} />
            <Figure label="Revenue per visitor" first={perVisitor(r.offer.revenuePerVisitor)} second={perVisitor(r.control.revenuePerVisitor)} strong />
          </ComparisonTable>
          <p class="hint">
            {`Orders within ${plural(r.attributionDays, 'day')} of a visitor's first exposure. `}
            {r.significance.pValue === null ? 'Too few visitors to test the share who bought yet.' : `Share who bought: p = ${r.significance.pValue.toFixed(3)} (${r.significance.test})${r.significance.significant ? ', significant' : ', not significant yet'}.`}
          </p>
        </div>
        <div>
          <h3 class="sub-head">Clicks by position</h3>
          {r.byPosition.length ? (
            <BarList title="Clicks by position in the list" unit="clicks" rows={r.byPosition.map((p) => ({ label: `Position ${p.position}`, value: p.clicks }))} />
          ) : (
            <p class="muted">No clicks yet.</p>
          )}
        </div>
      </div>
      <h3 class="sub-head">Top products</h3>
      {r.products.length ? (
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" class="num">
                Clicks
              </th>
              <th scope="col" class="num">
                Attributed orders
              </th>
              <th scope="col" class="num">
                Attributed revenue
              </th>
            </tr>
          </thead>
          <tbody>
            {r.products.map((p) => {
              const name = props.names.get(p.productId);
              return (
                <tr>
                  <td>
                    <a href={productPath(here, p.productId)}>{truncate(name ?? p.productId, 80)}</a>
                    {name ? <div class="sub">{p.productId}</div> : null}
                  </td>
                  <td class="num">{num(p.clicks)}</td>
                  <td class="num">{num(p.attributedOrders)}</td>
                  <td class="num">{money(p.attributedRevenue)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <p class="muted">No product of the cards has been clicked yet.</p>
      )}
    </Card>
  );
}
