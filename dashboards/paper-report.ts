import { and, eq, inArray } from 'drizzle-orm';
import { HypersweepError } from '../core/errors.js';
import type { Db } from '../schema/db.js';
import { loadClaimTrials } from '../schema/claims/data.js';
import { evaluateClaims, type ClaimResult, type TestPart, type Verdict } from '../schema/claims/evaluate.js';
import { parseClaims } from '../schema/claims/spec.js';
import { cubeKeys, movement } from '../schema/queries-aggregate.js';
import { outputs } from '../schema/queries-outputs.js';
import { getSweep } from '../schema/store.js';
import { sweepTrials, trials } from '../schema/tables.js';
import { baseConfig, widthSpec, type Spec } from './client/charts.js';
import { distanceChart, sweepList, type WidthChart } from './data.js';
import { chartPageScripts, contentSecurityPolicy, escapeHtml, inlineJson } from './html.js';
import { experimentTexts, generalDifferences, verdictRules, type Setting } from './paper-text.js';

/**
 * `hypersweep report --paper`: one self-contained HTML page with every paper experiment (sweeps/paper/*.yaml) that
 * is in the database — the question, the protocol with the stored settings, the plots, the claims with their
 * verdicts and numbers, the differences from the official code — and, for the experiments not in it, the command
 * that runs them. Vega is inlined; the page makes no request (CSP: hashed scripts only, no eval).
 */

/** A paper sweep file and the sweep name it declares. */
export interface PaperSweepFile {
  file: string;
  name: string;
}

const VEGA_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const num = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x === 0 ? '0' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(4) : x.toExponential(3);
const verdictColor: Record<Verdict, string> = { holds: '#047857', fails: '#b91c1c', inconclusive: '#92400e' };

// ---- settings of the stored spec ----------------------------------------------------------------------------

function flattenInto(obj: unknown, prefix: string, out: Map<string, unknown>): void {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flattenInto(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, obj);
}

/** Consecutive integers as `0–599 (600 values)`, else `{a, b, c}`. */
function axisText(values: readonly unknown[]): string {
  const ints = values.every((v) => Number.isInteger(v)) && values.length > 4;
  if (ints && values.every((v, i) => i === 0 || (v as number) === (values[i - 1] as number) + 1)) {
    return `${String(values[0])}–${String(values.at(-1))} (${values.length} values)`;
  }
  return `{${values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}}`;
}

/** The stored spec's fixed settings and axes (grid and zip), as dotted key → text. */
export function specSettings(spec: unknown): { fixed: Map<string, string>; axes: Map<string, string>; setting: Setting } {
  const s = (spec ?? {}) as { fixed?: unknown; grid?: Record<string, unknown>; zip?: Array<Record<string, unknown>> };
  const flat = new Map<string, unknown>();
  flattenInto(s.fixed ?? {}, '', flat);
  const fixed = new Map([...flat].map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const axes = new Map<string, string>();
  for (const [k, v] of Object.entries(s.grid ?? {})) if (Array.isArray(v)) axes.set(k, axisText(v));
  for (const group of s.zip ?? []) for (const [k, v] of Object.entries(group)) if (Array.isArray(v)) axes.set(k, axisText(v));
  return { fixed, axes, setting: (key) => axes.get(key) ?? fixed.get(key) };
}

// ---- data for the plots -------------------------------------------------------------------------------------

/** Finished trials of a sweep with their flattened config, test accuracy and metrics JSON. */
function finishedTrials(db: Db, sweep: string) {
  return db
    .select({ id: trials.id, config: trials.config, testAccuracy: trials.testAccuracy, metrics: trials.metrics })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(and(eq(sweepTrials.sweep, sweep), inArray(trials.status, ['completed', 'diverged'])))
    .all()
    .map((r) => {
      const flat = new Map<string, unknown>();
      flattenInto(r.config, '', flat);
      return { id: r.id, config: flat, testAccuracy: r.testAccuracy, metrics: r.metrics };
    });
}

/** A number at a dotted path of a JSON value, or null. */
function at(obj: unknown, path: string): number | null {
  let cur = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return null;
    cur = (cur as Record<string, unknown>)[p];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : null;
}

function meanSd(xs: readonly number[]): { n: number; mean: number; sd: number | null } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : null;
  return { n, mean, sd };
}

