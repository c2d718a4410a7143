import type { AutomationReport } from '../../automations/report.js';
import { Card, Facts, type Tone } from '../ui/components.js';
import { num, pct } from '../ui/format.js';
import { ComparisonTable, Figure, points } from '../ui/comparison.js';

/** The report's conclusion in plain words, for someone who does not read p-values. */
function verdict(r: AutomationReport): { tone: Tone; text: string } {
  const confidence = Math.round((1 - r.significance.level) * 100);
  if (r.runs.entered === 0 && r.holdout.entered === 0) return { tone: 'gray', text: 'No one has entered this automation yet.' };
  if (r.holdout.entered === 0) {
    return {
      tone: 'gray',
      text: r.holdoutPercent > 0 ? 'No one in the holdout yet.' : 'No holdout: set a holdout percentage above 0 to measure what the automation changes.',
    };
  }
  if (r.runs.entered === 0) return { tone: 'gray', text: 'Only the holdout has entered so far.' };
  const p = r.significance.pValue;
  if (p === null) return { tone: 'gray', text: 'Not enough conversions to compare yet.' };
  if (r.significance.significant) {
    return (r.uplift.absolute ?? 0) > 0
      ? { tone: 'green', text: `${confidence}% confident the automation makes people convert more than the holdout.` }
      : { tone: 'red', text: `${confidence}% confident the automation makes people convert less than the holdout.` };
  }
  return { tone: 'amber', text: `Not significant yet: the difference could be chance (p = ${p.toFixed(2)}). Let it run to reach more people.` };
}

/** Runs against the holdout: the funnel of sends, conversions, the uplift and its significance in words. */
export function AutomationReportView(props: { report: AutomationReport }) {
  const r = props.report;
  const v = verdict(r);
  return (
    <>
      <div class={`verdict verdict-${v.tone}`} role="status">
        <strong>{v.text}</strong>
      </div>
      <div class="grid-2">
        <Card title="Runs and holdout">
          <ComparisonTable columns={['Runs', 'Holdout']}>
          <Figure label="Entered" first={num(r.runs.entered)} second={num(r.holdout.entered)} />
          {/* The holdout goes through the same steps with nothing sent: no sends to count. */}
          <Figure label="Sent" first={num(r.runs.sent)} />
          <Figure label="Delivered" first={num(r.runs.delivered)} />
          <Figure label="Opened" first={`${num(r.runs.opened)} (${pct(r.runs.openRate)})`} />
          <Figure label="Clicked" first={`${num(r.runs.clicked)} (${pct(r.runs.clickRate)})`} />
          <Figure label="Converted" first={num(r.runs.converted)} second={num(r.holdout.converted)} />
          <Figure label="Conversion rate" first={pct(r.runs.conversionRate)} second={pct(r.holdout.conversionRate)} strong />
          </ComparisonTable>
        </Card>
        <Card title="Uplift">
          <Facts
            rows={[
              ['Uplift', points(r.uplift.absolute)],
              ['Significance', r.significance.pValue === null ? 'not computable yet' : `p = ${r.significance.pValue.toFixed(3)} (${r.significance.test})`],
              ['Goal', `${r.goal.event} within ${r.goal.withinDays} days of a run's start`],
              ['Holdout', `${r.holdoutPercent}% of the people who enter`],
              ['Active now', num(r.runs.byStatus.active + r.holdout.byStatus.active)],
              ['Dead letters', num(r.runs.byStatus.failed)],
            ]}
          />
          <p class="hint">
            {`Sent counts the runs that tried a send, delivered those that went out; a click counts as an open. Uplift is the runs' conversion rate minus the holdout's, significant when p is below ${r.significance.level}.`}
            {r.conversionsFrom < r.runs.entered + r.holdout.entered ? ` Conversions are counted over the first ${num(r.conversionsFrom)} runs.` : ''}
          </p>
        </Card>
      </div>
    </>
  );
}
