/* global AbortController, CustomEvent, clearInterval, document, setInterval -- browser globals */
// The tasks view: a live list from /v1/tasks/events (a snapshot, then every change), and for admin tokens
// the workers with what they are running, the queue counts, and dead letters with a redrive button. A
// plan (a multi-step task) shows its tree under its row: each subtask with its capability, state, the
// subtasks it needs and its worker's current step, from /v1/tasks/:id/tree, read again when the plan's
// events arrive and every few seconds while it runs (its subtasks' steps are their own tasks' events).

import { api, follow } from './api.js';

const MAX_ROWS = 50;
/** Completed tasks shown before the rest fold away behind "Show N more completed". */
const DONE_SHOWN = 5;
const POLL_MS = 3000;
/** How often a running plan's tree is read again. */
const TREE_POLL_MS = 1500;
const PLAN_KIND = 'plan.run';
const FINAL = new Set(['completed', 'dead', 'cancelled']);

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
  if (!m) return task.kind === 'agent.code' ? 'Coding run' : task.kind === PLAN_KIND ? 'Plan' : task.kind;
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
  /** Plan trees by root task id, as GET /v1/tasks/:id/tree last answered. */
  const trees = new Map();
  const reading = new Set();
  let controller;
  let poller;
  let treePoller;
  let admin = false;

  /** Reads the trees of the plans in view that run, or were never read; renders when one changed. */
  async function refreshTrees() {
    const plans = [...tasks.values()].filter(
      (t) => t.kind === PLAN_KIND && (!trees.has(t.id) || !FINAL.has(trees.get(t.id).root.state)),
    );
    await Promise.all(
      plans.map(async (t) => {
        if (reading.has(t.id)) return;
        reading.add(t.id);
        try {
          const tree = await api(`/v1/tasks/${encodeURIComponent(t.id)}/tree`);
          const before = JSON.stringify(trees.get(t.id));
          trees.set(t.id, tree);
          if (JSON.stringify(tree) !== before) render();
        } catch {
          // a tree that cannot be read now is read again at the next event or poll
        } finally {
          reading.delete(t.id);
        }
      }),
    );
  }

  /** The row under a plan's row: its goal and subtasks, each with its state and current step. */
  function treeRow(task, tree) {
    const tr = el('tr', 'plan-tree-row');
    tr.dataset.treeOf = task.id;
    const td = el('td');
    td.colSpan = 5;
    if (tree.plan) td.append(el('p', 'plan-goal', `Plan: ${tree.plan.goal}`));
    else td.append(el('p', 'plan-goal', 'Planning…'));
    const list = el('ol', 'plan-tree');
    for (const s of tree.subtasks) {
      const li = el('li', 'subtask');
      li.dataset.subtask = s.subtaskId;
      li.dataset.state = s.state;
      const head = el('div', 'subtask-head');
      head.append(
        el('span', 'capability', s.capability),
        el('span', 'subtask-id', s.subtaskId),
        el('span', `badge state-${s.state}`, s.state),
      );
      if (s.needs.length) head.append(el('span', 'needs', `after ${s.needs.join(', ')}`));
      li.append(head, el('span', 'instructions', s.instructions));
      const step = s.activity ?? s.steps.at(-1)?.activity;
      if (step) li.append(el('span', 'step', `${s.state === 'active' ? 'now: ' : 'last: '}${step}`));
      if (s.steps.length) {
        // the worker's steps (the agent's or the browser's), folded
        const steps = el('details', 'steps');
        const summary = el('summary', '', `${s.steps.length} step${s.steps.length === 1 ? '' : 's'}`);
        const ol = el('ol');
        for (const st of s.steps) ol.append(el('li', '', `${st.step}: ${st.activity}`));
        steps.append(summary, ol);
        li.append(steps);
      }
      list.append(li);
    }
    td.append(list);
    tr.append(td);
    return tr;
  }

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
      ...rows.flatMap((t) => {
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
        const tree = t.kind === PLAN_KIND ? trees.get(t.id) : undefined;
        if (tree) name.querySelector('.what').textContent = `Plan: “${tree.root.request}”`;
        if (tree && t.state === 'active' && tree.subtasks.length) {
          const done = tree.subtasks.filter((s) => s.state === 'completed').length;
          for (const p of tr.querySelectorAll('.progress'))
            p.textContent = `${done} of ${tree.subtasks.length} done`;
        }
        return tree ? [tr, treeRow(t, tree)] : [tr];
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
    void refreshTrees();
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
      treePoller = setInterval(() => void refreshTrees(), TREE_POLL_MS);
      if (admin) {
        void refreshAdmin();
        poller = setInterval(() => void refreshAdmin(), POLL_MS);
      }
    },
    hide() {
      controller?.abort();
      clearInterval(poller);
      clearInterval(treePoller);
      live.textContent = '';
    },
  };
}
