/**
 * The dashboard page (browser ES module). Fetches the server's aggregates, draws Vega-Lite charts with the SVG
 * renderer, polls the sweep status while any sweep is running. Vega, Vega-Lite and vega-embed are loaded as
 * globals from /vendor (served from node_modules).
 */
import type { CurveTrial, HeatmapData, RunningCurve, SweepStatus, TrialDetail, TrialRow, WidthChart } from '../data.js';
import type { HeatmapMetric } from '../../schema/queries-heatmap.js';
import { curveKeys, heatmapSpec, lossCurvesSpec, parallelSpec, tracesSpec, trialCurveSpec, widthSpec, type ParallelInput, type Spec } from './charts.js';
import type { ClaimResult } from '../../schema/claims/evaluate.js';

type Embed = (el: HTMLElement, spec: Spec, opts: Record<string, unknown>) => Promise<{ view: { finalize(): void } }>;
declare const vegaEmbed: Embed;

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`missing element ${sel}`);
  return el;
};

const state = {
  sweep: null as string | null,
  phase: 'init',
  kind: 'ntk',
  mode: 'exact',
  metric: 'init_distance' as HeatmapMetric,
  /** Chart axes: '' = chosen from what varies. */
  x: '',
  series: '',
  /** Small multiples of the distance and movement charts by this key ('' = none). */
  facet: '',
  /** Heatmap rows (y) and columns (x): '' = chosen from what varies. */
  row: '',
  col: '',
  offset: 0,
  limit: 25,
  status: '',
  sort: '',
  dir: 'asc' as 'asc' | 'desc',
  /** Config-key filters, `key=value` each. */
  where: [] as string[],
  lastDone: -1,
  trial: null as string | null,
  compare: [] as string[],
};

/** The view's state in the URL's query string (what a link reproduces); defaults are left out. */
const urlKeys = ['sweep', 'phase', 'kind', 'mode', 'metric', 'x', 'series', 'facet', 'row', 'col', 'offset', 'status', 'sort', 'dir', 'where', 'trial', 'compare'] as const;
const defaults: Record<string, string> = { phase: 'init', kind: 'ntk', mode: 'exact', metric: 'init_distance', offset: '0', dir: 'asc' };

function stateToUrl(): string {
  const q = new URLSearchParams();
  for (const k of urlKeys) {
    const v = state[k];
    const s = Array.isArray(v) ? v.join(k === 'where' ? ';' : ',') : v === null ? '' : String(v);
    if (s !== '' && s !== defaults[k]) q.set(k, s);
  }
  const t = q.toString();
  return t ? `?${t}` : location.pathname;
}

function writeUrl(): void {
  const next = stateToUrl();
  if (next !== location.search && !(next === location.pathname && location.search === '')) history.replaceState(null, '', next);
  document.body.dataset.url = location.search;
}

function readUrl(): void {
  const q = new URLSearchParams(location.search);
  const str = (k: string, d: string) => q.get(k) ?? d;
  state.sweep = q.get('sweep');
  state.phase = str('phase', 'init');
  state.kind = str('kind', 'ntk');
  state.mode = str('mode', 'exact');
  state.metric = str('metric', 'init_distance') as HeatmapMetric;
  state.x = str('x', '');
  state.series = str('series', '');
  state.facet = str('facet', '');
  state.row = str('row', '');
  state.col = str('col', '');
  state.offset = Math.max(0, Math.floor(Number(str('offset', '0'))) || 0);
  state.status = str('status', '');
  state.sort = str('sort', '');
  state.dir = str('dir', 'asc') === 'desc' ? 'desc' : 'asc';
  state.where = str('where', '').split(';').filter((w) => w.includes('='));
  state.trial = q.get('trial');
  state.compare = str('compare', '').split(',').filter((c) => c.length > 0);
  for (const [id, v] of [['phase', state.phase], ['kind', state.kind], ['mode', state.mode], ['metric', state.metric], ['status-filter', state.status]] as const) {
    $<HTMLSelectElement>(`#${id}`).value = v;
  }
}

