import { ApiError, get, post } from '../api.js';
import { field, h } from '../dom.js';
import { duration, num, shortId, when } from '../format.js';
import { openStream } from '../sse.js';
import { type Experiment, type LiveProgress, type Page, type Progress, TERMINAL } from '../types.js';
import type { Cleanup } from '../types.js';

const EXAMPLE_SPEC = {
  name: 'mnist cnn',
  dataset: { name: 'mnist', samples: 2000 },
  model: { family: 'cnn' },
  training: { epochs: 2, batchSize: 64 },
};

/** A progress bar with its text: epoch, step, loss, samples/s and the time left. */
export function progressCell(progress: Progress | null, status: Experiment['status']): HTMLElement {
  if (status !== 'running' || !progress) return h('span', { className: 'muted' }, status === 'queued' ? 'waiting' : '');
  const label = `epoch ${progress.epoch}/${progress.epochs} · step ${progress.step}/${progress.totalSteps} · loss ${num(progress.loss, 4)} · ${num(progress.samplesPerSecond, 0)} samples/s · ETA ${duration(progress.etaSeconds ?? null)}`;
  return h(
    'div',
    { className: 'progress' },
    h('progress', { max: progress.totalSteps, value: progress.step, 'aria-label': `progress: step ${progress.step} of ${progress.totalSteps}` }),
    h('div', { className: 'progress-text' }, label),
  );
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { className: `status status-${status}` }, status);
}

/** Shows the API's 400 beside the field it names: each issue's field and message. */
export function showIssues(target: HTMLElement, control: HTMLElement, error: unknown): void {
  target.replaceChildren();
  control.setAttribute('aria-invalid', 'true');
  if (error instanceof ApiError && error.issues.length > 0) {
    target.append(h('ul', {}, ...error.issues.map((i) => h('li', { 'data-field': i.field }, h('code', {}, i.field), `: ${i.message}`))));
  } else {
    target.append(error instanceof Error ? error.message : String(error));
  }
}

