// A small SVG line chart (no dependencies): log-scaled x, linear y from 0, one polyline per
// series with min–max whiskers at each point, a legend and axis labels. Good enough for the
// growth plot that BENCHMARKS.md embeds.

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df'];

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * One panel. `series`: [{ name, points: [{ x, y, min, max }] }]; each of `limits` draws a dashed
 * horizontal line (a target) with its label.
 */
export function panel({ x0, y0, width, height, title, yLabel, xTicks, series, limits = [] }) {
  const xs = xTicks.map((t) => t.value);
  const lx = (x) => x0 + ((Math.log10(x) - Math.log10(xs[0])) / (Math.log10(xs.at(-1)) - Math.log10(xs[0]))) * width;
  const top = niceMax(Math.max(...series.flatMap((s) => s.points.map((p) => Math.max(p.y, p.max ?? p.y))), ...limits.map((l) => l.value)) * 1.05);
  const ly = (y) => y0 + height - (y / top) * height;
  const out = [];
  out.push(`<text x="${x0}" y="${y0 - 12}" font-size="14" font-weight="600">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${ly(v)}" y2="${ly(v)}" stroke="#d0d7de" stroke-width="1"/>`);
    out.push(`<text x="${x0 - 6}" y="${ly(v) + 4}" font-size="11" text-anchor="end">${esc(+v.toPrecision(3))}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${lx(t.value)}" x2="${lx(t.value)}" y1="${y0 + height}" y2="${y0 + height + 4}" stroke="#57606a"/>`);
    out.push(`<text x="${lx(t.value)}" y="${y0 + height + 18}" font-size="11" text-anchor="middle">${esc(t.label)}</text>`);
  }
  out.push(`<text x="${x0 + width / 2}" y="${y0 + height + 36}" font-size="12" text-anchor="middle">profiles (log scale)</text>`);
  out.push(`<text transform="translate(${x0 - 44} ${y0 + height / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(yLabel)}</text>`);
  out.push(`<line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y0 + height}" stroke="#57606a"/>`);
  out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${y0 + height}" y2="${y0 + height}" stroke="#57606a"/>`);
  for (const limit of limits) {
    const color = limit.color ?? '#cf222e';
    out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${ly(limit.value)}" y2="${ly(limit.value)}" stroke="${color}" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${x0 + width - 4}" y="${ly(limit.value) - 5}" font-size="11" fill="${color}" text-anchor="end">${esc(limit.label)}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      if (Number.isFinite(p.min) && Number.isFinite(p.max)) {
        out.push(`<line x1="${lx(p.x)}" x2="${lx(p.x)}" y1="${ly(p.min)}" y2="${ly(p.max)}" stroke="${color}" stroke-width="1.5"/>`);
      }
      out.push(`<circle cx="${lx(p.x)}" cy="${ly(p.y)}" r="3.5" fill="${color}"/>`);
    }
    const lyL = y0 + 6 + i * 16;
    out.push(`<line x1="${x0 + 10}" x2="${x0 + 28}" y1="${lyL}" y2="${lyL}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${x0 + 34}" y="${lyL + 4}" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** A whole SVG document made of panels side by side. */
export function chart({ width, height, panels, caption }) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" fill="#24292f">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...panels,
    caption ? `<text x="${width / 2}" y="${height - 8}" font-size="11" text-anchor="middle" fill="#57606a">${esc(caption)}</text>` : '',
    '</svg>',
    '',
  ].join('\n');
}
