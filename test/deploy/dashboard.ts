/**
 * Reads the PromQL of a Grafana dashboard JSON (deploy/compose/grafana/dashboards/santa.json)
 * and the metric names and labels it refers to, for the deployment tests.
 */

export interface DashboardQuery {
  panel: string;
  expr: string;
}

interface PanelLike {
  title?: string;
  targets?: { expr?: string }[];
  panels?: PanelLike[];
}

/** Every target expression of every panel (rows included). */
export function dashboardQueries(dashboard: { panels?: PanelLike[] }): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: PanelLike[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '(untitled)', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'le',
]);

/**
 * Metric names an expression selects: identifiers that are not functions (followed by "("),
 * not keywords, not label names inside {...} or by/without/on (...) lists, not in strings.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\boffset\s+-?[0-9a-z]+/g, '')
    .replace(/\$\w+/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue;
    if (PROMQL_WORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Label names an expression uses in selectors and in by/without lists. */
export function labelNames(expr: string): string[] {
  const labels = new Set<string>();
  for (const sel of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const m of sel[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.add(m[1]);
  }
  for (const list of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const l of list[1].split(',')) if (l.trim()) labels.add(l.trim());
  }
  return [...labels];
}