const statuses = ['queued', 'running', 'completed', 'failed', 'diverged', 'cancelled'] as const;
const views = new Map<string, { finalize(): void }>();

async function api<T>(path: string): Promise<T> {
  const res = await fetch(path);
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

async function draw(id: string, spec: Spec): Promise<void> {
  const el = $(`#${id}`);
  views.get(id)?.finalize();
  el.dataset.rendered = 'false';
  // ast: Vega interprets expressions instead of compiling them with Function(), so the CSP needs no 'unsafe-eval'.
  const r = await vegaEmbed(el, spec, { renderer: 'svg', actions: false, ast: true });
  views.set(id, r.view);
  el.dataset.rendered = 'true';
}

function text(tag: string, s: string, cls?: string): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = s;
  if (cls) el.className = cls;
  return el;
}

const num = (x: number | null | undefined, d = 3): string => (x === null || x === undefined ? '–' : Number(x.toPrecision(d)).toString());

// ---- sweeps / status ---------------------------------------------------------------------------------------

function renderSweeps(list: SweepStatus[]): void {
  const body = $('#sweeps tbody');
  body.replaceChildren();
  for (const s of list) {
    const tr = document.createElement('tr');
    tr.dataset.sweep = s.name;
    if (s.name === state.sweep) tr.className = 'selected';
    tr.append(text('td', s.name, 'name'), text('td', s.task));
    for (const st of statuses) {
      const td = text('td', String(s.counts[st]), `count ${st}${s.counts[st] ? '' : ' zero'}`);
      td.dataset.status = st;
      tr.append(td);
    }
    const prog = document.createElement('td');
    prog.className = 'progress';
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = `${(100 * s.progress).toFixed(1)}%`;
    if (s.active) fill.className = 'active';
    bar.append(fill);
    prog.append(bar, text('span', `${s.done} / ${s.total}`));
    tr.append(prog);
    tr.addEventListener('click', () => void select(s.name).catch(showError));
    body.append(tr);
  }
  $('#live').textContent = list.some((s) => s.active) ? 'live: polling every 2 s' : 'idle';
  $('#live').className = list.some((s) => s.active) ? 'pill live' : 'pill';
}

let pollTimer: number | undefined;
let opened = false;
async function poll(): Promise<void> {
  window.clearTimeout(pollTimer);
  const list = await api<SweepStatus[]>('/api/sweeps');
  renderSweeps(list);
  const cur = list.find((s) => s.name === state.sweep);
  if (!opened && list.length > 0) {
    // First load: the sweep the URL names (with the rest of its state), else the first sweep.
    opened = true;
    await select(cur ? cur.name : list[0].name, !cur);
  } else if (cur) {
    if (cur.done !== state.lastDone) {
      state.lastDone = cur.done;
      await refreshSweep();
    } else if (cur.counts.running > 0) await refreshRunning();
  }
  if (list.some((s) => s.active)) pollTimer = window.setTimeout(() => void poll().catch(showError), 2000);
}

