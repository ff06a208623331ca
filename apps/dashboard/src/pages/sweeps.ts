import { ApiError, get, post } from '../api.js';
import { field, h } from '../dom.js';
import { json, num, shortId, when } from '../format.js';
import type { Cleanup } from '../types.js';
import { statusBadge } from './experiments.js';

/** GET /api/sweeps (apps/api/src/sweeps/sweep.view.ts: toSweepSummary). */
interface SweepSummary {
  id: string;
  name: string | null;
  kind: string;
  status: string;
  method: string;
  createdAt: string;
  finishedAt: string | null;
}

interface TrialStop {
  rung: number;
  epoch: number;
  metric: string;
  value: number;
  cutoff: number;
}

/** One trial of GET /api/sweeps/:id (TrialView). */
interface Trial {
  id: string;
  index: number;
  config: number;
  seed: number;
  assignment: Record<string, unknown>;
  status: string;
  epochs: number;
  metric: number | null;
  test: number | null;
  stop: TrialStop | null;
  error: string | null;
}

/** GET /api/sweeps/:id (toSweepView). */
interface Sweep extends SweepSummary {
  metric: { name: string; mode: 'min' | 'max' };
  trials: Trial[];
  counts: Record<string, number>;
  epochsSpent: number;
  best: { id: string; assignment: Record<string, unknown>; seed: number; test: number | null } | null;
  stoppedBy: { trialId: string; metric: string; value: number } | null;
}

interface Spread {
  n: number;
  mean: number;
  std: number | null;
}

/** GET /api/shootouts/:id (ShootoutsService.report). */
interface Shootout {
  id: string;
  status: string;
  suite: string;
  description: string;
  seeds: number[];
  metric: { name: string; better: 'higher' | 'lower' };
  trials: { id: string; label: string; seed: number; status: string; test: Record<string, number> | null }[];
  claims: { id: string; statement: string; verdict: string }[];
  spread: Record<string, Record<string, Spread>>;
  markdown: string;
}

const ACTIVE = ['running'];

/** Sweeps and shootouts: the list, one sweep's trials (which stopped early and why), a shootout's claims and mean ± std. */
export function renderSweeps(root: HTMLElement, path: string[], query: URLSearchParams): Cleanup {
  const out = h('div');
  const shootoutInput = h('input', { type: 'text', name: 'shootout', placeholder: 'shootout id' });
  shootoutInput.value = query.get('shootout') ?? '';
  const shootoutForm = h('form', { 'aria-label': 'Open a shootout', className: 'row' }, field('Shootout id', shootoutInput), h('button', { type: 'submit' }, 'Open shootout'));
  shootoutForm.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/sweeps?shootout=${encodeURIComponent(shootoutInput.value.trim())}`;
  });
  root.append(h('h1', {}, 'Sweeps and shootouts'), h('section', { className: 'card' }, shootoutForm), out);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  /** A running sweep is read again every 2 s until it ends (one timer: a button's reload replaces the pending one). */
  const again = (load: () => void) => {
    clearTimeout(timer);
    if (!closed) timer = setTimeout(load, 2_000);
  };
  const shootout = query.get('shootout');
  if (shootout) showShootout(out, shootout, again);
  else if (path[1]) showSweep(out, path[1], again);
  else showList(out, again);
  return () => {
    closed = true;
    clearTimeout(timer);
  };
}

type Again = (load: () => void) => void;

function unavailable(out: HTMLElement, what: string, error: unknown): void {
  out.replaceChildren(h('section', { className: 'card' }, h('p', { className: 'error', role: 'alert' }, error instanceof ApiError && error.status === 404 ? `No such ${what}.` : `Could not load the ${what}: ${error instanceof Error ? error.message : String(error)}`)));
}

function table(label: string, headings: (string | [string, 'num'])[], rows: HTMLTableRowElement[]): HTMLElement {
  return h(
    'div',
    { className: 'table-wrap' },
    h('table', { 'aria-label': label }, h('thead', {}, h('tr', {}, ...headings.map((c) => (typeof c === 'string' ? h('th', {}, c) : h('th', { className: 'num' }, c[0]))))), h('tbody', {}, ...rows)),
  );
}

function showList(out: HTMLElement, again: Again): void {
  const load = () =>
    get<{ items: SweepSummary[]; total: number }>('/sweeps?pageSize=100').then(
      (page) => {
        const rows = page.items.map((s) =>
          h('tr', { 'data-id': s.id, 'data-status': s.status }, h('td', {}, h('a', { href: s.kind === 'shootout' ? `#/sweeps?shootout=${s.id}` : `#/sweeps/${s.id}` }, s.name ?? shortId(s.id))), h('td', {}, s.kind), h('td', {}, s.method), h('td', {}, statusBadge(s.status)), h('td', {}, when(s.createdAt)), h('td', {}, when(s.finishedAt))),
        );
        out.replaceChildren(h('section', { className: 'card' }, h('h2', {}, `Sweeps (${page.total})`), rows.length === 0 ? h('p', { className: 'muted' }, 'No sweeps yet.') : table('Sweeps', ['name', 'kind', 'method', 'status', 'created', 'finished'], rows)));
        if (page.items.some((s) => ACTIVE.includes(s.status))) again(load);
      },
      (e: unknown) => unavailable(out, 'sweeps', e),
    );
  load();
}

