import type { AgreementResult, ConvergenceResult, Fitted, MovementResult } from './queries-aggregate.js';
import type { ConfigValue } from './queries-keys.js';
import type { FitInfo, SeriesFit } from './queries-slope.js';

/** Output of the query commands: an aligned text table, CSV (RFC 4180) or one JSON object. */
export const formats = ['table', 'csv', 'json'] as const;
export type Format = (typeof formats)[number];

export interface Tabular {
  columns: string[];
  rows: Array<Record<string, ConfigValue>>;
}

/** A CSV field: quoted when it holds a comma, quote, CR or LF; null is the empty field. */
export function csvField(v: ConfigValue | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(t: Tabular): string {
  const lines = [t.columns.map(csvField).join(',')];
  for (const r of t.rows) lines.push(t.columns.map((c) => csvField(r[c])).join(','));
  return lines.join('\n') + '\n';
}

function cell(v: ConfigValue | undefined): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }
  return String(v);
}

export function toTable(t: Tabular): string {
  const body = t.rows.map((r) => t.columns.map((c) => cell(r[c])));
  const widths = t.columns.map((c, i) => Math.max(c.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padStart(widths[i])).join('  ').trimEnd();
  return [line(t.columns), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}

/** Fit fields named plainly for JSON: slope, slopeLow, slopeHigh, slopeAxis, ... */
export function fitFields(fit: FitInfo): Record<string, ConfigValue> {
  return {
    slope: fit.slope ?? null,
    slopeLow: fit.slopeLow ?? null,
    slopeHigh: fit.slopeHigh ?? null,
    slopeAxis: fit.axis,
    slopeScale: fit.scale,
    slopeInterval: '95%',
    slopeMethod: fit.method,
    slopeNote: fit.note,
    intercept: fit.intercept ?? null,
    slopeN: fit.nPoints ?? null,
    slopeDf: fit.df ?? null,
  };
}

/** One line describing a fit, for table output (and stderr next to CSV); `series` prefixes a series' fit. */
export function fitLine(what: string, fit: FitInfo, series?: string): string {
  const at = series !== undefined && series !== 'all' ? `[${series}] ` : '';
  if (fit.slope === undefined || fit.axis === null) return `${at}slope of log ${what}: none (${fit.note ?? 'not applicable'})`;
  const ci = fit.slopeLow != null && fit.slopeHigh != null ? `95% CI [${cell(fit.slopeLow)}, ${cell(fit.slopeHigh)}]` : 'no interval (N - 2 < 1)';
  const x = fit.scale === 'log' ? `log ${fit.axis}` : fit.axis;
  return `${at}slope of log ${what} vs ${x}: ${cell(fit.slope)}, ${ci}; N = ${fit.nPoints} trials; ${fit.method}`;
}

/** The fit lines of a fitted result: one per series when there are several, else the one fit (or why none). */
export function fitLines(what: string, r: Fitted): string[] {
  return r.fits.length > 1 ? r.fits.map((f) => fitLine(what, f.fit, f.label)) : [fitLine(what, r.fit)];
}

/** The axes and per-series fits for JSON: x, series, fits [{series, label, slope, ...}]. */
function fittedFields(r: Fitted): Record<string, unknown> {
  return {
    x: r.axes.x,
    series: r.axes.series,
    ...fitFields(r.fit),
    fits: r.fits.map((f: SeriesFit) => ({ series: f.series, label: f.label, ...fitFields(f.fit) })),
  };
}

export function agreementTable(r: AgreementResult): Tabular {
  return {
    columns: [...r.by, 'n', 'distanceMean', 'distanceSd', 'alignmentMean', 'alignmentSd'],
    rows: r.groups.map((g) => ({ ...g.key, n: g.n, distanceMean: g.distanceMean, distanceSd: g.distanceSd, alignmentMean: g.alignmentMean, alignmentSd: g.alignmentSd })),
  };
}

export function movementTable(r: MovementResult): Tabular {
  return {
    columns: [...r.by, 'n', 'movementMean', 'movementSd'],
    rows: r.groups.map((g) => ({ ...g.key, n: g.n, movementMean: g.movementMean, movementSd: g.movementSd })),
  };
}

export function convergenceTable(r: ConvergenceResult): Tabular {
  return {
    columns: [...r.by, 'n', 'lossN', 'lossMean', 'lossSd', 'ratioMedian', 'reached', 'fractionReached', 'medianSteps'],
    rows: r.groups.map((g) => ({
      ...g.key, n: g.n, lossN: g.lossN, lossMean: g.lossMean, lossSd: g.lossSd, ratioMedian: g.ratioMedian,
      reached: g.reached, fractionReached: g.fractionReached, medianSteps: g.medianSteps,
    })),
  };
}

export interface Rendered {
  stdout: string;
  /** Notes for stderr (the fit line next to CSV, so the CSV stays one table). */
  stderr?: string;
}

/** Render a query result; `header` is the JSON object's extra fields, `fit` the slopes (if the query has them). */
export function render(format: Format, t: Tabular, header: Record<string, unknown>, fit?: { what: string; r: Fitted }): Rendered {
  if (format === 'json') {
    const obj = { ...header, ...(fit ? fittedFields(fit.r) : {}), groups: t.rows };
    return { stdout: JSON.stringify(obj, null, 2) + '\n' };
  }
  const lines = fit ? fitLines(fit.what, fit.r) : [];
  if (format === 'csv') return { stdout: toCsv(t), ...(lines.length ? { stderr: lines.map((l) => `# ${l}\n`).join('') } : {}) };
  const head = { ...header, ...(fit ? { x: fit.r.axes.x ?? '-', series: fit.r.axes.series.length ? fit.r.axes.series : '-' } : {}) };
  const title = Object.entries(head).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join('  ');
  return { stdout: `${title}\n${toTable(t)}${lines.map((l) => l + '\n').join('')}` };
}
