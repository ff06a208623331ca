import { get, post } from '../api.js';
import { lineChart, type Series } from '../chart.js';
import { h } from '../dom.js';
import { duration, json, num, shortId, when } from '../format.js';
import { openStream } from '../sse.js';
import type { Checkpoint, Experiment, LiveEpoch, LiveProgress, MetricHistory } from '../types.js';
import { TERMINAL } from '../types.js';
import type { Cleanup } from '../types.js';
import { progressCell, statusBadge } from './experiments.js';
import { predictSection } from './predict.js';

type Epochs = MetricHistory['epochs'];

/** One experiment: live progress, loss and metric curves, throughput, what it ran on, checkpoints. */
export function renderExperiment(root: HTMLElement, path: string[]): Cleanup {
  const id = path[1]!;
  let experiment: Experiment | null = null;
  let epochs: Epochs = [];
  const throughput: { x: number[]; y: number[] } = { x: [], y: [] };
  const redraws = new Map<string, (x: number[], s: Series[]) => void>();

  const heading = h('h1', {}, `Experiment ${shortId(id)}`);
  const status = h('div', { className: 'status-line' });
  const progress = h('div', { className: 'live-progress' });
  const facts = h('dl', { className: 'facts' });
  const charts = h('div', { className: 'charts' });
  const throughputChart = h('div', { className: 'chart', 'aria-label': 'throughput chart' });
  const checkpoints = h('div', { className: 'table-wrap' });
  const specView = h('pre', { className: 'spec' });
  const error = h('p', { className: 'error', role: 'alert' });
  /** Shown once the run has completed, for data sets that take predictions. */
  const predictSlot = h('div');
  let predictShown = false;
  root.append(
    heading,
    error,
    h('section', { className: 'card' }, status, progress),
    predictSlot,
    h('section', { className: 'card', 'aria-label': 'Curves' }, h('h2', {}, 'Curves'), charts),
    h('section', { className: 'card' }, h('h2', {}, 'Throughput (samples/s, live)'), throughputChart),
    h('section', { className: 'card' }, h('h2', {}, 'What it ran on'), facts),
    h('section', { className: 'card' }, h('h2', {}, 'Checkpoints'), checkpoints),
    h('section', { className: 'card' }, h('h2', {}, 'Spec'), specView),
  );

  function showExperiment(e: Experiment): void {
    const previous = experiment;
    experiment = { ...e, progress: e.progress ?? (e.status === 'running' ? (previous?.progress ?? null) : null), queue: e.queue ?? previous?.queue };
    const x = experiment;
    heading.textContent = `${x.name ?? 'Experiment'} (${shortId(x.id)})`;
    const actions: HTMLElement[] = [];
    if (!TERMINAL.includes(x.status)) {
      const cancel = h('button', { type: 'button' }, 'Cancel');
      cancel.addEventListener('click', () => post<Experiment>(`/experiments/${id}/cancel`).then(showExperiment, (err: unknown) => (error.textContent = String(err))));
      actions.push(cancel);
    }
    const compare = h('a', { href: `#/compare?ids=${id}` }, 'Compare…');
    status.replaceChildren(statusBadge(x.status), h('span', { className: 'muted' }, `${x.dataset} · ${x.family} · attempt ${x.attempt}`), ...actions, compare);
    progress.replaceChildren(progressCell(x.progress, x.status), x.error ? h('p', { className: 'error' }, x.error) : '');
    const runtime = x.runtime ?? {};
    const rows: [string, unknown][] = [
      ['status', x.status],
      ['backend', runtime['backend']],
      ['device', runtime['device']],
      ['ranks', runtime['ranks']],
      ['worker', runtime['workerId'] ?? x.queue?.worker],
      ['host', runtime['hostname'] ?? runtime['host']],
      ['tfjs', runtime['tfjsVersion']],
      ['node', runtime['nodeVersion']],
      ['seed', runtime['seed']],
      ['parameters', x.paramCount],
      ['samples/s (final)', x.samplesPerSecond === null ? null : num(x.samplesPerSecond, 1)],
      ['scaling efficiency', x.scalingEfficiency === null ? null : num(x.scalingEfficiency, 3)],
      ['wall time', x.wallTimeMs === null ? null : duration(x.wallTimeMs / 1000)],
      ['waited in queue', x.queue ? duration(x.queue.waitingMs / 1000) : null],
      ['created', when(x.createdAt)],
      ['started', when(x.startedAt)],
      ['finished', when(x.finishedAt)],
      ['test metrics', x.metrics ? Object.entries(x.metrics).map(([k, v]) => `${k} ${num(v)}`).join(', ') : null],
      ['board', x.boardKey],
    ];
    facts.replaceChildren(...rows.filter(([, v]) => v !== undefined && v !== null).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, json(v))]));
    specView.textContent = JSON.stringify(x.spec, null, 2);
    if (x.status === 'completed' && !predictShown) {
      predictShown = true;
      const section = predictSection(x.id, x.dataset);
      if (section) predictSlot.replaceChildren(section);
    }
  }

  /** One chart per metric, train and validation as two lines over epochs; loss first. */
  function drawCurves(): void {
    const names = new Set<string>();
    for (const e of epochs) for (const split of [e.train, e.validation]) for (const name of Object.keys(split)) names.add(name);
    const ordered = [...names].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
    if (ordered.length === 0) {
      charts.replaceChildren(h('p', { className: 'muted' }, 'No epoch has finished yet.'));
      redraws.clear();
      return;
    }
    if (redraws.size === 0) charts.replaceChildren();
    const x = epochs.map((e) => e.epoch);
    for (const name of ordered) {
      const series: Series[] = [
        { label: `train ${name}`, values: epochs.map((e) => e.train[name] ?? null) },
        { label: `validation ${name}`, values: epochs.map((e) => e.validation[name] ?? null) },
      ];
      const redraw = redraws.get(name);
      if (redraw) redraw(x, series);
      else {
        const box = h('div', { className: 'chart', 'data-metric': name, 'aria-label': `${name} by epoch` });
        charts.append(box);
        redraws.set(name, lineChart(box, name, 'epoch', x, series));
      }
    }
  }

  let drawThroughput: ((x: number[], s: Series[]) => void) | null = null;
  function addThroughput(p: LiveProgress): void {
    throughput.x.push(p.step);
    throughput.y.push(p.samplesPerSecond);
    const series = [{ label: 'samples/s', values: throughput.y }];
    if (drawThroughput) drawThroughput(throughput.x, series);
    else drawThroughput = lineChart(throughputChart, 'samples/s', 'step', throughput.x, series);
  }

  async function loadDetails(): Promise<void> {
    const [history, stored] = await Promise.all([get<MetricHistory>(`/experiments/${id}/metrics`), get<Checkpoint[]>(`/experiments/${id}/checkpoints`)]);
    epochs = history.epochs;
    drawCurves();
    checkpoints.replaceChildren(
      stored.length === 0
        ? h('p', { className: 'muted' }, 'No checkpoints stored.')
        : h('table', { 'aria-label': 'Checkpoints' }, h('thead', {}, h('tr', {}, h('th', {}, 'kind'), h('th', { className: 'num' }, 'epoch'), h('th', { className: 'num' }, 'step'), h('th', {}, 'saved'))), h('tbody', {}, ...stored.map((c) => h('tr', {}, h('td', {}, c.kind), h('td', { className: 'num' }, c.epoch), h('td', { className: 'num' }, c.step), h('td', {}, when(c.createdAt)))))),
    );
    if (throughput.x.length === 0) throughputChart.replaceChildren(h('p', { className: 'muted' }, experiment?.status === 'running' ? 'Waiting for the next progress report…' : `Not running. Final: ${num(experiment?.samplesPerSecond ?? null, 1)} samples/s.`));
  }

  get<Experiment>(`/experiments/${id}`)
    .then((e) => {
      showExperiment(e);
      return loadDetails();
    })
    .catch((e: unknown) => (error.textContent = e instanceof Error ? e.message : String(e)));

  const stream = openStream(
    `/experiments/${id}/events`,
    (event) => {
      const data = JSON.parse(event.data) as unknown;
      if (event.type === 'snapshot' || event.type === 'experiment') {
        const e = data as Experiment;
        showExperiment(e);
        if (TERMINAL.includes(e.status)) void loadDetails();
      } else if (event.type === 'progress' && experiment) {
        const p = data as LiveProgress;
        showExperiment({ ...experiment, status: 'running', progress: p });
        addThroughput(p);
      } else if (event.type === 'epoch') {
        const e = data as LiveEpoch;
        epochs = [...epochs.filter((x) => x.epoch !== e.epoch), { epoch: e.epoch, step: e.step, attempt: e.attempt, train: e.train, validation: e.validation }].sort((a, b) => a.epoch - b.epoch);
        drawCurves();
      }
    },
    { reconnect: false },
  );
  return () => stream.close();
}
