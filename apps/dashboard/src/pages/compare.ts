import { get } from '../api.js';
import { lineChart } from '../chart.js';
import { field, h } from '../dom.js';
import { json, num, shortId } from '../format.js';
import type { Comparison } from '../types.js';
import { showIssues, statusBadge } from './experiments.js';

/** Several runs' curves on one chart per metric, and their specs side by side with the differences marked. */
export function renderCompare(root: HTMLElement, _path: string[], query: URLSearchParams): void {
  const idsInput = h('input', { type: 'text', name: 'ids', placeholder: 'experiment ids, comma-separated', 'aria-describedby': 'compare-errors' });
  idsInput.value = query.get('ids') ?? '';
  const errors = h('div', { id: 'compare-errors', className: 'field-error', role: 'alert' });
  const form = h('form', { 'aria-label': 'Runs to compare', className: 'row' }, field('Experiment ids', idsInput), h('button', { type: 'submit', className: 'primary' }, 'Compare'));
  const out = h('div');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/compare?ids=${idsInput.value.replace(/\s+/g, '')}`;
  });
  root.append(h('h1', {}, 'Compare runs'), h('section', { className: 'card' }, form, errors), out);
  const ids = idsInput.value.split(',').filter(Boolean);
  if (ids.length === 0) {
    out.append(h('p', { className: 'muted' }, 'Pick runs on the Experiments page (tick two or more, then "Compare selected"), or paste their ids.'));
    return;
  }
  get<Comparison>(`/compare?ids=${encodeURIComponent(ids.join(','))}&points=200`)
    .then((c) => {
      const label = (id: string) => {
        const run = c.runs.find((r) => r.id === id);
        return `${run?.name ?? shortId(id)} (${shortId(id)})`;
      };
      if (!c.sameBoard) out.append(h('p', { className: 'error' }, 'These runs are on different boards: their metrics measure different things.'));
      const charts = h('section', { className: 'card', 'aria-label': 'Curves' }, h('h2', {}, 'Curves'));
      out.append(charts);
      const curves = [...c.curves].sort((a, b) => (a.metric === 'loss' ? -1 : b.metric === 'loss' ? 1 : a.metric.localeCompare(b.metric)) || a.split.localeCompare(b.split));
      for (const curve of curves) {
        const box = h('div', { className: 'chart', 'data-metric': `${curve.split}.${curve.metric}` });
        charts.append(box);
        lineChart(box, `${curve.split} ${curve.metric}`, 'epoch', curve.epochs, c.ids.map((id) => ({ label: label(id), values: curve.values[id] ?? [] })));
      }
      if (curves.length === 0) charts.append(h('p', { className: 'muted' }, 'No epochs recorded yet.'));
      const header = h('tr', {}, h('th', {}, 'spec path'), ...c.ids.map((id) => h('th', {}, h('a', { href: `#/experiments/${id}` }, label(id)))));
      const finals = h('tr', {}, h('th', {}, 'status / test metrics'), ...c.runs.map((r) => h('td', {}, statusBadge(r.status), ' ', r.metrics ? Object.entries(r.metrics).map(([k, v]) => `${k} ${num(v)}`).join(', ') : '')));
      const differing = c.differences.map((path) => h('tr', { className: 'diff', 'data-path': path }, h('th', {}, path, h('span', { className: 'visually-hidden' }, ' (differs)')), ...(c.differing[path] ?? []).map((v) => h('td', {}, json(v)))));
      const same = Object.entries(c.same).map(([path, v]) => h('tr', {}, h('th', {}, path), h('td', { colspan: c.ids.length }, json(v))));
      out.append(
        h(
          'section',
          { className: 'card' },
          h('h2', {}, `Specs side by side (${c.differences.length} differ, highlighted)`),
          h('div', { className: 'table-wrap' }, h('table', { 'aria-label': 'Specs side by side' }, h('thead', {}, header), h('tbody', {}, finals, ...differing))),
          h('details', {}, h('summary', {}, `${same.length} paths the same in every run`), h('div', { className: 'table-wrap' }, h('table', {}, h('tbody', {}, ...same)))),
        ),
      );
    })
    .catch((e: unknown) => showIssues(errors, idsInput, e));
}
