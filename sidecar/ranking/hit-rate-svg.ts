/** The hit-rate-versus-cache-size curve as a standalone SVG document (no dependencies). */

export interface CurvePoint {
  readonly entries: number;
  readonly share: number;
}

const W = 720;
const H = 420;
const M = { left: 70, right: 24, top: 44, bottom: 56 };

export function hitRateSvg(curve: readonly CurvePoint[], title: string, marks: readonly CurvePoint[] = []): string {
  const maxEntries = Math.max(10, ...curve.map((p) => p.entries), ...marks.map((p) => p.entries));
  const decades = Math.ceil(Math.log10(maxEntries));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (n: number) => M.left + (Math.log10(Math.max(1, n)) / decades) * plotW;
  const y = (share: number) => M.top + (1 - share) * plotH;
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  for (let d = 0; d <= decades; d++) {
    const px = f(x(10 ** d));
    parts.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${M.top + plotH}" stroke="#ddd"/>`);
    parts.push(`<text x="${px}" y="${M.top + plotH + 18}" text-anchor="middle">${formatCount(10 ** d)}</text>`);
  }
  for (let s = 0; s <= 10; s += 2) {
    const py = f(y(s / 10));
    parts.push(`<line x1="${M.left}" y1="${py}" x2="${M.left + plotW}" y2="${py}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${s * 10}%</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + plotW / 2}" y="${H - 14}" text-anchor="middle">cache entries (hottest first, log scale)</text>`);
  parts.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">share of queries answered</text>`);
  if (curve.length > 0) {
    const d = curve.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(x(p.entries))} ${f(y(p.share))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="#c0392b" stroke-width="2"/>`);
  }
  for (const m of marks) {
    parts.push(`<circle cx="${f(x(m.entries))}" cy="${f(y(m.share))}" r="3.5" fill="#2c3e50"/>`);
    parts.push(`<text x="${f(x(m.entries) + 6)}" y="${f(y(m.share) + 14)}">${(m.share * 100).toFixed(1)}%</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
