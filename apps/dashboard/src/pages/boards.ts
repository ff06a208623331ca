import { get } from '../api.js';
import { field, h } from '../dom.js';
import { duration, json, num, shortId } from '../format.js';
import type { Board, Ranking } from '../types.js';
import { showIssues } from './experiments.js';

const DATASETS = ['mnist', 'synthetic-images', 'brown', 'cmudict', 'adding', 'copy', 'spam-assassin'];

/** Data set → board → a sortable leaderboard, or groups by family with mean ± std. */
export function renderBoards(root: HTMLElement, _path: string[], query: URLSearchParams): void {
  const dataset = h('select', { name: 'dataset' }, ...DATASETS.map((d) => h('option', { value: d }, d)));
  dataset.value = query.get('dataset') ?? 'mnist';
  const board = h('select', { name: 'board' });
  const metric = h('select', { name: 'metric' });
  const group = h('input', { type: 'checkbox', name: 'group' });
  const filter = h('input', { type: 'search', name: 'filter', placeholder: "training.learningRate < 0.01", 'aria-describedby': 'board-errors' });
  const errors = h('div', { id: 'board-errors', className: 'field-error', role: 'alert' });
  const out = h('div', { className: 'table-wrap' });
  const form = h(
    'form',
    { 'aria-label': 'Leaderboard', className: 'row' },
    field('Data set', dataset),
    field('Board', board),
    field('Metric', metric),
    field('Filter (query language)', filter),
    h('div', { className: 'checks' }, h('label', {}, group, 'Group by family (mean ± std)')),
    h('button', { type: 'submit', className: 'primary' }, 'Show'),
  );
  root.append(h('h1', {}, 'Boards'), h('section', { className: 'card' }, form, errors), out);

  let boards: Board[] = [];
  async function loadBoards(): Promise<void> {
    boards = (await get<{ boards: Board[] }>(`/boards?dataset=${encodeURIComponent(dataset.value)}`)).boards;
    board.replaceChildren(...boards.map((b) => h('option', { value: b.key }, `${b.default ? 'default' : json(b.dataset)} · ${b.completed}/${b.experiments} completed`)));
    if (boards.length === 0) board.append(h('option', { value: '' }, 'no experiments on this data set yet'));
    setMetrics();
  }
  function setMetrics(): void {
    const chosen = boards.find((b) => b.key === board.value);
    const names = chosen?.metrics ?? [];
    metric.replaceChildren(...names.map((m) => h('option', { value: m }, m)));
  }

  let sortKey = 'rank';
  let ascending = true;
  function show(r: Ranking): void {
    const sortable = (label: string, key: string, numeric = true) => {
      const button = h('button', { type: 'button', 'aria-label': `sort by ${label}` }, label, sortKey === key ? (ascending ? ' ▲' : ' ▼') : '');
      button.addEventListener('click', () => {
        ascending = sortKey === key ? !ascending : true;
        sortKey = key;
        show(r);
      });
      return h('th', { className: numeric ? 'num' : '', 'aria-sort': sortKey === key ? (ascending ? 'ascending' : 'descending') : 'none' }, button);
    };
    const cmp = (a: unknown, b: unknown) => {
      const x = typeof a === 'number' ? a : a === null || a === undefined ? Number.POSITIVE_INFINITY : String(a);
      const y = typeof b === 'number' ? b : b === null || b === undefined ? Number.POSITIVE_INFINITY : String(b);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    };
    if (r.groups) {
      const groups = [...r.groups].sort((a, b) => cmp((a as unknown as Record<string, unknown>)[sortKey], (b as unknown as Record<string, unknown>)[sortKey]));
      out.replaceChildren(
        h(
          'table',
          { 'aria-label': `Groups on ${r.metric}` },
          h('thead', {}, h('tr', {}, sortable('rank', 'rank'), h('th', {}, 'group'), sortable('n', 'n'), sortable(`mean ${r.metric}`, 'mean'), h('th', { className: 'num' }, '± std'), sortable('min', 'min'), sortable('max', 'max'))),
          h('tbody', {}, ...groups.map((g) => h('tr', {}, h('td', { className: 'num' }, g.rank), h('td', {}, Object.values(g.group).map(json).join(', ')), h('td', { className: 'num' }, g.n), h('td', { className: 'num' }, `${num(g.mean)}`), h('td', { className: 'num' }, g.std === null ? '–' : `± ${num(g.std)}`), h('td', { className: 'num' }, num(g.min)), h('td', { className: 'num' }, num(g.max))))),
        ),
      );
      return;
    }
    const entries = [...(r.entries ?? [])].sort((a, b) => cmp((a as unknown as Record<string, unknown>)[sortKey], (b as unknown as Record<string, unknown>)[sortKey]));
    out.replaceChildren(
      entries.length === 0
        ? h('p', { className: 'muted' }, 'No completed run on this board yet.')
        : h(
            'table',
            { 'aria-label': `Leaderboard by ${r.metric}` },
            h('thead', {}, h('tr', {}, sortable('rank', 'rank'), sortable('run', 'name', false), sortable('family', 'family', false), sortable(r.metric, 'value'), sortable('parameters', 'paramCount'), sortable('samples/s', 'samplesPerSecond'), sortable('wall time', 'wallTimeMs'), h('th', { className: 'hide-narrow' }, 'backend · ranks'))),
            h('tbody', {}, ...entries.map((e) => h('tr', {}, h('td', { className: 'num' }, e.rank), h('td', {}, h('a', { href: `#/experiments/${e.id}` }, e.name ?? shortId(e.id))), h('td', {}, e.family), h('td', { className: 'num' }, num(e.value)), h('td', { className: 'num' }, e.paramCount ?? '–'), h('td', { className: 'num' }, num(e.samplesPerSecond, 0)), h('td', { className: 'num' }, e.wallTimeMs === null ? '–' : duration(e.wallTimeMs / 1000)), h('td', { className: 'hide-narrow' }, `${e.backend ?? '–'} · ${e.ranks ?? '–'}`)))),
          ),
    );
  }

  async function loadRanking(): Promise<void> {
    errors.replaceChildren();
    filter.removeAttribute('aria-invalid');
    if (!board.value || !metric.value) {
      out.replaceChildren(h('p', { className: 'muted' }, 'No board with final metrics on this data set yet.'));
      return;
    }
    const params = new URLSearchParams({ dataset: dataset.value, board: board.value, metric: metric.value, limit: '100' });
    if (filter.value.trim()) params.set('filter', filter.value.trim());
    if (group.checked) {
      params.set('groupBy', 'model.family');
      params.set('aggregate', 'mean');
    }
    sortKey = 'rank';
    ascending = true;
    try {
      show(await get<Ranking>(`/leaderboard?${params}`));
    } catch (e) {
      showIssues(errors, filter, e);
    }
  }

  dataset.addEventListener('change', () => void loadBoards().then(loadRanking));
  board.addEventListener('change', () => (setMetrics(), void loadRanking()));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void loadRanking();
  });
  void loadBoards().then(loadRanking).catch((e: unknown) => showIssues(errors, filter, e));
}
