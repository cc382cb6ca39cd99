/**
 * Two small SVG chart writers (no plotting dependency): a CDF with a logarithmic latency axis
 * for Figure 2 and a grouped line chart for Figure 3. Pure functions from data to SVG text.
 */

export interface Series {
  label: string;
  points: Array<[number, number]>;
  color: string;
  dashed?: boolean;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 720, height: 420, left: 70, right: 20, top: 40, bottom: 60 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toPrecision(3)}`;
}

function chart(title: string, xLabel: string, yLabel: string, body: string[], series: Series[]): string {
  const f = FRAME;
  const legend = series
    .map((s, i) => {
      const y = f.top + 14 + i * 18;
      const x = f.width - f.right - 210;
      return (
        `<line x1="${x}" y1="${y - 4}" x2="${x + 24}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
        `<text x="${x + 30}" y="${y}" font-size="12">${esc(s.label)}</text>`
      );
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${f.width / 2}" y="22" font-size="15" text-anchor="middle">${esc(title)}</text>`,
    ...body,
    `<text x="${(f.left + f.width - f.right) / 2}" y="${f.height - 14}" font-size="13" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="16" y="${(f.top + f.height - f.bottom) / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 16 ${(f.top + f.height - f.bottom) / 2})">${esc(yLabel)}</text>`,
    legend,
    '</svg>',
    '',
  ].join('\n');
}

function polyline(s: Series, x: (v: number) => number, y: (v: number) => number): string {
  const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`);
  return `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.join(' ')}"/>`;
}

/** CDF of latencies: x = microseconds on a log scale, y = fraction of queries answered. */
export function cdfChart(title: string, series: Series[]): string {
  const f = FRAME;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter((v) => v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...xs))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...xs))));
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const x = (v: number) => f.left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const y = (v: number) => f.top + (1 - v) * plotH;
  const body: string[] = [];
  for (let d = lo; d <= hi; d *= 10) {
    body.push(`<line x1="${x(d)}" y1="${f.top}" x2="${x(d)}" y2="${f.top + plotH}" stroke="#ddd"/>`);
    body.push(`<text x="${x(d)}" y="${f.top + plotH + 16}" font-size="11" text-anchor="middle">${fmt(d)}</text>`);
  }
  for (const v of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    body.push(`<line x1="${f.left}" y1="${y(v)}" x2="${f.left + plotW}" y2="${y(v)}" stroke="#eee"/>`);
    body.push(`<text x="${f.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v}</text>`);
  }
  body.push(`<rect x="${f.left}" y="${f.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  for (const s of series) body.push(polyline(s, x, y));
  return chart(title, 'round-trip time seen by the client (us, log scale)', 'fraction of queries', body, series);
}

/** y against x on linear axes, with a dot at every measured point (x ticks at the points' x). */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], yMax?: number): string {
  const f = FRAME;
  const xs = [...new Set(series.filter((s) => !s.dashed).flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const finiteYs = series.filter((s) => !s.dashed).flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const top = yMax ?? Math.max(...finiteYs) * 1.15;
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const x = (v: number) => f.left + ((v - xs[0]) / (xs[xs.length - 1] - xs[0] || 1)) * plotW;
  const y = (v: number) => f.top + (1 - Math.min(v, top) / top) * plotH;
  const body: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const v = (top * i) / 5;
    body.push(`<line x1="${f.left}" y1="${y(v)}" x2="${f.left + plotW}" y2="${y(v)}" stroke="#eee"/>`);
    body.push(`<text x="${f.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const v of xs) body.push(`<text x="${x(v)}" y="${f.top + plotH + 16}" font-size="11" text-anchor="middle">${+(v * 100).toFixed(0)}%</text>`);
  body.push(`<rect x="${f.left}" y="${f.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  for (const s of series) {
    body.push(polyline(s, x, y));
    if (!s.dashed) for (const [a, b] of s.points) body.push(`<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  return chart(title, xLabel, yLabel, body, series);
}