export function renderExperiments(root: HTMLElement, _path: string[], query: URLSearchParams): Cleanup {
  let page = Number(query.get('page') ?? '1') || 1;
  const rows = new Map<string, HTMLTableRowElement>();
  const experiments = new Map<string, Experiment>();
  const selected = new Set<string>();
  let total = 0;
  const pagerText = h('span', { className: 'muted' });
  const showTotal = () => (pagerText.textContent = `page ${page} of ${Math.max(1, Math.ceil(total / 20))} · ${total} experiment${total === 1 ? '' : 's'}`);

  // Submit form: the spec editor, with the API's validation errors beside it.
  const editor = h('textarea', { name: 'spec', spellcheck: 'false', 'aria-describedby': 'spec-errors' });
  editor.value = JSON.stringify(EXAMPLE_SPEC, null, 2);
  const specErrors = h('div', { id: 'spec-errors', className: 'field-error', role: 'alert' });
  const submitted = h('p', { className: 'muted', role: 'status' });
  const submitForm = h('form', { 'aria-label': 'Submit an experiment' }, field('Experiment spec (JSON)', editor, specErrors), h('div', { className: 'row' }, h('button', { type: 'submit', className: 'primary' }, 'Submit experiment'), submitted));
  submitForm.addEventListener('submit', (event) => {
    event.preventDefault();
    specErrors.replaceChildren();
    editor.removeAttribute('aria-invalid');
    let spec: unknown;
    try {
      spec = JSON.parse(editor.value);
    } catch (e) {
      showIssues(specErrors, editor, new Error(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    post<Experiment>('/experiments', spec)
      .then((experiment) => {
        submitted.textContent = `submitted ${shortId(experiment.id)}`;
        upsert(experiment, true);
      })
      .catch((e: unknown) => showIssues(specErrors, editor, e));
  });

  // Filters: the query language and a status.
  const filterInput = h('input', { type: 'search', name: 'filter', placeholder: "model.family = 'cnn' AND training.learningRate < 0.01", 'aria-describedby': 'filter-errors' });
  filterInput.value = query.get('filter') ?? '';
  const statusSelect = h('select', { name: 'status' }, h('option', { value: '' }, 'any'), ...['queued', 'running', 'completed', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s)));
  statusSelect.value = query.get('status') ?? '';
  const filterErrors = h('div', { id: 'filter-errors', className: 'field-error', role: 'alert' });
  const filterForm = h('form', { 'aria-label': 'Filter experiments', className: 'row' }, field('Filter (query language)', filterInput), field('Status', statusSelect), h('button', { type: 'submit' }, 'Apply'));
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    page = 1;
    void load();
  });

  const body = h('tbody');
  const pager = h('div', { className: 'row' });
  const compareButton = h('button', { type: 'button', disabled: true }, 'Compare selected');
  compareButton.addEventListener('click', () => {
    location.hash = `#/compare?ids=${[...selected].join(',')}`;
  });
  const table = h(
    'div',
    { className: 'table-wrap' },
    h(
      'table',
      { 'aria-label': 'Experiments' },
      h('thead', {}, h('tr', {}, h('th', {}, h('span', { className: 'visually-hidden' }, 'Select')), h('th', {}, 'Experiment'), h('th', {}, 'Status'), h('th', { style: 'min-width: 12rem' }, 'Progress'), h('th', { className: 'hide-narrow' }, 'Test metrics'), h('th', { className: 'hide-narrow' }, 'Created'), h('th', {}, 'Actions'))),
      body,
    ),
  );

  root.append(
    h('h1', {}, 'Experiments'),
    h('section', { className: 'card' }, h('details', {}, h('summary', {}, 'Submit an experiment'), submitForm)),
    h('section', { className: 'card' }, filterForm, filterErrors),
    h('div', { className: 'row' }, compareButton),
    table,
    pager,
  );

  function renderRow(e: Experiment): HTMLTableRowElement {
    const check = h('input', { type: 'checkbox', 'aria-label': `select ${e.name ?? shortId(e.id)} to compare`, checked: selected.has(e.id) });
    check.addEventListener('change', () => {
      if (check.checked) selected.add(e.id);
      else selected.delete(e.id);
      compareButton.disabled = selected.size < 2;
    });
    const actions = h('td', {});
    if (!TERMINAL.includes(e.status)) {
      const cancel = h('button', { type: 'button', 'aria-label': `cancel ${e.name ?? shortId(e.id)}` }, 'Cancel');
      cancel.addEventListener('click', () => {
        post<Experiment>(`/experiments/${e.id}/cancel`).then((x) => upsert(x, false), (err: unknown) => alert(err instanceof Error ? err.message : String(err)));
      });
      actions.append(cancel);
    } else {
      const rerun = h('button', { type: 'button', 'aria-label': `re-run ${e.name ?? shortId(e.id)}` }, 'Re-run');
      rerun.addEventListener('click', () => {
        post<Experiment>('/experiments', e.spec).then((x) => upsert(x, true), (err: unknown) => alert(err instanceof Error ? err.message : String(err)));
      });
      actions.append(rerun);
    }
    const metrics = e.metrics ? Object.entries(e.metrics).map(([k, v]) => `${k} ${num(v)}`).join(', ') : '';
    const row = h(
      'tr',
      { 'data-id': e.id, 'data-status': e.status },
      h('td', {}, check),
      h('td', {}, h('a', { href: `#/experiments/${e.id}` }, e.name ?? shortId(e.id)), h('div', { className: 'muted' }, `${e.dataset} · ${e.family}`)),
      h('td', {}, statusBadge(e.status), e.error ? h('div', { className: 'error' }, e.error.slice(0, 120)) : null),
      h('td', { className: 'progress-cell' }, progressCell(e.progress, e.status)),
      h('td', { className: 'hide-narrow' }, metrics),
      h('td', { className: 'hide-narrow' }, when(e.createdAt)),
      actions,
    );
    return row;
  }

  function upsert(e: Experiment, prepend: boolean): void {
    const old = experiments.get(e.id);
    const merged = old && e.progress === null && e.status === 'running' ? { ...e, progress: old.progress } : e;
    experiments.set(e.id, merged);
    const row = renderRow(merged);
    const existing = rows.get(e.id);
    if (existing) existing.replaceWith(row);
    else if (prepend) {
      body.querySelector('tr.empty')?.remove();
      body.prepend(row);
      total += 1;
      showTotal();
    } else return;
    rows.set(e.id, row);
  }

  function progressed(p: LiveProgress): void {
    const e = experiments.get(p.experimentId);
    const row = rows.get(p.experimentId);
    if (!e || !row) return;
    const running = { ...e, status: 'running' as const, progress: p };
    experiments.set(e.id, running);
    row.querySelector('.progress-cell')?.replaceChildren(progressCell(p, 'running'));
  }

  async function load(): Promise<void> {
    filterErrors.replaceChildren();
    filterInput.removeAttribute('aria-invalid');
    const params = new URLSearchParams({ page: String(page), pageSize: '20' });
    if (filterInput.value.trim()) params.set('filter', filterInput.value.trim());
    if (statusSelect.value) params.set('status', statusSelect.value);
    try {
      const result = await get<Page<Experiment>>(`/experiments?${params}`);
      body.replaceChildren();
      rows.clear();
      for (const e of result.items) {
        experiments.set(e.id, e);
        const row = renderRow(e);
        rows.set(e.id, row);
        body.append(row);
      }
      if (result.items.length === 0) body.append(h('tr', { className: 'empty' }, h('td', { colspan: 7, className: 'muted' }, 'No experiments match.')));
      total = result.total;
      showTotal();
      const pages = Math.max(1, Math.ceil(result.total / result.pageSize));
      const prev = h('button', { type: 'button', disabled: page <= 1 }, 'Previous page');
      const next = h('button', { type: 'button', disabled: page >= pages }, 'Next page');
      prev.addEventListener('click', () => ((page -= 1), void load()));
      next.addEventListener('click', () => ((page += 1), void load()));
      pager.replaceChildren(prev, pagerText, next);
    } catch (e) {
      showIssues(filterErrors, filterInput, e);
    }
  }

  void load();
  // Live: status changes and progress of every experiment, without polling.
  const stream = openStream('/experiments/events', (event) => {
    if (event.type === 'progress') progressed(JSON.parse(event.data) as LiveProgress);
    if (event.type === 'experiment') {
      const e = JSON.parse(event.data) as Experiment;
      const unfiltered = page === 1 && !filterInput.value.trim() && !statusSelect.value;
      upsert(e, unfiltered && !rows.has(e.id));
    }
  });
  return () => stream.close();
}