/** Open a sweep; `fresh`: a sweep chosen by the user (filters, page, selection and axes start over). */
async function select(name: string, fresh = true): Promise<void> {
  document.body.dataset.ready = 'false';
  if (fresh && name !== state.sweep) {
    Object.assign(state, { offset: 0, where: [], sort: '', dir: 'asc', trial: null, compare: [], x: '', series: '' });
    $('#detail').hidden = true;
    $('#compare').hidden = true;
  }
  state.sweep = name;
  state.lastDone = -1;
  document.querySelectorAll<HTMLElement>('#sweeps tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.sweep === name));
  $('#sweep-name').textContent = name;
  const list = await api<SweepStatus[]>('/api/sweeps');
  state.lastDone = list.find((s) => s.name === name)?.done ?? -1;
  await refreshKeys();
  await refreshSweep();
  if (state.trial) await showTrial(state.trial);
  if (state.compare.length >= 2) await showCompare();
}

// ---- charts ----------------------------------------------------------------------------------------------

const enc = encodeURIComponent;
const sweepApi = (what: string) => `/api/sweeps/${enc(state.sweep!)}/${what}`;
const axesQuery = () =>
  `${state.x ? `&x=${enc(state.x)}` : ''}${state.series ? `&series=${enc(state.series)}` : ''}${state.facet ? `&facet=${enc(state.facet)}` : ''}`;

async function refreshCurves(): Promise<void> {
  const r = await api<{ trials: CurveTrial[] }>(sweepApi('curves?limit=40&points=60'));
  // Colour: the chosen series key, else the first varying key other than the widths (the charts' usual series).
  const auto = varying.find((k) => k !== 'f.width' && k !== 'g.width' && k in curveKeys);
  await draw('curves', lossCurvesSpec(r.trials, { colorKey: state.series || auto }));
}

async function refreshDistance(): Promise<void> {
  const q = `phase=${state.phase}&kind=${state.kind}&mode=${state.mode}${axesQuery()}`;
  const r = await api<WidthChart>(sweepApi(`agreement?${q}`));
  await draw('distance', widthSpec(r, {
    title: `${state.phase} ${state.kind.toUpperCase()} distance vs ${r.x ?? 'width'} (${state.mode})`, yTitle: 'relative Frobenius distance (log scale)',
    facetArea: $('#distance').clientWidth,
  }));
}

async function refreshMovement(): Promise<void> {
  const r = await api<WidthChart>(sweepApi(`movement?${axesQuery().slice(1)}`));
  await draw('movement', widthSpec(r, { title: `NTK movement vs ${r.x ?? 'width'}`, yTitle: '‖Θ_T − Θ_0‖ / ‖Θ_0‖ (log scale)', facetArea: $('#movement').clientWidth }));
}

async function refreshHeatmap(): Promise<void> {
  const q = `metric=${state.metric}${state.row ? `&row=${enc(state.row)}` : ''}${state.col ? `&col=${enc(state.col)}` : ''}`;
  const r = await api<HeatmapData>(sweepApi(`heatmap?${q}`));
  await draw('heatmap', heatmapSpec(r));
}

async function refreshParallel(): Promise<void> {
  const r = await api<ParallelInput>(sweepApi('parallel'));
  const card = $('#parallel-card');
  // Only where more than two keys vary: with two, the heatmap and the series charts say it.
  card.hidden = r.keys.length <= 2;
  if (!card.hidden) await draw('parallel', parallelSpec(r));
}

async function refreshRunning(): Promise<void> {
  const r = await api<{ total: number; trials: RunningCurve[] }>(sweepApi('running?limit=20&points=200'));
  const card = $('#running-card');
  card.hidden = r.total === 0;
  if (card.hidden) return;
  const label = (t: RunningCurve) => `${t.id.slice(0, 8)} ${Object.entries(t.key).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`;
  await draw('running', tracesSpec(r.trials.map((t) => ({ label: label(t), points: t.points })), {
    name: 'running', title: `Running trials (${r.total})`, legend: 'trial',
    subtitle: `loss so far, from the runner's progress reports; ${r.trials.length < r.total ? `first ${r.trials.length} shown; ` : ''}redrawn every 2 s`,
  }));
}

const verdictClass: Record<string, string> = { holds: 'holds', fails: 'fails', inconclusive: 'inconclusive' };

async function refreshClaims(): Promise<void> {
  const r = await api<{ claims: ClaimResult[] | null; error: string | null }>(sweepApi('claims'));
  const card = $('#claims-card');
  card.hidden = r.claims === null;
  const body = $('#claims-body');
  body.replaceChildren();
  if (r.error) body.append(text('p', r.error, 'error'));
  for (const c of r.claims ?? []) {
    const div = document.createElement('div');
    div.className = `claim ${verdictClass[c.verdict]}`;
    div.dataset.verdict = c.verdict;
    div.append(text('b', c.verdict.toUpperCase(), 'verdict'), text('span', ` ${c.name}`, 'claim-name'), text('div', `${c.statement} · ${c.test}`, 'muted'), text('div', c.reason));
    const t = document.createElement('table');
    t.className = 'small';
    t.innerHTML = '<thead><tr><th>quantity</th><th>estimate</th><th>interval</th><th>claimed</th><th>N</th><th>verdict</th></tr></thead>';
    const tb = document.createElement('tbody');
    for (const part of c.parts) {
      const tr = document.createElement('tr');
      const interval = part.low === null || part.high === null ? '–' : `[${num(part.low, 4)}, ${num(part.high, 4)}]`;
      tr.append(text('td', part.quantity), text('td', num(part.estimate, 4)), text('td', interval), text('td', part.region), text('td', String(part.n)), text('td', `${part.verdict}: ${part.reason}`));
      tb.append(tr);
    }
    t.append(tb);
    div.append(t);
    body.append(div);
  }
}

// ---- keys, filters ---------------------------------------------------------------------------------------

let varying: string[] = [];

function fillSelect(el: HTMLSelectElement, options: Array<[string, string]>, value: string): void {
  el.replaceChildren(...options.map(([v, label]) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = label;
    return o;
  }));
  el.value = options.some(([v]) => v === value) ? value : (options[0]?.[0] ?? '');
}