/** Why a trial ended early, in words: ASHA's rung and cutoff, or the sweep's stopWhen. */
function stoppedWhy(trial: Trial, sweep: Sweep): string {
  if (trial.stop) return `rung ${trial.stop.rung} (epoch ${trial.stop.epoch}): ${trial.stop.metric} ${num(trial.stop.value)} vs cutoff ${num(trial.stop.cutoff)}`;
  if (trial.status === 'stopped' && sweep.stoppedBy) return `the sweep met stopWhen (${sweep.stoppedBy.metric} ${num(sweep.stoppedBy.value)})`;
  return trial.error ?? '';
}

function showSweep(out: HTMLElement, id: string, again: Again): void {
  const message = h('p', { role: 'status', className: 'muted' });
  const load = () =>
    get<Sweep>(`/sweeps/${encodeURIComponent(id)}`).then(
      (sweep) => {
        render(sweep);
        if (ACTIVE.includes(sweep.status) || sweep.trials.some((t) => ['pending', 'queued', 'running'].includes(t.status))) again(load);
      },
      (e: unknown) => unavailable(out, 'sweep', e),
    );
  const act = (label: string, action: 'cancel' | 'rerun-failed', enabled: boolean) => {
    const button = h('button', { type: 'button', disabled: !enabled }, label);
    button.addEventListener('click', () => {
      button.disabled = true;
      post<{ requeued?: string[] }>(`/sweeps/${encodeURIComponent(id)}/${action}`).then(
        (body) => {
          message.textContent = action === 'cancel' ? 'Sweep cancelled.' : `${body.requeued?.length ?? 0} trial(s) queued again.`;
          void load();
        },
        (e: unknown) => {
          button.disabled = false;
          message.textContent = e instanceof Error ? e.message : String(e);
        },
      );
    });
    return button;
  };
  const render = (sweep: Sweep) => {
    const better = sweep.metric.mode === 'max' ? 'higher' : 'lower';
    const counts = Object.entries(sweep.counts).map(([status, n]) => `${n} ${status}`).join(', ');
    const retryable = sweep.trials.some((t) => t.status === 'failed' || t.status === 'cancelled');
    const facts: [string, string][] = [
      ['status', sweep.status],
      ['kind', `${sweep.kind} (${sweep.method})`],
      ['metric', `${sweep.metric.name} (${better} is better)`],
      ['trials', `${sweep.trials.length}: ${counts}`],
      ['epochs spent', String(sweep.epochsSpent)],
      ['best so far', sweep.best ? `${shortId(sweep.best.id)} ${json(sweep.best.assignment)} seed ${sweep.best.seed}: test ${num(sweep.best.test)}` : '–'],
      ['created', when(sweep.createdAt)],
      ['finished', when(sweep.finishedAt)],
    ];
    if (sweep.stoppedBy) facts.push(['stopped by', `${shortId(sweep.stoppedBy.trialId)}: ${sweep.stoppedBy.metric} ${num(sweep.stoppedBy.value)}`]);
    const rows = sweep.trials.map((t) =>
      h(
        'tr',
        { 'data-id': t.id, 'data-status': t.status, className: [t.status === 'stopped' ? 'stopped' : '', sweep.best?.id === t.id ? 'diff' : ''].filter(Boolean).join(' ') },
        h('td', { className: 'num' }, t.index),
        h('td', {}, h('a', { href: `#/experiments/${t.id}` }, shortId(t.id))),
        h('td', {}, json(t.assignment)),
        h('td', { className: 'num' }, t.seed),
        h('td', {}, statusBadge(t.status === 'stopped' ? 'stopped' : t.status)),
        h('td', { className: 'num' }, t.stop ? t.stop.rung : '–'),
        h('td', { className: 'num' }, t.epochs),
        h('td', { className: 'num' }, num(t.metric)),
        h('td', { className: 'num' }, num(t.test)),
        h('td', { className: 'why' }, stoppedWhy(t, sweep)),
      ),
    );
    const stopped = sweep.trials.filter((t) => t.status === 'stopped').length;
    out.replaceChildren(
      h(
        'section',
        { className: 'card', 'data-status': sweep.status },
        h('h2', {}, `Sweep ${sweep.name ?? shortId(sweep.id)}`),
        h('dl', { className: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
        h('div', { className: 'row' }, act('Cancel sweep', 'cancel', sweep.status === 'running'), act('Re-run failed trials', 'rerun-failed', retryable)),
        message,
      ),
      h('section', { className: 'card' }, h('h2', {}, `Trials (${sweep.trials.length}, ${stopped} stopped early)`), table('Trials', [['#', 'num'], 'trial', 'configuration', ['seed', 'num'], 'status', ['rung', 'num'], ['epochs', 'num'], [sweep.metric.name, 'num'], [`test ${sweep.metric.name}`, 'num'], 'why it stopped'], rows)),
    );
  };
  load();
}

function showShootout(out: HTMLElement, id: string, again: Again): void {
  const load = () =>
    get<Shootout>(`/shootouts/${encodeURIComponent(id)}`).then(
      (s) => {
        const metric = s.metric.name;
        const labels = Object.keys(s.spread).length > 0 ? Object.keys(s.spread) : [...new Set(s.trials.map((t) => t.label))];
        const spreadRows = labels.map((label) => {
          const sp = s.spread[label]?.[metric];
          return h('tr', {}, h('td', {}, label), h('td', { className: 'num' }, sp ? sp.n : 0), h('td', { className: 'num' }, sp ? `${num(sp.mean)}${sp.std === null ? '' : ` ± ${num(sp.std)}`}` : '–'));
        });
        const claimRows = s.claims.map((c) => h('tr', { 'data-verdict': c.verdict }, h('td', {}, c.statement), h('td', {}, c.verdict)));
        const trialRows = s.trials.map((t) => h('tr', { 'data-status': t.status }, h('td', {}, h('a', { href: `#/experiments/${t.id}` }, t.label)), h('td', { className: 'num' }, t.seed), h('td', {}, statusBadge(t.status)), h('td', { className: 'num' }, num(t.test?.[metric] ?? null))));
        out.replaceChildren(
          h(
            'section',
            { className: 'card' },
            h('h2', {}, `Shootout ${s.suite} (${shortId(s.id)})`),
            h('p', { className: 'muted' }, s.description),
            h('p', {}, statusBadge(s.status), ` seeds ${s.seeds.join(', ')} · `, h('a', { href: `#/sweeps/${s.id}` }, 'trials as a sweep')),
          ),
          h('section', { className: 'card' }, h('h2', {}, 'Claims'), claimRows.length === 0 ? h('p', { className: 'muted' }, 'This suite makes no claims.') : table('Claims', ['claim', 'verdict'], claimRows)),
          h('section', { className: 'card' }, h('h2', {}, `${metric} over seeds (mean ± std, ${s.metric.better} is better)`), table(`${metric} mean ± std`, ['model', ['n', 'num'], [metric, 'num']], spreadRows)),
          h('section', { className: 'card' }, h('h2', {}, 'Trials'), table('Shootout trials', ['model', ['seed', 'num'], 'status', [`test ${metric}`, 'num']], trialRows)),
          h('section', { className: 'card' }, h('details', {}, h('summary', {}, 'Markdown report'), h('pre', { className: 'spec' }, s.markdown))),
        );
        if (ACTIVE.includes(s.status)) again(load);
      },
      (e: unknown) => unavailable(out, 'shootout', e),
    );
  load();
}