/** Movement against g.width, one series (and fit) per f.width. */
function movementVsM(db: Db, sweep: string): WidthChart {
  try {
    const r = movement(db, { sweep, byVarying: cubeKeys, x: 'g.width', series: 'f.width' });
    const x = r.axes.x ?? 'g.width';
    const seriesOf = (key: Record<string, unknown>) => r.axes.series.map((k) => `${k}=${String(key[k])}`).join(' ') || 'all';
    const points = r.groups
      .filter((g) => g.movementMean !== null && g.movementMean > 0)
      .map((g) => {
        const mean = g.movementMean as number;
        const sd = g.movementSd;
        return { width: Number(g.key[x]), series: seriesOf(g.key), n: g.n, mean, sd, lo: sd === null ? mean : Math.max(mean - sd, mean / 10), hi: sd === null ? mean : mean + sd };
      });
    const fits = r.fits.filter((f) => f.fit.axis !== null).map((f) => ({ series: f.label, fit: f.fit }));
    return { axis: x, x, scale: 'log', seriesKeys: r.axes.series, by: r.by, points, fits, note: fits.length ? null : r.fit.note };
  } catch (err) {
    if (!(err instanceof HypersweepError)) throw err;
    return { axis: 'g.width', x: null, scale: 'log', seriesKeys: [], by: [], points: [], fits: [], note: err.message };
  }
}

/** Excess kurtosis across seeds (pooled over probe points, ± jackknife sd) vs n, one series per m, with 15/m. */
function kurtosisSpec(db: Db, sweep: string): Spec | string {
  let r;
  try {
    r = outputs(db, { sweep });
  } catch (err) {
    if (err instanceof HypersweepError) return err.message;
    throw err;
  }
  const pts = r.groups.flatMap((g) => {
    const pooled = g.rows.find((row) => row.point === 'pooled');
    const n = Number(g.key['f.width']);
    const m = Number(g.key['g.width']);
    if (!pooled || !Number.isFinite(n) || !Number.isFinite(m)) return [];
    const k = pooled.excessKurtosis;
    return [{ n, m: `m=${m}`, kurtosis: k, lo: k - pooled.seJackknife, hi: k + pooled.seJackknife, seeds: pooled.seeds, predicted: g.predicted }];
  });
  if (pts.length === 0) return 'no trial with stored init outputs (kernels.initOutputs) yet';
  const ns = pts.map((p) => p.n);
  const refs = [...new Map(pts.filter((p) => p.predicted !== null).map((p) => [p.m, p.predicted as number])).entries()].flatMap(([m, y]) =>
    [Math.min(...ns), Math.max(...ns)].map((n) => ({ n, m, y })),
  );
  const domain = [...new Set(pts.map((p) => p.m))].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
  const color = { field: 'm', type: 'nominal', title: 'g.width', scale: { scheme: 'tableau10', domain } };
  return {
    $schema: VEGA_SCHEMA,
    width: 'container',
    height: 260,
    title: { text: 'excess kurtosis of h(u) across init seeds vs n', subtitle: ['pooled over probe points; error bars ±1 jackknife sd over seeds', 'dashed: 15/m (n → ∞, L = 2); 0 for a Gaussian process'] },
    data: { values: pts },
    encoding: {
      x: { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2, nice: false, padding: 12 }, title: 'f.width n (log scale)' },
      y: { field: 'kurtosis', type: 'quantitative', title: 'excess kurtosis g₂', scale: { zero: true } },
    },
    layer: [
      { name: 'errorbars', mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        name: 'means', mark: { type: 'point', filled: true, size: 70, opacity: 1 },
        encoding: { color, tooltip: [{ field: 'n' }, { field: 'm' }, { field: 'kurtosis', format: '.3f' }, { field: 'seeds' }] },
      },
      ...(refs.length ? [{
        name: 'reference', data: { values: refs }, mark: { type: 'line', strokeDash: [5, 4], strokeWidth: 1.4 },
        encoding: { x: { field: 'n', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color, detail: { field: 'm' } },
      }] : []),
    ],
    config: baseConfig,
  };
}