async function refreshKeys(): Promise<void> {
  const r = await api<{ varying: string[]; all: string[] }>(sweepApi('keys'));
  varying = r.varying;
  const auto: Array<[string, string]> = [['', 'auto']];
  fillSelect($<HTMLSelectElement>('#x-axis'), auto.concat(varying.map((k) => [k, k])), state.x);
  fillSelect($<HTMLSelectElement>('#series-key'), auto.concat(varying.map((k) => [k, k])), state.series);
  fillSelect($<HTMLSelectElement>('#facet-key'), ([['', 'none']] as Array<[string, string]>).concat(varying.map((k) => [k, k])), state.facet);
  fillSelect($<HTMLSelectElement>('#heat-row'), auto.concat(varying.map((k) => [k, k])), state.row);
  fillSelect($<HTMLSelectElement>('#heat-col'), auto.concat(varying.map((k) => [k, k])), state.col);
  const rest = r.all.filter((k) => !varying.includes(k));
  fillSelect($<HTMLSelectElement>('#filter-key'), [...varying, ...rest].map((k) => [k, varying.includes(k) ? `${k} (varies)` : k]), varying[0] ?? 'seed');
  await refreshValues();
  renderFilters();
}

async function refreshValues(): Promise<void> {
  const key = $<HTMLSelectElement>('#filter-key').value;
  const r = await api<{ values: Array<string | number | boolean | null>; more: boolean }>(sweepApi(`values?key=${enc(key)}`));
  fillSelect($<HTMLSelectElement>('#filter-value'), r.values.map((v) => [JSON.stringify(v), String(v)]), '');
}

function renderFilters(): void {
  const box = $('#filters');
  box.replaceChildren();
  for (const w of state.where) {
    const chip = text('span', w, 'chip');
    chip.dataset.filter = w;
    const x = text('button', '×');
    x.title = `remove ${w}`;
    x.addEventListener('click', () => {
      state.where = state.where.filter((f) => f !== w);
      state.offset = 0;
      renderFilters();
      void refreshTrials().catch(showError);
    });
    chip.append(x);
    box.append(chip);
  }
}

// ---- trials table, detail and compare -------------------------------------------------------------------

