import { ApiError, apiKey, get, setApiKey, whenUnauthorized } from './api.js';
import { field, h } from './dom.js';
import { renderBoards } from './pages/boards.js';
import { renderCompare } from './pages/compare.js';
import { renderExperiment } from './pages/experiment.js';
import { renderExperiments } from './pages/experiments.js';
import { renderSweeps } from './pages/sweeps.js';
import { renderWorkers } from './pages/workers.js';

import type { Cleanup } from './types.js';

type Page = (root: HTMLElement, path: string[], query: URLSearchParams) => Cleanup | void;

const app = document.getElementById('app') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let cleanup: Cleanup | void;
/** While the sign-in form checks a key, a 401 is its answer, not a reason to start over. */
let signingIn = false;

/** Hash routes (#/experiments/<id>), so the server needs one index.html and no fallback. */
const routes: { match: (path: string[]) => boolean; page: Page; nav: string }[] = [
  { match: (p) => p[0] === 'experiments' && p.length === 2, page: renderExperiment, nav: 'experiments' },
  { match: (p) => p[0] === 'experiments' || p.length === 0 || p[0] === '', page: renderExperiments, nav: 'experiments' },
  { match: (p) => p[0] === 'boards', page: renderBoards, nav: 'boards' },
  { match: (p) => p[0] === 'compare', page: renderCompare, nav: 'compare' },
  { match: (p) => p[0] === 'sweeps', page: renderSweeps, nav: 'sweeps' },
  { match: (p) => p[0] === 'workers', page: renderWorkers, nav: 'workers' },
];

function route(): void {
  if (cleanup) cleanup();
  cleanup = undefined;
  app.replaceChildren();
  if (!apiKey()) {
    nav.hidden = true;
    signIn();
    return;
  }
  nav.hidden = false;
  const hash = location.hash.replace(/^#\/?/, '');
  const [pathPart = '', queryPart = ''] = hash.split('?');
  const path = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  const target = routes.find((r) => r.match(path)) ?? routes[1]!;
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${target.nav}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  cleanup = target.page(app, path, new URLSearchParams(queryPart));
}

function signIn(): void {
  const input = h('input', { type: 'password', name: 'apiKey', autocomplete: 'current-password', required: true });
  const error = h('p', { className: 'error', role: 'alert' });
  const form = h(
    'form',
    { 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in'),
    h('p', { className: 'muted' }, 'The API key (printed by npm start, kept in data/api-key). It stays in this browser tab only.'),
    field('API key', input),
    error,
    h('button', { type: 'submit', className: 'primary' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    signingIn = true;
    get('/experiments?pageSize=1')
      .then(() => {
        signingIn = false;
        route();
      })
      .catch((e: unknown) => {
        signingIn = false;
        setApiKey(null);
        error.textContent = e instanceof ApiError && e.status === 401 ? 'That key was refused.' : `Could not reach the API: ${e instanceof Error ? e.message : String(e)}`;
      });
  });
  app.append(h('section', { className: 'card' }, form));
  input.focus();
}

whenUnauthorized(() => {
  if (signingIn) return;
  setApiKey(null);
  route();
});
document.getElementById('sign-out')?.addEventListener('click', () => {
  setApiKey(null);
  route();
});
window.addEventListener('hashchange', route);
route();
