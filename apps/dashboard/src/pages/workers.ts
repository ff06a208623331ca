import { get, post } from '../api.js';
import { h } from '../dom.js';
import { shortId, when } from '../format.js';
import type { QueueView, WorkerView } from '../types.js';
import type { Cleanup } from '../types.js';

/** Workers (from their Redis heartbeats) and the queue's counts, refreshed every 5 s; pause and resume. */
export function renderWorkers(root: HTMLElement): Cleanup {
  const queueBox = h('section', { className: 'card', 'aria-label': 'Queue' });
  const workersBox = h('section', { className: 'card', 'aria-label': 'Workers' });
  const error = h('p', { className: 'error', role: 'alert' });
  root.append(h('h1', {}, 'Workers and queue'), error, queueBox, workersBox);

  function showQueue(q: QueueView): void {
    const toggle = h('button', { type: 'button', className: 'primary' }, q.paused ? 'Resume queue' : 'Pause queue');
    toggle.addEventListener('click', () => {
      post<QueueView>(q.paused ? '/queue/resume' : '/queue/pause').then(showQueue, (e: unknown) => (error.textContent = String(e)));
    });
    queueBox.replaceChildren(
      h('h2', {}, 'Queue ', h('span', { className: `status ${q.paused ? 'status-failed' : 'status-completed'}`, 'data-paused': String(q.paused) }, q.paused ? 'paused' : 'running')),
      h('dl', { className: 'facts' }, ...Object.entries(q.counts).flatMap(([state, n]) => [h('dt', {}, state), h('dd', {}, n)])),
      toggle,
    );
  }

  function showWorkers(workers: WorkerView[]): void {
    workersBox.replaceChildren(
      h('h2', {}, `Workers (${workers.filter((w) => w.state === 'live').length} live)`),
      workers.length === 0
        ? h('p', { className: 'muted' }, 'No worker has beaten in the last hour.')
        : h(
            'div',
            { className: 'table-wrap' },
            h(
              'table',
              { 'aria-label': 'Workers' },
              h('thead', {}, h('tr', {}, h('th', {}, 'worker'), h('th', {}, 'state'), h('th', {}, 'backend · device'), h('th', { className: 'num' }, 'cores / max ranks'), h('th', {}, 'training'), h('th', { className: 'num' }, 'jobs done'), h('th', { className: 'hide-narrow' }, 'last beat'))),
              h('tbody', {}, ...workers.map((w) => h('tr', {}, h('td', {}, w.id, h('div', { className: 'muted' }, `${w.host} pid ${w.pid}`)), h('td', {}, h('span', { className: `status status-${w.state === 'live' ? 'completed' : 'failed'}` }, w.state)), h('td', {}, `${w.backend} · ${w.device}`), h('td', { className: 'num' }, `${w.cores} / ${w.maxRanks}`), h('td', {}, ...w.currentExperiments.map((id) => h('a', { href: `#/experiments/${id}` }, shortId(id), ' '))), h('td', { className: 'num' }, w.jobsDone), h('td', { className: 'hide-narrow' }, when(w.heartbeatAt))))),
            ),
          ),
    );
  }

  const refresh = () =>
    Promise.all([get<QueueView>('/queue').then(showQueue), get<{ workers: WorkerView[] }>('/workers').then((r) => showWorkers(r.workers))]).then(
      () => (error.textContent = ''),
      (e: unknown) => (error.textContent = e instanceof Error ? e.message : String(e)),
    );
  void refresh();
  const timer = setInterval(() => void refresh(), 5000);
  return () => clearInterval(timer);
}
