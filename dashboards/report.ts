import type { Db } from '../schema/db.js';
import { agreement, convergence, criterionText, defaultCriterion, movement, type Fitted } from '../schema/queries-aggregate.js';
import { columnKeys, varyingKeys } from '../schema/queries-keys.js';
import { agreementTable, convergenceTable, fitLines, movementTable, type Tabular } from '../schema/queries-format.js';
import { HypersweepError } from '../core/errors.js';
import { heatmapSpec, lossCurvesSpec, trialCurveSpec, widthSpec, type Spec } from './client/charts.js';
import { distanceChart, heatmapData, lossCurves, movementChart, sweepList, trialsPage, trialDetail } from './data.js';
import { chartPageScripts, contentSecurityPolicy, escapeHtml, inlineJson } from './html.js';
import { claimsSection } from './claims-section.js';
import { sweepCodes } from '../schema/store.js';
import { codeIdentity } from '../core/code-identity.js';

/**
 * `hypersweep report`: one self-contained HTML file with the dashboard's charts and the query tables. The Vega
 * libraries, the chart specs and their data are inlined; the file makes no request when opened.
 */

/** An error's first line, at most 300 characters. */
const firstLine = (s: string) => (s.split('\n')[0] ?? '').slice(0, 300);

function cell(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  return String(v);
}