const columns: Array<{ col: string; label: string; cell: (t: TrialRow) => string; cls?: string }> = [
  { col: 'id', label: 'trial', cell: (t) => t.id, cls: 'mono' },
  { col: 'status', label: 'status', cell: (t) => t.status },
  { col: 'f.width', label: 'f.width', cell: (t) => String(t.fWidth) },
  { col: 'g.width', label: 'g.width', cell: (t) => String(t.gWidth) },
  { col: 'f.depth', label: 'f.depth', cell: (t) => String(t.fDepth) },
  { col: 'g.depth', label: 'g.depth', cell: (t) => String(t.gDepth) },
  { col: 'seed', label: 'seed', cell: (t) => String(t.seed) },
  { col: 'train.lr', label: 'lr', cell: (t) => num(t.lr) },
  { col: 'initNtk', label: 'init NTK dist', cell: (t) => num(t.initNtk) },
  { col: 'finalNtk', label: 'final NTK dist', cell: (t) => num(t.finalNtk) },
  { col: 'initGp', label: 'init GP dist', cell: (t) => num(t.initGp) },
  { col: 'alignment', label: 'align. (init)', cell: (t) => num(t.alignment) },
  { col: 'movement', label: 'movement', cell: (t) => num(t.movement) },
  { col: 'trainLoss', label: 'train loss', cell: (t) => num(t.trainLoss) },
  { col: 'testLoss', label: 'test loss', cell: (t) => num(t.testLoss) },
];

function renderTrialsHead(): void {
  const tr = document.createElement('tr');
  tr.append(text('th', '⇆', 'pick'));
  for (const c of columns) {
    const th = text('th', c.label + (state.sort === c.col ? (state.dir === 'asc' ? ' ▲' : ' ▼') : ''), 'sortable');
    th.dataset.col = c.col;
    th.title = `sort by ${c.label}`;
    if (state.sort === c.col) th.setAttribute('aria-sort', state.dir === 'asc' ? 'ascending' : 'descending');
    th.addEventListener('click', () => {
      if (state.sort === c.col) state.dir = state.dir === 'asc' ? 'desc' : 'asc';
      else [state.sort, state.dir] = [c.col, 'asc'];
      state.offset = 0;
      void refreshTrials().catch(showError);
    });
    tr.append(th);
  }
  $('#trials thead').replaceChildren(tr);
}

async function refreshTrials(): Promise<void> {
  const q = new URLSearchParams({ offset: String(state.offset), limit: String(state.limit) });
  if (state.status) q.set('status', state.status);
  if (state.sort) {
    q.set('sort', state.sort);
    q.set('dir', state.dir);
  }
  if (state.where.length) q.set('where', state.where.join(';'));
  const r = await api<{ total: number; rows: TrialRow[] }>(sweepApi(`trials?${q.toString()}`));
  renderTrialsHead();
  const body = $('#trials tbody');
  body.replaceChildren();
  for (const t of r.rows) {
    const tr = document.createElement('tr');
    tr.dataset.id = t.id;
    if (t.id === state.trial) tr.className = 'selected';
    const pick = document.createElement('td');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = state.compare.includes(t.id);
    box.setAttribute('aria-label', `compare ${t.id}`);
    box.addEventListener('click', (e) => {
      e.stopPropagation();
      state.compare = box.checked ? [...state.compare, t.id].slice(-8) : state.compare.filter((c) => c !== t.id);
      renderCompareButton();
      writeUrl();
    });
    pick.append(box);
    tr.append(pick, ...columns.map((c) => text('td', c.cell(t), `${c.cls ?? ''}${c.col === 'status' ? ` status ${t.status}` : ''}`.trim())));
    tr.addEventListener('click', () => void showTrial(t.id).catch(showError));
    body.append(tr);
  }
  const last = Math.min(state.offset + state.limit, r.total);
  $('#page').textContent = r.total ? `${state.offset + 1}–${last} of ${r.total}` : 'no trials';
  $<HTMLButtonElement>('#prev').disabled = state.offset === 0;
  $<HTMLButtonElement>('#next').disabled = last >= r.total;
  renderCompareButton();
  writeUrl();
}

