import type { Child } from 'hono/jsx';

/** An uplift in percentage points, signed: `+3.1 percentage points`. */
export const points = (n: number | null) => (n === null ? '—' : `${n >= 0 ? '+' : '−'}${Math.abs(n * 100).toFixed(1)} percentage points`);

/**
 * A report's figures for a group beside its comparison group (offer and control, runs and
 * holdout), one `Figure` per row.
 *
 * @example
 * <ComparisonTable columns={['Offer group', 'Control group']}><Figure label="Exposed" first="120" second="14" /></ComparisonTable>
 */
export function ComparisonTable(props: { columns: [string, string]; children: Child }) {
  return (
    <table class="table report">
      <thead>
        <tr>
          <th scope="col">
            <span class="sr-only">Figure</span>
          </th>
          <th scope="col" class="num">
            {props.columns[0]}
          </th>
          <th scope="col" class="num">
            {props.columns[1]}
          </th>
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

/** One row: the group's number beside the comparison group's, or a dash when it has none. */
export function Figure(props: { label: string; first: string; second?: string; strong?: boolean }) {
  const cell = props.strong ? 'num strong' : 'num';
  return (
    <tr>
      <th scope="row">{props.label}</th>
      <td class={cell}>{props.first}</td>
      {props.second === undefined ? <td class="num muted">—</td> : <td class={cell}>{props.second}</td>}
    </tr>
  );
}