const predictors = [
  { key: 'hyperkernel', label: 'Θ_h (hyperkernel)', path: 'kernelRegression.hyperkernel' },
  { key: 'gp', label: 'K_GP (GP kernel)', path: 'kernelRegression.gp' },
  { key: 'meanImage', label: 'mean image', path: 'kernelRegression.baselines.meanImage' },
  { key: 'copyVisible', label: 'copy visible half', path: 'kernelRegression.baselines.copyVisible' },
] as const;

interface CompletionRow { mode: string; predictor: string; part: string; n: number; mean: number; sd: number | null }

/** Image-completion MSEs per kernel mode × predictor × pixel set (mean ± sd over seeds). */
function completionRows(db: Db, sweep: string): CompletionRow[] {
  const rows = finishedTrials(db, sweep);
  const out: CompletionRow[] = [];
  const modes = [...new Set(rows.map((r) => String(r.config.get('kernels.mode') ?? 'exact')))].sort();
  for (const mode of modes) {
    const mine = rows.filter((r) => String(r.config.get('kernels.mode') ?? 'exact') === mode);
    for (const p of predictors) {
      for (const part of ['mseAll', 'mseHidden', 'mseVisible'] as const) {
        const xs = mine.map((r) => at(r.metrics, `${p.path}.${part}`)).filter((x): x is number => x !== null);
        if (xs.length) out.push({ mode, predictor: p.label, part, ...meanSd(xs) });
      }
    }
  }
  return out;
}

