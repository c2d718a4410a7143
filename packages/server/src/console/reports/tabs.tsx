import type { Here } from '../ui/here.js';

const TABS = [
  { id: 'attribution', label: 'Attribution', path: '/console/reports/attribution' },
  { id: 'funnel', label: 'Funnels', path: '/console/reports/funnel' },
  { id: 'retention', label: 'Retention', path: '/console/reports/retention' },
] as const;

/** The tabs between the console's reports. */
export function ReportTabs(props: { here: Here; current: (typeof TABS)[number]['id'] }) {
  return (
    <nav class="report-tabs" aria-label="Reports">
      {TABS.map((tab) => (
        <a class={tab.id === props.current ? 'button button-small is-current' : 'button button-small'} href={props.here.to(tab.path)} aria-current={tab.id === props.current ? 'page' : undefined}>
          {tab.label}
        </a>
      ))}
    </nav>
  );
}