function htmlTable(t: Tabular): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${t.columns.map((c) => `<td>${escapeHtml(cell(r[c]))}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** Run a query section; a sweep without such data yet gets a sentence instead of a table. */
function section(title: string, fn: () => { table: Tabular; fit?: { what: string; r: Fitted } }): string {
  try {
    const { table, fit } = fn();
    // One line per series when there are several (the query commands' fits, schema/queries-format.ts fitLines).
    const fits = fit ? fitLines(fit.what, fit.r).map((l) => `<p class="fit">${escapeHtml(l)}</p>`).join('') : '';
    return `<h3>${escapeHtml(title)}</h3>${htmlTable(table)}${fits}`;
  } catch (err) {
    if (!(err instanceof HypersweepError)) throw err;
    return `<h3>${escapeHtml(title)}</h3><p class="muted">${escapeHtml(err.message)}</p>`;
  }
}

/** Which code produced the finished trials (version, code hash, commit), one row per code, this build's marked. */
function codeTable(db: Db, sweep: string): string {
  const codes = sweepCodes(db, sweep);
  if (codes.length === 0) return '';
  const current = codeIdentity().hash;
  const rows = codes.map((c) => {
    const hash = c.codeHash === null ? 'unknown (stored before provenance was recorded)' : c.codeHash;
    const mark = c.codeHash === current ? 'this build' : 'other code';
    return `<tr>${[cell(c.trials), c.codeVersion ?? '–', hash, c.gitCommit ?? '–', mark].map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`;
  }).join('\n');
  return `<h2>Code</h2><table id="codes"><thead><tr><th>finished trials</th><th>hypersweep</th><th>code hash</th><th>git commit</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function buildReport(db: Db, sweep: string, o: { generatedAt?: Date } = {}): string {
  const status = sweepList(db).find((s) => s.name === sweep);
  if (!status) throw new HypersweepError(`--sweep ${sweep}: no such sweep`);
  const by = varyingKeys(db, { sweep }, columnKeys);
  const charts: Array<{ id: string; spec: Spec }> = [
    { id: 'curves', spec: lossCurvesSpec(lossCurves(db, sweep, { limit: 40, points: 60 }).trials) },
    { id: 'distance', spec: widthSpec(distanceChart(db, sweep, { phase: 'init', kind: 'ntk', mode: 'exact' }), { title: 'init NTK distance vs width (exact)', yTitle: 'relative Frobenius distance (log)' }) },
    { id: 'final-distance', spec: widthSpec(distanceChart(db, sweep, { phase: 'final', kind: 'ntk', mode: 'exact' }), { title: 'final NTK distance vs width (exact)', yTitle: 'relative Frobenius distance (log)' }) },
    { id: 'movement', spec: widthSpec(movementChart(db, sweep), { title: 'NTK movement vs width', yTitle: '‖Θ_T − Θ_0‖ / ‖Θ_0‖ (log)' }) },
    { id: 'heat-init', spec: heatmapSpec(heatmapData(db, sweep, 'init_distance')) },
    { id: 'heat-movement', spec: heatmapSpec(heatmapData(db, sweep, 'movement')) },
    { id: 'heat-loss', spec: heatmapSpec(heatmapData(db, sweep, 'final_loss')) },
  ];
  const failed = trialsPage(db, sweep, { offset: 0, limit: 20, status: 'failed' });
  const firstDone = trialsPage(db, sweep, { offset: 0, limit: 1, status: 'completed' }).rows[0];
  if (firstDone) {
    const d = trialDetail(db, firstDone.id, 200);
    if (d && d.curve.length) charts.push({ id: 'example', spec: trialCurveSpec(d) });
  }
  const tables = [
    section('Kernel agreement (init, NTK, exact)', () => {
      const r = agreement(db, { sweep, by, phase: 'init', kind: 'ntk', mode: 'exact' });
      return { table: agreementTable(r), fit: { what: 'distance', r } };
    }),
    section('Kernel agreement (final, NTK, exact)', () => {
      const r = agreement(db, { sweep, by, phase: 'final', kind: 'ntk', mode: 'exact' });
      return { table: agreementTable(r), fit: { what: 'distance', r } };
    }),
    section('NTK movement', () => {
      const r = movement(db, { sweep, by });
      return { table: movementTable(r), fit: { what: 'movement', r } };
    }),
    section(`Convergence (${criterionText(defaultCriterion)})`, () => ({ table: convergenceTable(convergence(db, { sweep, by })) })),
  ];
  const counts = Object.values(status.counts).map((v) => `<td>${escapeHtml(cell(v))}</td>`).join('');
  const countHead = Object.keys(status.counts).map((k) => `<th>${escapeHtml(k)}</th>`).join('');
  const failedItem = (r: (typeof failed.rows)[number]) => {
    const error = trialDetail(db, r.id, 3)?.error;
    const why = error ? `: ${escapeHtml(firstLine(error))}` : '';
    return `<li><code>${escapeHtml(r.id)}</code> f.width=${escapeHtml(cell(r.fWidth))} g.width=${escapeHtml(cell(r.gWidth))} seed=${escapeHtml(cell(r.seed))}${why}</li>`;
  };
  const failedList = failed.rows.length
    ? `<h3>Failed trials (first ${failed.rows.length} of ${failed.total})</h3><ul id="failed">${failed.rows.map(failedItem).join('')}</ul>`
    : '';
  const codeSection = codeTable(db, sweep);
  const when = (o.generatedAt ?? new Date()).toISOString();
  // Defence in depth besides escaping: only these exact scripts may run (hashes), no eval (Vega's interpreter).
  const scripts = chartPageScripts();
  const csp = contentSecurityPolicy(scripts);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hypersweep report: ${escapeHtml(sweep)}</title>
<style>
  body { margin: 0; background: #f6f7f9; color: #111827; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { padding: 16px 28px; background: #111827; color: #fff; } header h1 { margin: 0; font-size: 19px; } header p { margin: 4px 0 0; color: #9ca3af; font-size: 13px; }
  main { max-width: 1400px; margin: 0 auto; padding: 18px 28px 40px; }
  .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
  .card { background: #fff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 14px 16px; }
  .chart { width: 100%; min-height: 300px; } .chart .vega-embed { width: 100%; }
  table { border-collapse: collapse; margin: 6px 0 4px; background: #fff; }
  th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: right; white-space: nowrap; }
  th { font-size: 11px; text-transform: uppercase; color: #6b7280; letter-spacing: .04em; }
  h2 { font-size: 16px; margin: 26px 0 10px; } h3 { font-size: 14px; margin: 18px 0 4px; }
  .fit { font-size: 12.5px; color: #374151; margin: 2px 0 10px; } .muted { color: #6b7280; }
  @media (max-width: 1000px) { .grid { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>hypersweep report: ${escapeHtml(sweep)}</h1><p>task ${escapeHtml(status.task)} · ${escapeHtml(cell(status.total))} trials · generated ${when}</p></header>
<main>
<h2>Status</h2>
<table><thead><tr>${countHead}<th>progress</th></tr></thead><tbody><tr>${counts}<td>${(100 * status.progress).toFixed(1)}%</td></tr></tbody></table>
${codeSection}
${claimsSection(db, sweep)}
<h2>Charts</h2>
<div class="grid">
${charts.map((c) => `<section class="card"><div id="chart-${c.id}" class="chart" data-chart="${c.id}"></div></section>`).join('\n')}
</div>
<h2>Tables</h2>
<p class="muted">Grouped by ${by.length ? escapeHtml(by.join(', ')) : 'nothing (one group)'}; mean ± sd over seeds. Slopes: ${escapeHtml('one per series (the other varying keys fixed), OLS of log(value) on log(x) (on x for depths) over its trials, 95% interval = slope ± t(0.975, N−2)·SE')}.</p>
${tables.join('\n')}
${failedList}
</main>
<script type="application/json" id="chart-specs">${inlineJson(charts)}</script>
${scripts.map((js) => `<script>${js}</script>`).join('\n')}
</body>
</html>
`;
}