function completionSpec(rows: readonly CompletionRow[]): Spec {
  const values = rows.filter((r) => r.part !== 'mseVisible').map((r) => ({
    ...r, pixels: r.part === 'mseAll' ? 'all 784 pixels' : 'hidden half', lo: r.sd === null ? r.mean : r.mean - r.sd, hi: r.sd === null ? r.mean : r.mean + r.sd,
  }));
  const order = predictors.map((p) => p.label);
  return {
    $schema: VEGA_SCHEMA,
    title: { text: 'image completion: test MSE per predictor', subtitle: 'bars: mean over seeds (pixel draws); rules: ±1 sd; baselines do not depend on the kernel mode' },
    data: { values },
    facet: { row: { field: 'pixels', type: 'nominal', title: null }, column: { field: 'mode', type: 'nominal', title: 'kernels.mode' } },
    spec: {
      width: 190,
      height: 120,
      encoding: {
        y: { field: 'predictor', type: 'nominal', sort: order, title: null },
        x: { field: 'mean', type: 'quantitative', title: 'MSE', scale: { zero: true } },
      },
      layer: [
        { name: 'bars', mark: { type: 'bar', height: 14 }, encoding: { color: { field: 'predictor', type: 'nominal', sort: order, legend: null, scale: { scheme: 'tableau10' } }, tooltip: [{ field: 'predictor' }, { field: 'mode' }, { field: 'pixels' }, { field: 'mean', format: '.4f' }, { field: 'sd', format: '.2g' }, { field: 'n' }] } },
        { name: 'errorbars', mark: { type: 'rule', color: '#111827' }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
    config: baseConfig,
  };
}

/** Test accuracy at the end vs g.width (mean ± sd over seeds), and the per-epoch accuracy curves. */
function rotationSpecs(db: Db, sweep: string, slug: string): Array<{ id: string; spec: Spec }> {
  const rows = finishedTrials(db, sweep).filter((r) => r.testAccuracy !== null);
  const byM = new Map<number, number[]>();
  for (const r of rows) {
    const m = Number(r.config.get('g.width'));
    if (!byM.has(m)) byM.set(m, []);
    byM.get(m)!.push(r.testAccuracy as number);
  }
  const pts = [...byM].sort(([a], [b]) => a - b).map(([m, xs]) => {
    const s = meanSd(xs);
    return { m, ...s, lo: s.sd === null ? s.mean : s.mean - s.sd, hi: s.sd === null ? s.mean : s.mean + s.sd };
  });
  const out: Array<{ id: string; spec: Spec }> = [];
  if (pts.length) {
    out.push({
      id: `${slug}-accuracy`,
      spec: {
        $schema: VEGA_SCHEMA, width: 'container', height: 240,
        title: { text: 'test accuracy vs g.width m', subtitle: 'mean over seeds, error bars ±1 sd' },
        data: { values: pts },
        encoding: { x: { field: 'm', type: 'quantitative', scale: { type: 'log', base: 2, nice: false, padding: 12 }, title: 'g.width m (log scale)' }, y: { field: 'mean', type: 'quantitative', title: 'test accuracy', scale: { zero: false } } },
        layer: [
          { name: 'errorbars', mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
          { name: 'means', mark: { type: 'point', filled: true, size: 70 }, encoding: { tooltip: [{ field: 'm' }, { field: 'mean', format: '.4f' }, { field: 'sd', format: '.2g' }, { field: 'n' }] } },
          { name: 'line', mark: { type: 'line', opacity: 0.5 } },
        ],
        config: baseConfig,
      },
    });
  }
  // metrics.testCurve: the test pass after every epoch ({epoch, testLoss, testAccuracy}), stored with the result
  const curve = rows.flatMap((r) => {
    const points = (r.metrics as { testCurve?: unknown } | null)?.testCurve;
    if (!Array.isArray(points)) return [];
    return points.flatMap((p: unknown) => {
      const epoch = at(p, 'epoch'), value = at(p, 'testAccuracy');
      return epoch === null || value === null ? [] : [{ trialId: r.id, series: 'testAccuracy', step: epoch, value }];
    });
  });
  const widthOf = new Map(rows.map((r) => [r.id, Number(r.config.get('g.width'))]));
  if (curve.length) {
    const values = curve.map((p) => ({ trial: p.trialId, series: p.series, step: p.step, value: p.value, m: `m=${widthOf.get(p.trialId)}` }));
    const domain = [...new Set(rows.map((r) => Number(r.config.get('g.width'))))].sort((a, b) => a - b).map((m) => `m=${m}`);
    out.push({
      id: `${slug}-curves`,
      spec: {
        $schema: VEGA_SCHEMA, width: 'container', height: 240,
        title: { text: 'test accuracy per epoch', subtitle: 'one line per trial: the test pass after every epoch (fresh angles)' },
        data: { values },
        layer: [
          { name: 'curves', mark: { type: 'line', strokeWidth: 1.3 } },
          { name: 'points', mark: { type: 'point', filled: true, size: 25 } },
        ],
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'epoch' },
          y: { field: 'value', type: 'quantitative', title: 'test accuracy', scale: { zero: false } },
          color: { field: 'm', type: 'nominal', title: 'g.width', scale: { scheme: 'tableau10', domain } },
          detail: { field: 'trial' },
        },
        config: baseConfig,
      },
    });
  }
  return out;
}

/** The plots of one experiment: `{id, spec}` per chart, or a sentence when there is nothing to draw. */
function plotsOf(db: Db, sweep: string): Array<{ id: string; spec: Spec } | { id: string; note: string }> {
  const dist = (kind: 'ntk' | 'gp', title: string, yTitle: string) =>
    widthSpec(distanceChart(db, sweep, { phase: 'init', kind, mode: 'exact' }), { title, yTitle });
  const slug = sweep.replace(/[^A-Za-z0-9]+/g, '-');
  switch (sweep) {
    case 'paper-width-joint':
      return [
        { id: `${slug}-ntk`, spec: dist('ntk', 'init NTK distance to Θ_h vs width (n = m)', 'relative Frobenius distance (log)') },
        { id: `${slug}-gp`, spec: dist('gp', 'init GP-kernel distance to K_GP vs width (n = m)', 'relative Frobenius distance (log)') },
      ];
    case 'paper-width-n-only':
    case 'paper-width-m-only':
      return [{ id: `${slug}-ntk`, spec: dist('ntk', 'init NTK distance to Θ_h vs width', 'relative Frobenius distance (log)') }];
    case 'paper-movement':
      return [
        { id: `${slug}-m`, spec: widthSpec(movementVsM(db, sweep), { title: 'NTK movement in training vs m, one line per n', yTitle: '‖Θ̂_T − Θ̂_0‖ / ‖Θ̂_0‖ (log)' }) },
      ];
    case 'paper-non-gaussian': {
      const s = kurtosisSpec(db, sweep);
      return [typeof s === 'string' ? { id: `${slug}-kurtosis`, note: s } : { id: `${slug}-kurtosis`, spec: s }];
    }
    case 'paper-image-completion': {
      const rows = completionRows(db, sweep);
      return rows.length ? [{ id: `${slug}-mse`, spec: completionSpec(rows) }] : [{ id: `${slug}-mse`, note: 'no finished trial with kernel-regression results yet' }];
    }
    case 'paper-rotation':
    case 'paper-rotation-reduced': {
      const specs = rotationSpecs(db, sweep, slug);
      return specs.length ? specs : [{ id: `${slug}-accuracy`, note: 'no finished trial with a test accuracy yet' }];
    }
    default:
      return [{ id: `${slug}-ntk`, spec: dist('ntk', 'init NTK distance to Θ_h vs width', 'relative Frobenius distance (log)') }];
  }
}

// ---- claims ---------------------------------------------------------------------------------------------------

interface ClaimsOf {
  results: ClaimResult[];
  error: string | null;
}

function claimsOf(db: Db, sweep: string, spec: unknown): ClaimsOf {
  const raw = (spec as { expect?: unknown } | undefined)?.expect;
  if (!Array.isArray(raw) || raw.length === 0) return { results: [], error: null };
  try {
    const where = `sweep ${sweep}`;
    return { results: evaluateClaims(parseClaims(raw, where), loadClaimTrials(db, sweep), where), error: null };
  } catch (err) {
    if (!(err instanceof HypersweepError)) throw err;
    return { results: [], error: err.message };
  }
}

const verdictBadge = (v: Verdict) => `<b class="verdict" data-verdict="${v}" style="color:${verdictColor[v]}">${v.toUpperCase()}</b>`;

function partCells(p: TestPart): string {
  const interval = p.low === null || p.high === null ? '–' : `[${num(p.low)}, ${num(p.high)}]`;
  const claimed = `${p.region}${p.target !== undefined ? ` (target ${num(p.target)})` : ''}`;
  const stats = [`N = ${p.n}`, ...(p.df !== null ? [`df = ${p.df.toFixed(p.df % 1 ? 1 : 0)}`] : []), ...(p.p !== null ? [`p = ${num(p.p)}`] : [])].join(', ');
  return [p.quantity, num(p.estimate), interval, claimed, stats, `${p.verdict}: ${p.reason}`].map((c) => `<td>${escapeHtml(c)}</td>`).join('');
}

function claimsTable(c: ClaimsOf): string {
  if (c.error) return `<p class="muted">The stored claims cannot be evaluated: ${escapeHtml(c.error)}</p>`;
  if (c.results.length === 0) return '<p class="muted">This sweep states no claims.</p>';
  const head = ['quantity', 'estimate', '95% interval', 'claimed', 'n', 'verdict of the test'].map((h) => `<th>${h}</th>`).join('');
  return c.results
    .map((r) => {
      const notes = r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('');
      return `<div class="claim">
<p>${verdictBadge(r.verdict)} <span class="claim-name">${escapeHtml(r.name)}</span></p>
<p class="muted">claim: ${escapeHtml(r.statement)}<br>test: ${escapeHtml(r.test)}${r.confidence !== 0.95 ? ` (confidence ${escapeHtml(String(r.confidence))})` : ''}</p>
<table><thead><tr>${head}</tr></thead><tbody>${r.parts.map((p) => `<tr>${partCells(p)}</tr>`).join('')}</tbody></table>
<p class="muted">verdict: ${escapeHtml(`${r.verdict}: ${r.reason} (${r.used} of ${r.selected} selected trials used)`)}</p>${notes ? `<ul class="notes">${notes}</ul>` : ''}
</div>`;
    })
    .join('\n');
}

/** One line of numbers per claim for the summary table. */
function claimNumbers(r: ClaimResult): string {
  return r.parts
    .map((p) => `${p.quantity} = ${num(p.estimate)}${p.low !== null && p.high !== null ? ` [${num(p.low)}, ${num(p.high)}]` : ''}, claimed ${p.region}: ${p.verdict}`)
    .join('; ');
}

// ---- the page -------------------------------------------------------------------------------------------------

/** The order of the page: the paper's width experiments, then its applications; other paper sweeps after them. */
const paperOrder = [
  'paper-width-joint', 'paper-width-n-only', 'paper-width-m-only', 'paper-movement', 'paper-non-gaussian', 'paper-image-completion', 'paper-rotation',
  'paper-rotation-reduced',
];

export interface PaperReportOptions {
  /** The sweep files under sweeps/paper/, in the order the page lists them. */
  files: readonly PaperSweepFile[];
  /** How the page names the database (and the command for absent sweeps uses). */
  dbLabel: string;
  generatedAt?: Date;
}

export function buildPaperReport(db: Db, o: PaperReportOptions): string {
  const status = new Map(sweepList(db).map((s) => [s.name, s]));
  const charts: Array<{ id: string; spec: Spec }> = [];
  const summary: Array<{ experiment: string; anchor: string; r: ClaimResult }> = [];
  const sections: string[] = [];
  const absent: PaperSweepFile[] = [];
  const rank = (f: PaperSweepFile) => {
    const i = paperOrder.indexOf(f.name);
    return i < 0 ? paperOrder.length : i;
  };
  const files = [...o.files].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const [i, f] of files.entries()) {
    const st = status.get(f.name);
    const row = st ? getSweep(db, f.name) : undefined;
    if (!st || !row) {
      absent.push(f);
      continue;
    }
    const text = experimentTexts[f.name];
    const anchor = `exp-${i}`;
    const title = text?.title ?? f.name;
    const spec = row.spec as { description?: unknown };
    const settings = specSettings(row.spec);
    const claims = claimsOf(db, f.name, row.spec);
    for (const r of claims.results) summary.push({ experiment: title, anchor, r });
    const plots = plotsOf(db, f.name).map((p) => {
      if ('spec' in p) {
        charts.push(p);
        return `<section class="card"><div id="chart-${escapeHtml(p.id)}" class="chart" data-chart="${escapeHtml(p.id)}"></div></section>`;
      }
      return `<section class="card" data-chart-missing="${escapeHtml(p.id)}"><p class="muted">${escapeHtml(p.note)}</p></section>`;
    });
    const counts = Object.entries(st.counts).filter(([, v]) => Number(v) > 0).map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(String(v))}`).join(', ');
    const settingRows = [...settings.axes].map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td><td>axis</td></tr>`)
      .concat([...settings.fixed].map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td><td>fixed</td></tr>`)).join('');
    const differences = text?.differences ?? [];
    sections.push(`<section class="experiment" id="${anchor}" data-sweep="${escapeHtml(f.name)}">
<h2>${escapeHtml(title)} <span class="muted">(${escapeHtml(f.name)}, ${escapeHtml(f.file)})</span></h2>
<h3>Question</h3>
<p>${escapeHtml(text?.question ?? (typeof spec.description === 'string' ? spec.description : 'A paper sweep without a description here.'))}</p>
${typeof spec.description === 'string' && text ? `<p class="muted">sweep description: ${escapeHtml(spec.description)}</p>` : ''}
<h3>Protocol</h3>
<p>${escapeHtml(text ? text.protocol(settings.setting) : `Task ${st.task}; settings below.`)}</p>
<p class="muted">${escapeHtml(`${st.total} trials: ${counts || 'none'}`)}. Settings as stored when the sweep ran:</p>
<details><summary>stored settings (${settings.axes.size} axes, ${settings.fixed.size} fixed)</summary><table class="settings"><thead><tr><th>key</th><th>value</th><th></th></tr></thead><tbody>${settingRows}</tbody></table></details>
<h3>Results</h3>
<div class="grid">
${plots.join('\n')}
</div>
${f.name === 'paper-image-completion' ? completionTable(db, f.name) : ''}
<h3>Claims</h3>
${claimsTable(claims)}
<h3>Differences from the official code</h3>
${differences.length ? `<ul>${differences.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>` : '<p class="muted">None recorded for this sweep.</p>'}
</section>`);
  }
  const summaryRows = summary
    .map(({ experiment, anchor, r }) => `<tr><td><a href="#${anchor}">${escapeHtml(experiment)}</a></td><td>${escapeHtml(r.name)}</td><td>${verdictBadge(r.verdict)}</td><td>${escapeHtml(claimNumbers(r))}</td></tr>`)
    .join('\n');
  const tally = (v: Verdict) => summary.filter((s) => s.r.verdict === v).length;
  const absentList = absent.length
    ? `<h2>Not in this database</h2><p>These paper experiments have no results in ${escapeHtml(o.dbLabel)}; run them, then write this page again:</p><ul id="absent">${absent
      .map((f) => `<li data-sweep="${escapeHtml(f.name)}"><code>${escapeHtml(`npx hypersweep run ${f.file} --db ${o.dbLabel}`)}</code> (${escapeHtml(f.name)})</li>`)
      .join('')}</ul>`
    : '';
  const when = (o.generatedAt ?? new Date()).toISOString();
  const scripts = chartPageScripts();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(scripts)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hypersweep: the paper's experiments</title>
<style>
  body { margin: 0; background: #f6f7f9; color: #111827; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { padding: 16px 28px; background: #111827; color: #fff; } header h1 { margin: 0; font-size: 19px; } header p { margin: 4px 0 0; color: #9ca3af; font-size: 13px; }
  main { max-width: 1400px; margin: 0 auto; padding: 18px 28px 40px; }
  .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
  .card { background: #fff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 14px 16px; }
  .chart { width: 100%; min-height: 280px; } .chart .vega-embed { width: 100%; }
  table { border-collapse: collapse; margin: 6px 0 4px; background: #fff; }
  th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
  th { font-size: 11px; text-transform: uppercase; color: #6b7280; letter-spacing: .04em; }
  h2 { font-size: 17px; margin: 34px 0 8px; border-top: 1px solid #d1d5db; padding-top: 18px; } h3 { font-size: 14px; margin: 16px 0 4px; }
  .muted { color: #6b7280; } .claim { margin: 8px 0 14px; } .claim p { margin: 2px 0; } .notes { margin: 2px 0; color: #6b7280; }
  p { max-width: 1100px; }
  @media (max-width: 1000px) { .grid { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>The paper's experiments, reproduced: <i>On Infinite-Width Hypernetworks</i> (Littwin, Galanti, Wolf, Yang, NeurIPS 2020)</h1><p>hypersweep · database ${escapeHtml(o.dbLabel)} · generated ${when}</p></header>
<main>
<p>Each section below is one experiment: the question it answers, how it was run (with the settings stored with the results),
the plots, the claims stated in its sweep file with their verdicts and numbers, and how it differs from the authors'
official code. Every number, setting, plot and verdict on this page is computed from the results database when the page is
written; only the explanatory text is fixed.</p>
<h2>Every claim and its measured verdict</h2>
<p class="muted">${escapeHtml(verdictRules)}</p>
<p>${summary.length} claims: ${tally('holds')} hold, ${tally('fails')} fail, ${tally('inconclusive')} inconclusive.</p>
<table id="summary"><thead><tr><th>experiment</th><th>claim</th><th>verdict</th><th>numbers (95% intervals)</th></tr></thead><tbody>${summaryRows}</tbody></table>
${sections.join('\n')}
${absentList}
<h2>Differences from the official code that apply throughout</h2>
<ul>${generalDifferences.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>
</main>
<script type="application/json" id="chart-specs">${inlineJson(charts)}</script>
${scripts.map((js) => `<script>${js}</script>`).join('\n')}
</body>
</html>
`;
}

function completionTable(db: Db, sweep: string): string {
  const rows = completionRows(db, sweep);
  if (rows.length === 0) return '';
  const cell = (mode: string, predictor: string, part: string) => {
    const r = rows.find((x) => x.mode === mode && x.predictor === predictor && x.part === part);
    return r ? `${num(r.mean)}${r.sd !== null ? ` ± ${num(r.sd)}` : ''} (${r.n})` : '–';
  };
  const modes = [...new Set(rows.map((r) => r.mode))];
  const body = modes.flatMap((mode) => predictors.map((p) =>
    `<tr><td>${escapeHtml(mode)}</td><td>${escapeHtml(p.label)}</td>${(['mseAll', 'mseHidden', 'mseVisible'] as const).map((part) => `<td>${escapeHtml(cell(mode, p.label, part))}</td>`).join('')}</tr>`)).join('');
  return `<table id="completion-mse"><thead><tr><th>kernels.mode</th><th>predictor</th><th>MSE all pixels</th><th>MSE hidden half</th><th>MSE visible half</th></tr></thead><tbody>${body}</tbody></table><p class="muted">mean ± sd over seeds (number of trials); copy-visible has no visible-half error by construction (0), the mean image's hidden error equals copy-visible's.</p>`;
}
