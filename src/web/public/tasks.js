/* global AbortController, CustomEvent, clearInterval, document, setInterval -- browser globals */
// The tasks view: a live list from /v1/tasks/events (a snapshot, then every change), and for admin tokens
// the workers with what they are running, the queue counts, and dead letters with a redrive button.

import { api, follow } from './api.js';

const MAX_ROWS = 50;
/** Completed tasks shown before the rest fold away behind "Show N more completed". */
const DONE_SHOWN = 5;
const POLL_MS = 3000;

/** Tells the chat that a dead task runs again, so its bubble follows it to the end. */
const redriven = (id) => document.dispatchEvent(new CustomEvent('june:redriven', { detail: { id } }));

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

function age(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(ms).toLocaleString();
}

function describe(task) {
  const m = task.message;
  // a coding run shows its latest step in the progress column
  if (!m) return task.kind === 'agent.code' ? 'Coding run' : task.kind;
  // a voice message shows what was heard, once it is known
  const heard = typeof task.result?.transcript === 'string' ? task.result.transcript : undefined;
  const text = m.text ?? heard;
  const quoted = text ? `“${text.length > 60 ? `${text.slice(0, 57)}…` : text}”` : undefined;
  const what = m.text ? quoted : quoted ? `Voice: ${quoted}` : 'Voice message';
  return `${what} · ${m.channel}`;
}

function progressText(task) {
  if (task.state === 'dead') return task.error ? `${task.error.code}` : 'failed';
  if (task.state === 'completed') {
    const ms = task.result?.timings?.totalMs;
    return ms === undefined ? 'done' : `done in ${(ms / 1000).toFixed(1)} s`;
  }
  if (task.state === 'retrying') return task.error ? `retrying after ${task.error.code}` : 'retrying';
  if (task.state === 'active') return task.progress ? `${task.progress.stage}` : 'starting';
  return '';
}

export function setupTasks({ isAdmin }) {
  const body = document.getElementById('tasks-body');
  const empty = document.getElementById('tasks-empty');
  const live = document.getElementById('tasks-live');
  const redriveAll = document.getElementById('redrive-all');
  const moreDone = document.getElementById('more-completed');
  let showAllDone = false;
  moreDone.addEventListener('click', () => {
    showAllDone = !showAllDone;
    render();
  });
  const tasks = new Map();
  let controller;
  let poller;
  let admin = false;

  function render() {
    const all = [...tasks.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, MAX_ROWS);
    // what runs or failed stays in view; only the latest few completed ones do
    let done = 0;
    const rows = all.filter((t) => t.state !== 'completed' || showAllDone || ++done <= DONE_SHOWN);
    const folded = all.length - rows.length;
    moreDone.hidden = all.filter((t) => t.state === 'completed').length <= DONE_SHOWN;
    moreDone.textContent = showAllDone ? 'Fold completed tasks' : `Show ${folded} more completed`;
    moreDone.setAttribute('aria-expanded', String(showAllDone));
    empty.hidden = all.length > 0;
    body.replaceChildren(
      ...rows.map((t) => {
        const tr = el('tr');
        tr.dataset.taskId = t.id;
        tr.dataset.state = t.state;
        const name = el('td', 'task-name');
        name.append(el('span', 'what', describe(t)), el('code', 'id', t.id));
        const state = el('td');
        // on phones the progress column is hidden and shown under the state instead
        state.append(
          el('span', `badge state-${t.state}`, t.state),
          el('span', 'progress narrow', progressText(t)),
        );
        tr.append(
          name,
          state,
          el('td', 'progress wide', progressText(t)),
          el('td', 'wide', `${t.attempts}/${t.maxAttempts}`),
          el('td', 'wide time', age(t.createdAt)),
        );
        return tr;
      }),
    );
  }

  async function refreshAdmin() {
    if (!admin) return;
    const [workers, queue, dead] = await Promise.all([
      api('/v1/admin/workers'),
      api('/v1/admin/queue'),
      api('/v1/admin/dead-letters?limit=20'),
    ]).catch(() => []);
    if (!workers) return;
    const wl = document.getElementById('workers');
    wl.replaceChildren(
      ...(workers.workers.length ? workers.workers : [null]).map((w) => {
        if (!w) return el('li', 'empty', 'No worker is running.');
        const li = el('li', 'worker');
        li.append(
          el('strong', '', `${w.host} · pid ${w.pid}`),
          el('span', 'caps', `${w.capabilities.join(', ')} · ${w.tasks.length}/${w.concurrency} busy`),
        );
        for (const t of w.tasks)
          li.append(el('span', 'doing', `${t.kind ?? 'task'} ${t.stage ? `→ ${t.stage}` : ''} (${t.id})`));
        return li;
      }),
    );
    document
      .getElementById('queue-stats')
      .replaceChildren(
        ...queue.capabilities.map((c) =>
          el(
            'li',
            '',
            `${c.capability}: ${c.new} new · ${c.active} active · ${c.retrying} retrying · ${c.dead} dead · ${c.completed} done`,
          ),
        ),
      );
    const dl = document.getElementById('dead');
    document.getElementById('dead-empty').hidden = dead.tasks.length > 0;
    redriveAll.hidden = dead.tasks.length < 2;
    redriveAll.onclick = async () => {
      redriveAll.disabled = true;
      try {
        await api('/v1/admin/dead-letters/redrive', { method: 'POST', json: { all: true } });
        for (const t of dead.tasks) redriven(t.id);
      } finally {
        redriveAll.disabled = false;
        await refreshAdmin();
      }
    };
    dl.replaceChildren(
      ...dead.tasks.map((t) => {
        const li = el('li', 'dead-task');
        const info = el('div');
        info.append(el('span', 'what', describe(t)), el('code', 'id', t.id));
        if (t.error)
          info.append(el('span', 'error', `${t.error.code}: ${t.error.userMessage ?? t.error.message}`));
        const button = el('button', 'quiet', 'Redrive');
        button.type = 'button';
        button.setAttribute('aria-label', `Redrive task ${t.id}`);
        button.addEventListener('click', async () => {
          button.disabled = true;
          try {
            await api('/v1/admin/dead-letters/redrive', { method: 'POST', json: { id: t.id } });
            redriven(t.id);
          } finally {
            await refreshAdmin();
          }
        });
        li.append(info, button);
        return li;
      }),
    );
  }

  function onEvent(name, data) {
    if (name === 'snapshot') {
      tasks.clear();
      for (const t of data.tasks) tasks.set(t.id, t);
    } else if (name === 'task') {
      tasks.set(data.task.id, data.task);
      if (data.event.type === 'redriven') redriven(data.task.id);
      if (['dead', 'redriven', 'active', 'completed'].includes(data.event.type)) void refreshAdmin();
    }
    render();
  }

  /** "● live" only while the event stream is connected; "reconnecting" while it is not. */
  function onLink(up) {
    live.textContent = up ? '● live' : '○ reconnecting…';
    live.dataset.state = up ? 'live' : 'down';
  }

  return {
    async show() {
      admin = await isAdmin();
      for (const p of document.querySelectorAll('.admin-only')) p.hidden = !admin;
      controller = new AbortController();
      void follow('/v1/tasks/events', onEvent, { signal: controller.signal, onLink }).catch((err) => {
        live.textContent = `(${err.message})`;
        live.dataset.state = 'down';
      });
      if (admin) {
        void refreshAdmin();
        poller = setInterval(() => void refreshAdmin(), POLL_MS);
      }
    },
    hide() {
      controller?.abort();
      clearInterval(poller);
      live.textContent = '';
    },
  };
}
