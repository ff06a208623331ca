import { ApiError, get, post } from '../api.js';
import { field, h } from '../dom.js';
import { json, shortId, when } from '../format.js';

/**
 * Sweeps and shootouts: trials, which stopped early, the claims table. The endpoints
 * (GET /api/sweeps, GET /api/sweeps/:id, POST /api/sweeps/:id/cancel and /rerun-failed,
 * GET /api/shootouts/:id) are being built beside this page, so it reads their answers
 * loosely: lists of objects become tables of their plain fields, and a 404 says the API has
 * no such endpoint yet. This module is the one place to make the views exact.
 */
export function renderSweeps(root: HTMLElement, path: string[], query: URLSearchParams): void {
  const out = h('div');
  const shootoutInput = h('input', { type: 'text', name: 'shootout', placeholder: 'shootout id' });
  shootoutInput.value = query.get('shootout') ?? '';
  const shootoutForm = h('form', { 'aria-label': 'Open a shootout', className: 'row' }, field('Shootout id', shootoutInput), h('button', { type: 'submit' }, 'Open shootout'));
  shootoutForm.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/sweeps?shootout=${encodeURIComponent(shootoutInput.value.trim())}`;
  });
  root.append(h('h1', {}, 'Sweeps and shootouts'), h('section', { className: 'card' }, shootoutForm), out);
  const shootout = query.get('shootout');
  if (shootout) showShootout(out, shootout);
  else if (path[1]) showSweep(out, path[1]);
  else showList(out);
}

function unavailable(out: HTMLElement, what: string, error: unknown): void {
  out.replaceChildren(h('section', { className: 'card' }, h('p', { className: 'muted' }, error instanceof ApiError && error.status === 404 ? `Not found: this API has no ${what} endpoint yet, or no such ${what}.` : `Could not load ${what}: ${error instanceof Error ? error.message : String(error)}`)));
}

function listOf(body: unknown, ...keys: string[]): Record<string, unknown>[] {
  if (Array.isArray(body)) return body.filter(isRecord);
  if (isRecord(body)) for (const key of keys) if (Array.isArray(body[key])) return (body[key] as unknown[]).filter(isRecord);
  return [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cell(key: string, value: unknown): HTMLElement {
  if ((key === 'id' || key === 'experimentId') && typeof value === 'string') return h('td', {}, h('a', { href: `#/experiments/${value}` }, shortId(value)));
  if (key === 'status' && typeof value === 'string') return h('td', {}, h('span', { className: `status status-${value}` }, value === 'stopped' ? 'stopped early' : value));
  if (/At$/.test(key) && typeof value === 'string') return h('td', {}, when(value));
  return h('td', {}, value === null || value === undefined ? '–' : json(value));
}

/** A table of the plain (non-object) fields the rows share, in first-seen order. */
function objectTable(label: string, rows: Record<string, unknown>[], link?: (row: Record<string, unknown>) => string | null): HTMLElement {
  const keys: string[] = [];
  for (const row of rows) for (const [k, v] of Object.entries(row)) if (!keys.includes(k) && (v === null || typeof v !== 'object')) keys.push(k);
  const shown = keys.slice(0, 10);
  return h(
    'div',
    { className: 'table-wrap' },
    h(
      'table',
      { 'aria-label': label },
      h('thead', {}, h('tr', {}, ...shown.map((k) => h('th', {}, k)))),
      h(
        'tbody',
        {},
        ...rows.map((row) => {
          const tr = h('tr', { className: row['status'] === 'stopped' ? 'stopped' : '' }, ...shown.map((k) => cell(k, row[k])));
          const target = link?.(row);
          if (target) tr.firstElementChild?.replaceChildren(h('a', { href: target }, json(row[shown[0]!])));
          return tr;
        }),
      ),
    ),
  );
}

function facts(record: Record<string, unknown>): HTMLElement {
  const plain = Object.entries(record).filter(([, v]) => v === null || typeof v !== 'object' || (isRecord(v) && Object.keys(v).length <= 6));
  return h('dl', { className: 'facts' }, ...plain.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null ? '–' : json(v))]));
}

function showList(out: HTMLElement): void {
  get<unknown>('/sweeps').then(
    (body) => {
      const sweeps = listOf(body, 'items', 'sweeps');
      out.replaceChildren(h('section', { className: 'card' }, h('h2', {}, 'Sweeps'), sweeps.length === 0 ? h('p', { className: 'muted' }, 'No sweeps yet.') : objectTable('Sweeps', sweeps, (row) => (typeof row['id'] === 'string' ? `#/sweeps/${row['id']}` : null))));
    },
    (e: unknown) => unavailable(out, 'sweeps', e),
  );
}

function showSweep(out: HTMLElement, id: string): void {
  get<unknown>(`/sweeps/${encodeURIComponent(id)}`).then(
    (body) => {
      const sweep = isRecord(body) ? body : {};
      const trials = listOf(sweep, 'trials');
      const message = h('p', { role: 'status', className: 'muted' });
      const act = (label: string, action: string) => {
        const button = h('button', { type: 'button' }, label);
        button.addEventListener('click', () => post<unknown>(`/sweeps/${encodeURIComponent(id)}/${action}`).then(() => showSweep(out, id), (e: unknown) => (message.textContent = e instanceof Error ? e.message : String(e))));
        return button;
      };
      const stopped = trials.filter((t) => t['status'] === 'stopped').length;
      out.replaceChildren(
        h('section', { className: 'card' }, h('h2', {}, `Sweep ${typeof sweep['name'] === 'string' ? sweep['name'] : shortId(id)}`), facts(sweep), h('div', { className: 'row' }, act('Cancel sweep', 'cancel'), act('Re-run failed trials', 'rerun-failed'), message)),
        h('section', { className: 'card' }, h('h2', {}, `Trials (${trials.length}, ${stopped} stopped early)`), objectTable('Trials', trials)),
      );
    },
    (e: unknown) => unavailable(out, 'sweep', e),
  );
}

function showShootout(out: HTMLElement, id: string): void {
  get<unknown>(`/shootouts/${encodeURIComponent(id)}`).then(
    (body) => {
      const shootout = isRecord(body) ? body : {};
      const sections = Object.entries(shootout)
        .filter(([, v]) => Array.isArray(v) && v.some(isRecord))
        .map(([k, v]) => h('section', { className: 'card' }, h('h2', {}, k), objectTable(k, (v as unknown[]).filter(isRecord))));
      const markdown = Object.entries(shootout).filter(([, v]) => typeof v === 'string' && v.includes('|'));
      out.replaceChildren(h('section', { className: 'card' }, h('h2', {}, `Shootout ${shortId(id)}`), facts(shootout)), ...sections, ...markdown.map(([k, v]) => h('section', { className: 'card' }, h('h2', {}, k), h('pre', {}, String(v)))));
    },
    (e: unknown) => unavailable(out, 'shootout', e),
  );
}
