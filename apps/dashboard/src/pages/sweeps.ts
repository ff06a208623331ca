import { ApiError, get } from '../api.js';
import { h } from '../dom.js';
import { json } from '../format.js';

/**
 * Sweeps and shootouts: trials, which stopped early, the claims table. The endpoints are being
 * built beside this page (issue 15 builds on the sweeps issue); until they answer, the page says
 * so instead of failing. This module is the one place to fill in.
 */
export function renderSweeps(root: HTMLElement): void {
  const out = h('section', { className: 'card' }, h('p', { className: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, 'Sweeps and shootouts'), out);
  get<unknown>('/sweeps')
    .then((body) => {
      const items = Array.isArray(body) ? body : typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown[] }).items) ? (body as { items: unknown[] }).items : [];
      out.replaceChildren(items.length === 0 ? h('p', { className: 'muted' }, 'No sweeps yet.') : h('ul', {}, ...items.map((item) => h('li', {}, h('code', {}, json(item))))));
    })
    .catch((e: unknown) => {
      out.replaceChildren(h('p', { className: 'muted' }, e instanceof ApiError && e.status === 404 ? 'This API has no sweeps endpoint yet.' : `Could not load sweeps: ${e instanceof Error ? e.message : String(e)}`));
    });
}
