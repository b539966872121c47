/**
 * Vega-Lite specs of the dashboard's charts, built from the server's JSON. Pure functions, no DOM: the page
 * (app.ts) and the self-contained report (report.ts) both use them, so they draw the same charts. Each layer has
 * a `name`, which Vega's SVG renderer writes as a class on the mark group (`<name>_marks`), so marks can be counted.
 */
import type { CurveTrial, HeatmapData, TrialDetail, WidthChart, WidthPoint } from '../data.js';
import type { HeatmapMetric } from '../../schema/queries-heatmap.js';
import type { FitInfo } from '../../schema/queries-slope.js';

export type Spec = Record<string, unknown>;

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';
const font = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

export const baseConfig = {
  font,
  view: { stroke: '#e5e7eb' },
  axis: { labelColor: '#374151', titleColor: '#111827', gridColor: '#eef0f3', domainColor: '#9ca3af', tickColor: '#9ca3af', titleFontWeight: 600 },
  legend: { labelColor: '#374151', titleColor: '#111827' },
  title: { color: '#111827', subtitleColor: '#6b7280', anchor: 'start', fontSize: 13, subtitleFontSize: 11 },
};

const fmt = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined ? '–' : Number(x.toPrecision(digits)).toString());

/** Items joined into lines of at most `width` characters (an item longer than that gets a line of its own): no subtitle is cut off. */
export function wrapItems(items: readonly string[], width: number, sep = '   '): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + sep.length + item.length <= width) lines[lines.length - 1] = last + sep + item;
    else lines.push(item);
  }
  return lines;
}

/** The loss curves' colour keys: dotted config key → CurveTrial field. */
export const curveKeys = { 'f.width': 'fWidth', 'g.width': 'gWidth', 'f.depth': 'fDepth', 'g.depth': 'gDepth', 'train.lr': 'lr', seed: 'seed' } as const;
export type CurveKey = keyof typeof curveKeys;

/** The colour key of the loss curves: the one asked for, else the first of these that varies among the curves. */
export function curveColorKey(curves: readonly CurveTrial[], asked?: string): CurveKey {
  if (asked && asked in curveKeys) return asked as CurveKey;
  const keys = Object.keys(curveKeys) as CurveKey[];
  return keys.find((k) => new Set(curves.map((c) => c[curveKeys[k]])).size > 1) ?? 'f.width';
}

/** Training loss per logged step for a sample of trials, log-y, coloured by a config key (legend named by it). */
export function lossCurvesSpec(curves: readonly CurveTrial[], o: { width?: number; height?: number; colorKey?: string } = {}): Spec {
  const key = curveColorKey(curves, o.colorKey);
  const values = curves.flatMap((c) =>
    c.points.filter(([, v]) => v > 0).map(([step, loss]) => ({ trial: c.id, value: c[curveKeys[key]], fWidth: c.fWidth, gWidth: c.gWidth, seed: c.seed, step, loss })),
  );
  return {
    $schema: schema,
    name: 'curves',
    width: o.width ?? 'container',
    height: o.height ?? 260,
    title: { text: 'Training loss', subtitle: [`${curves.length} trials (lowest seeds of each width cell), downsampled on the server`, `colour: ${key}; y on a log scale`] },
    data: { values },
    mark: { type: 'line', strokeWidth: 1.4, opacity: 0.8, interpolate: 'linear' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step', axis: { labelOverlap: 'greedy' } },
      y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'training loss (log scale)', axis: { labelOverlap: 'greedy', labelSeparation: 4 } },
      color: { field: 'value', type: 'ordinal', scale: { scheme: 'viridis' }, title: key },
      detail: { field: 'trial' },
      tooltip: [
        { field: 'trial' }, { field: 'value', title: key }, { field: 'fWidth', title: 'f.width' }, { field: 'gWidth', title: 'g.width' },
        { field: 'seed' }, { field: 'step' }, { field: 'loss', format: '.3e' },
      ],
    },
    config: baseConfig,
  };
}

