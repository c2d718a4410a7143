import { num, pct } from './format.js';

/**
 * Charts as inline SVG drawn on the server: no script, no library, readable by a screen reader
 * (each chart has a title) and always with its numbers beside it, since a bar alone is a guess.
 * Colours come from classes in console.css (the CSP allows no inline style).
 */

const round = (n: number) => Math.round(n * 100) / 100;

export interface BarRow {
  label: string;
  value: number;
  hint?: string;
}

/** Horizontal bars in a table: label, bar, number. */
export function BarList(props: { title: string; unit: string; rows: BarRow[] }) {
  const max = Math.max(1, ...props.rows.map((r) => r.value));
  const total = props.rows.reduce((sum, r) => sum + r.value, 0);
  return (
    <table class="bar-list">
      <caption class="sr-only">{props.title}</caption>
      <thead class="sr-only">
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Bar</th>
          <th scope="col">{props.unit}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr>
            <th scope="row" title={row.hint ?? row.label}>
              {row.label}
              {row.hint ? <span class="muted small"> {row.hint}</span> : null}
            </th>
            <td class="bar-cell">
              <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={`${row.label}: ${num(row.value)} ${props.unit}`}>
                <title>{`${row.label}: ${num(row.value)} ${props.unit} (${pct(total ? row.value / total : 0, 0)})`}</title>
                <rect class="bar-track" x="0" y="0" width="100" height="10" />
                <rect class="bar-fill" x="0" y="0" width={String(round((row.value / max) * 100))} height="10" />
              </svg>
            </td>
            <td class="num">{num(row.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface Part {
  label: string;
  value: number;
  /** A class of console.css: `tone-1` … `tone-5`. */
  tone: string;
  hint?: string;
}

/** One bar split into parts (new vs returning, ABC), with a legend that gives each number. */
export function SplitBar(props: { title: string; parts: Part[]; /** Show each part's share of the whole. @default true */ share?: boolean }) {
  const total = props.parts.reduce((sum, p) => sum + p.value, 0);
  let x = 0;
  const summary = props.parts.map((p) => `${p.label} ${num(p.value)} (${pct(total ? p.value / total : 0, 0)})`).join(', ');
  return (
    <figure class="split">
      <svg class="split-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={`${props.title}: ${summary}`}>
        <title>{`${props.title}: ${summary}`}</title>
        <rect class="bar-track" x="0" y="0" width="100" height="10" />
        {total > 0
          ? props.parts.map((p) => {
              const width = (p.value / total) * 100;
              const rect = <rect class={`fill-${p.tone}`} x={String(round(x))} y="0" width={String(round(width))} height="10" />;
              x += width;
              return rect;
            })
          : null}
      </svg>
      <figcaption>
        <ul class="legend">
          {props.parts.map((p) => (
            <li>
              <span class={`swatch fill-${p.tone}`} aria-hidden="true" />
              <span class="legend-label">{p.label}</span>
              <strong>{num(p.value)}</strong>
              {props.share === false ? null : <span class="muted">{pct(total ? p.value / total : 0, 0)}</span>}
              {p.hint ? <span class="muted small">{p.hint}</span> : null}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

export interface Series {
  name: string;
  /** A class of console.css: `tone-1` … `tone-5`. */
  tone: string;
  values: number[];
}

const PAD = { left: 40, right: 12, top: 12, bottom: 26 };

/** A round upper bound for an axis whose half is a whole number too: 2, 4, 6, 8 or 10 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [2, 4, 6, 8, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/**
 * Values per day: columns for one series, lines for several. Below it, the numbers day by day
 * in a table that folds open.
 */
export function DailyChart(props: {
  title: string;
  dates: string[];
  series: Series[];
  unit: string;
  /** More columns for the table only. */
  tableOnly?: Series[];
  /** Drawn for half the width of the page: fewer units, so that labels stay readable. */
  compact?: boolean;
}) {
  const tabled = [...props.series, ...(props.tableOnly ?? [])];
  const W = props.compact ? 460 : 720;
  const H = props.compact ? 180 : 200;
  const n = props.dates.length;
  const max = niceMax(Math.max(0, ...props.series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = n > 0 ? plotW / n : plotW;
  const xOf = (i: number) => PAD.left + step * i + step / 2;
  const yOf = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const columns = props.series.length === 1;
  const ticks = [0, max / 2, max];
  const labelAt = n <= 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
  const totals = props.series.map((s) => `${s.name} ${num(s.values.reduce((a, b) => a + b, 0))}`).join(', ');
  return (
    <figure class="chart">
      <svg class="daily" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title}, ${props.dates[0] ?? ''} to ${props.dates[n - 1] ?? ''}: ${totals}`}>
        <title>{`${props.title}, ${props.dates[0] ?? ''} to ${props.dates[n - 1] ?? ''}: ${totals}`}</title>
        {ticks.map((t) => (
          <g class="grid">
            <line x1={String(PAD.left)} x2={String(W - PAD.right)} y1={String(round(yOf(t)))} y2={String(round(yOf(t)))} />
            <text x={String(PAD.left - 6)} y={String(round(yOf(t) + 4))} text-anchor="end">
              {num(t)}
            </text>
          </g>
        ))}
        {labelAt.map((i) =>
          props.dates[i] ? (
            <text class="axis-label" x={String(round(xOf(i)))} y={String(H - 6)} text-anchor={i === 0 && n > 1 ? 'start' : i === n - 1 && n > 1 ? 'end' : 'middle'}>
              {props.dates[i].slice(5)}
            </text>
          ) : null,
        )}
        {columns
          ? props.series[0].values.map((v, i) => (
              <rect class={`col fill-${props.series[0].tone}`} x={String(round(xOf(i) - step * 0.35))} y={String(round(yOf(v)))} width={String(round(step * 0.7))} height={String(round(Math.max(0, plotH - (yOf(v) - PAD.top))))}>
                <title>{`${props.dates[i]}: ${num(v)} ${props.unit}`}</title>
              </rect>
            ))
          : props.series.map((s) => (
              <g class={`series stroke-${s.tone}`}>
                {n > 1 ? <polyline fill="none" points={s.values.map((v, i) => `${round(xOf(i))},${round(yOf(v))}`).join(' ')} /> : null}
                {s.values.map((v, i) => (
                  <circle class={`fill-${s.tone}`} cx={String(round(xOf(i)))} cy={String(round(yOf(v)))} r="3.5">
                    <title>{`${props.dates[i]}, ${s.name}: ${num(v)}`}</title>
                  </circle>
                ))}
              </g>
            ))}
      </svg>
      <figcaption>
        {columns ? null : (
          <ul class="legend">
            {props.series.map((s) => (
              <li>
                <span class={`swatch fill-${s.tone}`} aria-hidden="true" />
                <span class="legend-label">{s.name}</span>
                <strong>{num(s.values.reduce((a, b) => a + b, 0))}</strong>
              </li>
            ))}
          </ul>
        )}
        <details class="chart-numbers">
          <summary>Numbers by day</summary>
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Day</th>
                {tabled.map((s) => (
                  <th scope="col" class="num">
                    {s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.dates.map((d, i) => (
                <tr>
                  <td>{d}</td>
                  {tabled.map((s) => (
                    <td class="num">{num(s.values[i])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