function renderCompareButton(): void {
  const b = $<HTMLButtonElement>('#compare-open');
  b.textContent = `compare (${state.compare.length})`;
  b.disabled = state.compare.length < 2;
}

function kv(rows: Array<[string, string]>): HTMLElement {
  const dl = document.createElement('dl');
  for (const [k, v] of rows) dl.append(text('dt', k), text('dd', v));
  return dl;
}

async function showTrial(id: string): Promise<void> {
  state.trial = id;
  writeUrl();
  document.querySelectorAll<HTMLElement>('#trials tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.id === id));
  const t = await api<TrialDetail>(`/api/trials/${enc(id)}?points=200`);
  const panel = $('#detail');
  panel.hidden = false;
  const info = $('#detail-info');
  info.replaceChildren(
    kv([
      ['id', t.id], ['status', t.status], ['sweeps', t.sweeps.join(', ')], ['backend', t.backend ?? '–'],
      ['worker', `${t.worker ?? '–'} @ ${t.host ?? '–'}`], ['attempts', String(t.attempts)], ['curve points', String(t.curvePoints)],
    ]),
  );
  if (t.error) info.append(text('pre', t.error, 'error'));
  const kt = document.createElement('table');
  kt.className = 'small';
  kt.innerHTML = '<thead><tr><th>phase</th><th>kind</th><th>mode</th><th>distance</th><th>alignment</th><th>movement</th></tr></thead>';
  const kb = document.createElement('tbody');
  for (const k of t.kernel) {
    const tr = document.createElement('tr');
    tr.append(text('td', k.phase), text('td', k.kind), text('td', k.mode), text('td', num(k.relFrob, 4)), text('td', num(k.alignment, 4)), text('td', num(k.movement, 4)));
    kb.append(tr);
  }
  kt.append(kb);
  info.append(kt);
  $('#detail-config').textContent = JSON.stringify(t.config, null, 2);
  $('#detail-metrics').textContent = JSON.stringify({ metrics: t.metrics, timings: t.timings, versions: t.versions }, null, 2);
  if (t.curve.length > 0) await draw('detail-curve', trialCurveSpec(t));
  else $('#detail-curve').textContent = 'no loss curve recorded';
}

/** Dotted key → value of a nested config. */
function flatten(obj: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = JSON.stringify(obj);
  return out;
}

async function showCompare(): Promise<void> {
  if (state.compare.length < 2) return;
  const list = await Promise.all(state.compare.map((id) => api<TrialDetail>(`/api/trials/${enc(id)}?points=200`)));
  const panel = $('#compare');
  panel.hidden = false;
  const flat = list.map((t) => flatten(t.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const differs = (k: string) => new Set(flat.map((f) => f[k] ?? '–')).size > 1;
  // Differing keys first, then the rest.
  const ordered = [...keys.filter(differs), ...keys.filter((k) => !differs(k))];
  const table = $('#compare-table');
  const head = document.createElement('tr');
  head.append(text('th', 'config key'), ...list.map((t) => text('th', t.id.slice(0, 12), 'mono')));
  const body = document.createElement('tbody');
  for (const k of ordered) {
    const tr = document.createElement('tr');
    tr.dataset.key = k;
    if (differs(k)) tr.className = 'diff';
    tr.append(text('td', k), ...flat.map((f) => text('td', f[k] ?? '–', 'mono')));
    body.append(tr);
  }
  const thead = document.createElement('thead');
  thead.append(head);
  table.replaceChildren(thead, body);
  $('#compare-summary').textContent = `${list.length} trials; ${keys.filter(differs).length} of ${keys.length} config keys differ (highlighted, listed first)`;
  const label = (t: TrialDetail, i: number) => `${t.id.slice(0, 8)} ${ordered.filter(differs).slice(0, 3).map((k) => `${k}=${flat[i][k]}`).join(' ')}`;
  await draw('compare-curves', tracesSpec(list.map((t, i) => ({ label: label(t, i), points: t.curve })), {
    name: 'compare', title: 'Loss curves, overlaid', subtitle: 'each trial\'s full logged curve (downsampled to 200 points)', legend: 'trial (differing keys)',
  }));
  writeUrl();
  panel.scrollIntoView({ block: 'start' });
}

// ---- wiring ----------------------------------------------------------------------------------------------

async function refreshSweep(): Promise<void> {
  if (!state.sweep) return;
  document.body.dataset.ready = 'false';
  await Promise.all([refreshCurves(), refreshDistance(), refreshMovement(), refreshHeatmap(), refreshTrials(), refreshParallel(), refreshRunning(), refreshClaims()]);
  writeUrl();
  document.body.dataset.ready = 'true';
}

function showError(err: unknown): void {
  const box = $('#error');
  box.hidden = false;
  box.textContent = err instanceof Error ? err.message : String(err);
}

function bindSelect(id: string, key: 'phase' | 'kind' | 'mode' | 'metric' | 'status' | 'x' | 'series' | 'facet' | 'row' | 'col', then: () => Promise<void>): void {
  const el = $<HTMLSelectElement>(`#${id}`);
  el.addEventListener('change', () => {
    (state as Record<string, unknown>)[key] = el.value;
    writeUrl();
    void then().catch(showError);
  });
}

bindSelect('phase', 'phase', refreshDistance);
bindSelect('kind', 'kind', refreshDistance);
bindSelect('mode', 'mode', refreshDistance);
bindSelect('metric', 'metric', refreshHeatmap);
bindSelect('x-axis', 'x', async () => void (await Promise.all([refreshDistance(), refreshMovement()])));
bindSelect('series-key', 'series', async () => void (await Promise.all([refreshDistance(), refreshMovement(), refreshCurves()])));
bindSelect('facet-key', 'facet', async () => void (await Promise.all([refreshDistance(), refreshMovement()])));
/** Rows and columns must differ: choosing one as the other's key sets the other back to auto. */
function otherAxis(other: 'row' | 'col', id: string): () => Promise<void> {
  return async () => {
    if (state.row !== '' && state.row === state.col) {
      state[other] = '';
      $<HTMLSelectElement>(`#${id}`).value = '';
      writeUrl();
    }
    await refreshHeatmap();
  };
}
bindSelect('heat-row', 'row', otherAxis('col', 'heat-col'));
bindSelect('heat-col', 'col', otherAxis('row', 'heat-row'));
bindSelect('status-filter', 'status', async () => {
  state.offset = 0;
  await refreshTrials();
});
$('#filter-key').addEventListener('change', () => void refreshValues().catch(showError));
$('#filter-add').addEventListener('click', () => {
  const key = $<HTMLSelectElement>('#filter-key').value;
  const value = $<HTMLSelectElement>('#filter-value').value;
  if (!key || value === '') return;
  // The value as JSON (3, 0.1, "sphere" without quotes: the server reads non-JSON as a string).
  const v = JSON.parse(value) as unknown;
  const item = `${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  state.where = [...state.where.filter((w) => !w.startsWith(`${key}=`)), item];
  state.offset = 0;
  renderFilters();
  void refreshTrials().catch(showError);
});
$('#prev').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.limit);
  void refreshTrials().catch(showError);
});
$('#next').addEventListener('click', () => {
  state.offset += state.limit;
  void refreshTrials().catch(showError);
});
$('#detail-close').addEventListener('click', () => {
  $('#detail').hidden = true;
  state.trial = null;
  writeUrl();
});
$('#compare-open').addEventListener('click', () => void showCompare().catch(showError));
$('#compare-close').addEventListener('click', () => {
  $('#compare').hidden = true;
  state.compare = [];
  void refreshTrials().catch(showError);
});

readUrl();
void poll().catch(showError);