/** Loss curves of a few named traces (compare view, running trials): one colour per trace, legend named `legend`. */
export function tracesSpec(
  traces: ReadonlyArray<{ label: string; points: ReadonlyArray<readonly [number, number]> }>,
  o: { name: string; title: string; subtitle: string; legend: string; width?: number; height?: number },
): Spec {
  const values = traces.flatMap((t) => t.points.filter(([, v]) => v > 0).map(([step, loss]) => ({ trace: t.label, step, loss })));
  return {
    $schema: schema,
    name: o.name,
    width: o.width ?? 'container',
    height: o.height ?? 240,
    title: { text: o.title, subtitle: o.subtitle },
    data: { values },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step', axis: { labelOverlap: 'greedy' } },
      y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'training loss (log scale)', axis: { labelOverlap: 'greedy', labelSeparation: 4 } },
      color: {
        field: 'trace', type: 'nominal', title: o.legend, scale: { scheme: 'tableau10', domain: traces.map((t) => t.label) },
        legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 },
      },
      tooltip: [{ field: 'trace', title: o.legend }, { field: 'step' }, { field: 'loss', format: '.4e' }],
    },
    layer: [
      { name: `${o.name}lines`, mark: { type: 'line', strokeWidth: 1.6 } },
      { name: `${o.name}points`, mark: { type: 'point', filled: true, size: 14 } },
    ],
    config: baseConfig,
  };
}

/** Evenly spaced legend values over [lo, hi] (geometric on a log scale): the colour bar's labels. */
export function legendValues(lo: number, hi: number, log: boolean, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  return Array.from({ length: n }, (_, i) => (log ? lo * (hi / lo) ** (i / (n - 1)) : lo + ((hi - lo) * i) / (n - 1)));
}

/** The fewest significant digits (from `min`, at most `max`) that tell the distinct values apart. */
export function distinctDigits(xs: readonly number[], min = 2, max = 4): number {
  const distinct = new Set(xs).size;
  for (let d = min; d < max; d++) if (new Set(xs.map((x) => x.toPrecision(d))).size === distinct) return d;
  return max;
}

export interface ParallelInput {
  keys: readonly string[];
  rows: ReadonlyArray<{ key: Record<string, string | number | boolean | null>; n: number } & Record<ParallelMetric, number | null>>;
}
export const parallelMetrics = ['initNtk', 'finalNtk', 'movement', 'trainLoss', 'testLoss'] as const;
export type ParallelMetric = (typeof parallelMetrics)[number];
export const parallelTitles: Record<ParallelMetric, string> = {
  initNtk: 'init NTK dist.', finalNtk: 'final NTK dist.', movement: 'NTK movement', trainLoss: 'train loss', testLoss: 'test loss',
};

/**
 * Parallel coordinates: one line per config cell (seeds pooled) through one axis per varying key and per outcome
 * (mean over seeds). Each axis is scaled to [0, 1] here (log when all values are positive and span over 20×), so
 * the spec needs no expression; the axis ends are labelled with their values. Coloured by init NTK distance.
 */
