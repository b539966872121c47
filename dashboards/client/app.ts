/**
 * The dashboard page (browser ES module). Fetches the server's aggregates, draws Vega-Lite charts with the SVG
 * renderer, polls the sweep status while any sweep is running. Vega, Vega-Lite and vega-embed are loaded as
 * globals from /vendor (served from node_modules).
 */
import type { CurveTrial, SweepStatus, TrialDetail, TrialRow, WidthChart } from '../data.js';
import type { HeatmapCell, HeatmapMetric } from '../../schema/queries-heatmap.js';
import { heatmapSpec, lossCurvesSpec, trialCurveSpec, widthSpec, type Spec } from './charts.js';

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
  offset: 0,
  limit: 25,
  status: '',
  lastDone: -1,
  trial: null as string | null,
};

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
async function poll(): Promise<void> {
  window.clearTimeout(pollTimer);
  const list = await api<SweepStatus[]>('/api/sweeps');
  renderSweeps(list);
  if (!state.sweep && list.length > 0) await select(list[0].name);
  else {
    const cur = list.find((s) => s.name === state.sweep);
    if (cur && cur.done !== state.lastDone) {
      state.lastDone = cur.done;
      await refreshSweep();
    }
  }
  if (list.some((s) => s.active)) pollTimer = window.setTimeout(() => void poll().catch(showError), 2000);
}

async function select(name: string): Promise<void> {
  state.sweep = name;
  state.offset = 0;
  state.lastDone = -1;
  document.querySelectorAll<HTMLElement>('#sweeps tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.sweep === name));
  $('#sweep-name').textContent = name;
  const list = await api<SweepStatus[]>('/api/sweeps');
  state.lastDone = list.find((s) => s.name === name)?.done ?? -1;
  await refreshSweep();
}

// ---- charts ----------------------------------------------------------------------------------------------

const enc = encodeURIComponent;

async function refreshCurves(): Promise<void> {
  const r = await api<{ trials: CurveTrial[] }>(`/api/sweeps/${enc(state.sweep!)}/curves?limit=40&points=60`);
  await draw('curves', lossCurvesSpec(r.trials));
}

async function refreshDistance(): Promise<void> {
  const q = `phase=${state.phase}&kind=${state.kind}&mode=${state.mode}`;
  const r = await api<WidthChart>(`/api/sweeps/${enc(state.sweep!)}/agreement?${q}`);
  await draw('distance', widthSpec(r, { title: `${state.phase} ${state.kind.toUpperCase()} distance vs ${r.x ?? 'width'} (${state.mode})`, yTitle: 'relative Frobenius distance (log scale)' }));
}

async function refreshMovement(): Promise<void> {
  const r = await api<WidthChart>(`/api/sweeps/${enc(state.sweep!)}/movement`);
  await draw('movement', widthSpec(r, { title: `NTK movement vs ${r.x ?? 'width'}`, yTitle: '‖Θ_T − Θ_0‖ / ‖Θ_0‖ (log scale)' }));
}

async function refreshHeatmap(): Promise<void> {
  const r = await api<{ metric: HeatmapMetric; cells: HeatmapCell[] }>(`/api/sweeps/${enc(state.sweep!)}/heatmap?metric=${state.metric}`);
  await draw('heatmap', heatmapSpec(r.cells, r.metric));
}

// ---- trials table and detail ---------------------------------------------------------------------------------

async function refreshTrials(): Promise<void> {
  const q = `offset=${state.offset}&limit=${state.limit}${state.status ? `&status=${state.status}` : ''}`;
  const r = await api<{ total: number; rows: TrialRow[] }>(`/api/sweeps/${enc(state.sweep!)}/trials?${q}`);
  const body = $('#trials tbody');
  body.replaceChildren();
  for (const t of r.rows) {
    const tr = document.createElement('tr');
    tr.append(
      text('td', t.id, 'mono'), text('td', t.status, `status ${t.status}`), text('td', String(t.fWidth)), text('td', String(t.gWidth)),
      text('td', `${t.fDepth}/${t.gDepth}`), text('td', String(t.seed)), text('td', num(t.lr)), text('td', num(t.trainLoss)), text('td', num(t.testLoss)),
    );
    tr.addEventListener('click', () => void showTrial(t.id).catch(showError));
    body.append(tr);
  }
  const last = Math.min(state.offset + state.limit, r.total);
  $('#page').textContent = r.total ? `${state.offset + 1}–${last} of ${r.total}` : 'no trials';
  $<HTMLButtonElement>('#prev').disabled = state.offset === 0;
  $<HTMLButtonElement>('#next').disabled = last >= r.total;
}

function kv(rows: Array<[string, string]>): HTMLElement {
  const dl = document.createElement('dl');
  for (const [k, v] of rows) dl.append(text('dt', k), text('dd', v));
  return dl;
}

async function showTrial(id: string): Promise<void> {
  state.trial = id;
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

// ---- wiring ----------------------------------------------------------------------------------------------

async function refreshSweep(): Promise<void> {
  if (!state.sweep) return;
  document.body.dataset.ready = 'false';
  await Promise.all([refreshCurves(), refreshDistance(), refreshMovement(), refreshHeatmap(), refreshTrials()]);
  document.body.dataset.ready = 'true';
}

function showError(err: unknown): void {
  const box = $('#error');
  box.hidden = false;
  box.textContent = err instanceof Error ? err.message : String(err);
}

function bindSelect(id: string, key: 'phase' | 'kind' | 'mode' | 'metric' | 'status', then: () => Promise<void>): void {
  const el = $<HTMLSelectElement>(`#${id}`);
  el.addEventListener('change', () => {
    (state as Record<string, unknown>)[key] = el.value;
    void then().catch(showError);
  });
}

bindSelect('phase', 'phase', refreshDistance);
bindSelect('kind', 'kind', refreshDistance);
bindSelect('mode', 'mode', refreshDistance);
bindSelect('metric', 'metric', refreshHeatmap);
bindSelect('status-filter', 'status', async () => {
  state.offset = 0;
  await refreshTrials();
});
$('#prev').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.limit);
  void refreshTrials().catch(showError);
});
$('#next').addEventListener('click', () => {
  state.offset += state.limit;
  void refreshTrials().catch(showError);
});
$('#detail-close').addEventListener('click', () => ($('#detail').hidden = true));

void poll().catch(showError);