export function parallelSpec(p: ParallelInput, o: { width?: number; height?: number } = {}): Spec {
  const metrics = parallelMetrics.filter((m) => p.rows.some((r) => r[m] !== null));
  const dims = [...p.keys, ...metrics.map((m) => parallelTitles[m])];
  const valueOf = (r: ParallelInput['rows'][number], d: string): number | null => {
    const m = metrics.find((x) => parallelTitles[x] === d);
    const v = m ? r[m] : r.key[d];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const scales = dims.map((d) => {
    const vs = p.rows.map((r) => valueOf(r, d)).filter((v): v is number => v !== null);
    const lo = Math.min(...vs);
    const hi = Math.max(...vs);
    const log = vs.length > 0 && lo > 0 && hi / lo > 20;
    const f = (v: number) => (hi === lo ? 0.5 : log ? Math.log(v / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo));
    return { d, lo, hi, log, f, ok: vs.length > 0 };
  });
  const colorOf = metrics.includes('initNtk') ? 'initNtk' : metrics[0];
  const lines = p.rows.flatMap((r, i) =>
    scales.flatMap((s) => {
      const v = valueOf(r, s.d);
      return v === null || !s.ok ? [] : [{ row: i, dim: s.d, pos: s.f(v), value: v, color: colorOf ? r[colorOf] : null, n: r.n }];
    }),
  );
  // An axis's name says when it is on a log scale.
  const shown = (d: string) => `${d}${scales.find((s) => s.d === d)?.log ? ' (log)' : ''}`;
  for (const l of lines) l.dim = shown(l.dim);
  const ends = scales.filter((s) => s.ok).flatMap((s) => [
    { dim: shown(s.d), pos: 0, label: fmt(s.lo, 3) },
    { dim: shown(s.d), pos: 1, label: fmt(s.hi, 3) },
  ]);
  const x = { field: 'dim', type: 'nominal', sort: dims.map(shown), title: null, axis: { labelAngle: -20, labelAlign: 'right', labelLimit: 140, orient: 'bottom' } };
  const y = { field: 'pos', type: 'quantitative', axis: null, scale: { domain: [0, 1], nice: false, padding: 10 } };
  return {
    $schema: schema,
    name: 'parallel',
    width: o.width ?? 'container',
    height: o.height ?? 280,
    title: {
      text: 'Config vs outcome (parallel coordinates)',
      subtitle: [`one line per config cell (${p.rows.length}), means over seeds; each axis runs from its min (bottom) to its max (top), "(log)": log scale`,
        `colour: ${colorOf ? parallelTitles[colorOf] : '–'} (log scale)`],
    },
    layer: [
      { name: 'paxes', data: { values: dims.map((d) => ({ dim: shown(d) })) }, mark: { type: 'rule', color: '#9ca3af' }, encoding: { x } },
      {
        name: 'plines',
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.4, opacity: 0.75 },
        encoding: {
          x, y, detail: { field: 'row' },
          color: colorOf
            ? { field: 'color', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' }, title: parallelTitles[colorOf], legend: { format: '.2~g', tickCount: 4 } }
            : { value: '#4f46e5' },
          tooltip: [{ field: 'dim', title: 'axis' }, { field: 'value', format: '.4g' }, { field: 'n', title: 'trials' }],
        },
      },
      {
        name: 'pends',
        data: { values: ends },
        mark: { type: 'text', fontSize: 10, dx: 4, align: 'left', color: '#374151' },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
    config: baseConfig,
  };
}

/**
 * A quantity against its x axis (a width, a depth, a learning rate: chart.x), log y: mean per group with ± sd
 * error bars over seeds, one fitted line per series (a power law on log x for widths and lr, log y linear in x
 * otherwise) and, when x is a width, a width^(−1/2) reference line through the smallest width's mean.
 */
export function widthSpec(chart: WidthChart, o: { title: string; yTitle: string; width?: number; height?: number; facetArea?: number }): Spec {
  const pts = chart.points;
  const widths = pts.map((p) => p.width);
  const lo = Math.min(...widths);
  const hi = Math.max(...widths);
  const isWidth = chart.x === 'f.width' || chart.x === 'g.width';
  const logX = chart.scale === 'log';
  const seriesTitle = chart.seriesKeys.length ? chart.seriesKeys.join(', ') : 'series';
  const oneSeries = new Set(pts.map((p) => p.series)).size <= 1;
  const layers: Spec[] = [
    {
      name: 'errorbars',
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'width', type: 'quantitative' },
        y: { field: 'lo', type: 'quantitative' },
        y2: { field: 'hi' },
        color: { field: 'series', type: 'nominal' },
      },
    },
    {
      name: 'means',
      mark: { type: 'point', filled: true, size: 70, opacity: 1 },
      encoding: {
        x: { field: 'width', type: 'quantitative' },
        y: { field: 'mean', type: 'quantitative' },
        color: {
          field: 'series', type: 'nominal', title: seriesTitle, scale: { scheme: 'tableau10', domain: [...new Set(pts.map((p) => p.series))] },
          ...(oneSeries ? { legend: null } : {}),
        },
        tooltip: [
          { field: 'width', title: chart.axis }, { field: 'series' }, { field: 'n' },
          { field: 'mean', format: '.4g' }, { field: 'sd', format: '.3g' },
        ],
      },
    },
  ];
  let subtitle: string | string[] = chart.note ?? '';
  const ref = isWidth ? '; dashed: width^−1/2' : '';
  const sd = 'error bars: ±1 sd over seeds';
  if (pts.length > 0 && lo < hi && isWidth) {
    // width^(-1/2) reference through the mean at the smallest width (averaged over series there).
    const first = pts.filter((p) => p.width === lo);
    const y0 = first.reduce((a, p) => a + p.mean, 0) / first.length;
    layers.push({
      name: 'reference',
      data: { values: [lo, hi].map((w) => ({ width: w, y: y0 * (w / lo) ** -0.5 })) },
      mark: { type: 'line', strokeDash: [5, 4], color: '#6b7280', strokeWidth: 1.3 },
      encoding: { x: { field: 'width', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
  }
  if (pts.length > 0 && lo < hi) {
    const lines = chart.fits.flatMap(({ series, facet, fit }) => {
      const inFit = (p: WidthPoint) => (series === 'all' || p.series === series) && (facet === undefined || JSON.stringify(p.facet) === JSON.stringify(facet));
      const ws = pts.filter(inFit).map((p) => p.width);
      const a = Math.min(...ws);
      const b = Math.max(...ws);
      // Two points make the line: log y is linear in log x (log scale) or in x (linear scale).
      const at = (w: number) => Math.exp((fit.intercept as number) + (fit.slope as number) * (logX ? Math.log(w) : w));
      return [a, b].map((w) => ({ width: w, y: at(w), series, ...(facet !== undefined ? { facet } : {}) }));
    });
    if (lines.length > 0) {
      layers.push({
        name: 'fitlines',
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.6, opacity: 0.9 },
        encoding: {
          x: { field: 'width', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          detail: { field: 'series' },
          color: { field: 'series', type: 'nominal' },
        },
      });
      const one = (f: FitInfo) => `${fmt(f.slope)} [${fmt(f.slopeLow)}, ${fmt(f.slopeHigh)}]`;
      const against = `log y vs ${logX ? 'log ' : ''}${chart.fits[0].fit.axis}`;
      subtitle = chart.fits.length === 1
        ? [`slope ${one(chart.fits[0].fit)} (95% CI; OLS of ${against}, N=${chart.fits[0].fit.nPoints})`, `${sd}${ref}`]
        : [`slope per series (95% CI; OLS of ${against}); ${sd}${ref}`,
            ...wrapItems(chart.fits.map((f) => `${f.facet !== undefined ? `${chart.facet}=${String(f.facet)} ` : ''}${f.series}: ${one(f.fit)}`), 100)];
    } else subtitle = [chart.note ?? 'no fit', `${sd}${ref}`];
  }
  const encoding = {
      x: logX
        ? { field: 'width', type: 'quantitative', scale: { type: 'log', base: isWidth ? 2 : 10, nice: false, padding: 14 }, title: `${chart.axis} (log scale)`, axis: { tickCount: 6, labelOverlap: 'greedy' } }
        : { field: 'width', type: 'quantitative', scale: { zero: false, nice: false, padding: 12 }, title: chart.axis, axis: { tickMinStep: 1, labelOverlap: 'greedy' } },
      y: { field: 'mean', type: 'quantitative', scale: { type: 'log', nice: false, padding: 14 }, title: o.yTitle, axis: { labelOverlap: 'greedy', labelSeparation: 4 } },
  };
  if (chart.facet) return facetedWidthSpec(chart, chart.facet, { ...o, subtitle, encoding, layers, isWidth });
  return {
    $schema: schema,
    name: 'widthchart',
    width: o.width ?? 'container',
    height: o.height ?? 260,
    title: { text: o.title, subtitle },
    data: { values: pts },
    encoding,
    layer: layers.map((l) => ({ ...l, encoding: { ...(l.encoding as Spec) } })),
    config: baseConfig,
  };
}

/**
 * The width chart as small multiples, one panel per value of `facet`: one data set whose rows say which layer
 * they belong to (a facet splits one data set), the width^(−1/2) reference through each panel's smallest width.
 */
function facetedWidthSpec(
  chart: WidthChart, facet: string,
  o: { title: string; subtitle: string | string[]; encoding: Spec; layers: Spec[]; isWidth: boolean; height?: number; facetArea?: number },
): Spec {
  const rows: Spec[] = chart.points.map((p) => ({ ...p, part: 'points' }));
  const layers: Spec[] = o.layers.flatMap((l): Spec[] => {
    if (l.name === 'reference') return [];
    const data = l.data as { values: Spec[] } | undefined;
    const part = data ? String(l.name) : 'points';
    if (data) rows.push(...data.values.map((v) => ({ ...v, part })));
    const rest = { ...l };
    delete rest.data;
    return [{ ...rest, transform: [{ filter: `datum.part === '${part}'` }] }];
  });
  const panels = [...new Set(chart.points.map((p) => JSON.stringify(p.facet ?? null)))].map((v) => JSON.parse(v) as unknown);
  for (const panel of panels) {
    const pts = chart.points.filter((p) => JSON.stringify(p.facet ?? null) === JSON.stringify(panel));
    const ws = pts.map((p) => p.width);
    const [lo, hi] = [Math.min(...ws), Math.max(...ws)];
    if (!o.isWidth || !(lo < hi)) continue;
    const first = pts.filter((p) => p.width === lo);
    const y0 = first.reduce((a, p) => a + p.mean, 0) / first.length;
    rows.push(...[lo, hi].map((w) => ({ width: w, y: y0 * (w / lo) ** -0.5, facet: panel, part: 'reference' })));
  }
  // Panels side by side, at most 3 a row, within the area given (axis, legend and gaps take about 300 px).
  const columns = Math.min(3, Math.max(1, panels.length));
  const panelWidth = Math.max(150, Math.floor(((o.facetArea ?? 1000) - 300) / columns) - 20);
  // Narrow panels: fewer x ticks, labels kept apart.
  const x = o.encoding.x as Spec;
  const narrowX = { ...x, axis: { ...(x.axis as Spec), tickCount: 4, labelSeparation: 6 } };
  if (rows.some((r) => r.part === 'reference')) {
    layers.push({
      name: 'reference',
      transform: [{ filter: "datum.part === 'reference'" }],
      mark: { type: 'line', strokeDash: [5, 4], color: '#6b7280', strokeWidth: 1.3 },
      encoding: { x: { field: 'width', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
  }
  return {
    $schema: schema,
    name: 'widthchart',
    title: { text: o.title, subtitle: o.subtitle },
    data: { values: rows },
    facet: { field: 'facet', type: 'ordinal', title: facet, header: { labelFontWeight: 600, titleFontWeight: 600 } },
    columns,
    spec: { width: panelWidth, height: o.height ?? 200, encoding: { ...o.encoding, x: narrowX }, layer: layers },
    resolve: { scale: { x: 'shared', y: 'shared' } },
    config: baseConfig,
  };
}

export const metricTitles: Record<HeatmapMetric, string> = {
  init_distance: 'init NTK distance (exact)',
  final_distance: 'final NTK distance (exact)',
  movement: 'NTK movement',
  final_loss: 'final training loss',
  test_loss: 'test loss',
};

/**
 * Mean of a metric per (row, col) cell: col along x, row along y (larger values up), evenly spaced cells (the
 * widths' and the learning rate's grids are geometric, so evenly spaced is their log scale). The colour scale is
 * logarithmic when every mean is positive.
 */
export function heatmapSpec(data: HeatmapData, o: { width?: number; height?: number } = {}): Spec {
  const { metric, row, col } = data;
  const means = data.cells.flatMap((c) => (c.mean === null ? [] : [c.mean]));
  const [mn, mx] = [Math.min(...means), Math.max(...means)];
  const positive = means.every((m) => m > 0);
  // Enough digits that the cells' labels and the colour bar's differ where the values do.
  const ticks = means.length ? legendValues(mn, mx, positive) : [];
  const values = data.cells.filter((c) => c.mean !== null).map((c) => ({ rowv: c.row, colv: c.col, n: c.n, mean: c.mean, sd: c.sd, label: fmt(c.mean, distinctDigits(means)) }));
  const mid = values.length === 0 ? 0 : positive ? Math.sqrt(mn * mx) * Math.pow(mx / mn, 0.2) : mn + 0.7 * (mx - mn);
  const axes = [col, row].filter((k): k is string => k !== null);
  return {
    $schema: schema,
    name: 'heatmap',
    width: o.width ?? 'container',
    height: o.height ?? 260,
    title: { text: `${metricTitles[metric]}${axes.length ? ` by ${axes.join(' and ')}` : ''}`, subtitle: 'mean over seeds per cell' },
    data: { values },
    encoding: {
      ...(col !== null ? { x: { field: 'colv', type: 'ordinal', title: col, sort: 'ascending', axis: { labelAngle: 0 } } } : {}),
      ...(row !== null ? { y: { field: 'rowv', type: 'ordinal', title: row, sort: 'descending' } } : {}),
    },
    layer: [
      {
        name: 'cells',
        mark: { type: 'rect', stroke: '#fff', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'mean', type: 'quantitative', title: metricTitles[metric],
            scale: { type: positive ? 'log' : 'linear', scheme: 'viridis' },
            legend: { orient: 'right', gradientLength: 180, values: ticks.length ? ticks : undefined, format: `.${distinctDigits(ticks)}~g`, labelOverlap: false },
          },
          tooltip: [
            ...(col !== null ? [{ field: 'colv', title: col }] : []), ...(row !== null ? [{ field: 'rowv', title: row }] : []), { field: 'n' },
            { field: 'mean', format: '.4g' }, { field: 'sd', format: '.3g' },
          ],
        },
      },
      ...(values.length <= 120
        ? [{
            name: 'labels',
            mark: { type: 'text', fontSize: 10 },
            encoding: {
              text: { field: 'label' },
              // Dark text on the light (high) end of viridis, white on the dark end.
              color: { condition: { test: `datum.mean > ${mid}`, value: '#111827' }, value: '#ffffff' },
            },
          }]
        : []),
    ],
    config: baseConfig,
  };
}

/** One trial's loss curve. */
export function trialCurveSpec(t: Pick<TrialDetail, 'id' | 'curve'>, o: { width?: number; height?: number } = {}): Spec {
  return {
    $schema: schema,
    name: 'trialcurve',
    width: o.width ?? 'container',
    height: o.height ?? 180,
    title: { text: `Trial ${t.id}`, subtitle: 'training loss' },
    data: { values: t.curve.filter(([, v]) => v > 0).map(([step, loss]) => ({ step, loss })) },
    encoding: {
      x: { field: 'step', type: 'quantitative' },
      y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'training loss (log scale)', axis: { labelOverlap: 'greedy', labelSeparation: 4 } },
      tooltip: [{ field: 'step' }, { field: 'loss', format: '.4e' }],
    },
    layer: [
      { name: 'trialline', mark: { type: 'line', color: '#4f46e5' } },
      { name: 'trialpoints', mark: { type: 'point', filled: true, size: 18, color: '#4f46e5' } },
    ],
    config: baseConfig,
  };
}
