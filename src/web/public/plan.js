/* global URL, clearTimeout, document, fetch, setTimeout -- browser globals */
// Plans (multi-step tasks) in the chat. A plan asked for here (`/plan TASK`, or the chat model starting one
// in a turn) answers through the page, not through messages: after each turn the page asks which plans the
// conversation has (GET /v1/plans) and shows each new one as a bubble that follows its task's events: the
// status line chats get ("Plan: 2 of 4 done: …"), the numbered plan with a "Run the plan" button while it
// waits for the asker's approval, Cancel while it runs, then the answer (sanitised Markdown, like chat
// answers) and its files as downloads. Everything is drawn from GET /v1/plans/:id, read again whenever the
// root's event stream reports something. Text from the model is shown as text, except the answer.

import { api, follow, getToken, UNREACHABLE } from './api.js';
import { renderMarkdown } from './markdown.js';

const FINAL = new Set(['completed', 'dead', 'cancelled']);
export const APPROVE_LABEL = 'Run the plan';

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

const plainError = (err) =>
  err?.code === UNREACHABLE
    ? "Can't reach June. Try again when it is back."
    : err?.userMessage || err?.message || 'Something went wrong. Please try again.';

/** The numbered plan: each subtask with its capability and the steps it waits for. */
function planList(plan) {
  const index = new Map(plan.subtasks.map((s, i) => [s.id, i + 1]));
  const ol = el('ol', 'plan-steps');
  for (const s of plan.subtasks) {
    const li = el('li', 'plan-step');
    li.dataset.subtask = s.id;
    li.append(el('span', 'capability', s.capability), el('span', 'instructions', s.instructions));
    const after = s.needs.map((n) => index.get(n)).filter((n) => n !== undefined);
    if (after.length) li.append(el('span', 'needs', `after ${after.join(', ')}`));
    ol.append(li);
  }
  return ol;
}

/** A file of the answer: fetched with the token (a plain link cannot send it), then offered. */
function fileLink(file) {
  const a = el('a', 'download plan-file', file.name);
  a.href = file.url;
  a.download = file.name;
  a.addEventListener('click', async (e) => {
    if (a.dataset.ready === 'true') return;
    e.preventDefault();
    try {
      const headers = getToken() ? { authorization: `Bearer ${getToken()}` } : {};
      const res = await fetch(file.url, { headers });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      a.href = URL.createObjectURL(await res.blob());
      a.dataset.ready = 'true';
      a.click();
    } catch {
      a.replaceWith(el('span', 'error', `${file.name} could not be downloaded.`));
    }
  });
  return a;
}

/**
 * Shows the plan `id` as a turn in `turns` (an <ol>) and follows it to its end. `user`: the request to show
 * above it (a plan kept in the conversation); `onApproved(taskId, links)`: the approval's new run, which
 * the chat shows as a bubble of its own.
 */
export function showPlan(turns, { id, links, user, onApproved }) {
  const li = el('li', 'turn plan-turn');
  li.dataset.taskId = id;
  const box = el('section', 'bubble june plan-run');
  box.setAttribute('aria-label', 'Plan');
  const head = el('div', 'plan-head');
  const status = el('p', 'plan-status', 'Plan: starting…');
  status.setAttribute('role', 'status');
  const cancel = el('button', 'quiet small plan-cancel', 'Cancel');
  cancel.type = 'button';
  cancel.hidden = true;
  head.append(el('h3', 'plan-title', 'Plan'), status, cancel);
  const body = el('div', 'plan-body');
  const actions = el('p', 'plan-actions');
  const answer = el('div', 'answer plan-answer');
  const files = el('p', 'plan-files');
  box.append(head, body, actions, answer, files);
  if (user) li.append(el('p', 'bubble user', user));
  li.append(box);
  turns.append(li);

  let finished = false;
  let drawnPlan = '';
  let drawnAnswer = false;
  const render = (v) => {
    box.dataset.state = v.state;
    if (v.result) box.dataset.status = v.result.status;
    status.textContent = v.status;
    cancel.hidden = FINAL.has(v.state);
    if (v.plan && JSON.stringify(v.plan) !== drawnPlan) {
      drawnPlan = JSON.stringify(v.plan);
      body.replaceChildren(el('p', 'plan-goal', v.plan.goal), planList(v.plan));
    }
    actions.replaceChildren();
    if (v.needsApproval && v.mine) {
      const run = el('button', 'primary small plan-approve', APPROVE_LABEL);
      run.type = 'button';
      run.addEventListener('click', async () => {
        run.disabled = true;
        try {
          const started = await api(v.links.approve, { method: 'POST', json: {} });
          actions.replaceChildren(el('span', 'hint', 'Approved: running the plan.'));
          onApproved?.(started.taskId, started.links);
        } catch (err) {
          run.disabled = false;
          actions.append(el('span', 'error', plainError(err)));
          void read();
        }
      });
      actions.append(run);
    } else if (v.needsApproval) {
      actions.append(el('span', 'hint', 'Waiting for the approval of the person who asked.'));
    } else if (v.approvedAs) {
      actions.append(el('span', 'hint plan-approved', 'Approved: running the plan.'));
    }
    if (v.result && v.result.status !== 'awaiting-approval' && !drawnAnswer) {
      drawnAnswer = true;
      renderMarkdown(answer, v.result.answer || v.status);
      files.replaceChildren(...v.result.files.map(fileLink));
    }
    if (v.state === 'dead' && v.error && !box.querySelector('.error')) {
      const msg = el('p', 'error', plainError(v.error));
      msg.setAttribute('role', 'alert');
      box.classList.add('failed');
      box.append(msg);
    }
  };

  // one read at a time; events arriving meanwhile make one more
  let reading;
  let again = false;
  let timer;
  const read = () => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = api(links.self)
      .then(render, () => undefined)
      .finally(() => {
        reading = undefined;
        if (again) {
          again = false;
          void read();
        }
      });
    return reading;
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void read(), 150);
  };

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    status.textContent = 'Cancelling…';
    try {
      await api(links.cancel, { method: 'POST', json: {} });
    } catch (err) {
      status.textContent = plainError(err);
    }
    cancel.disabled = false;
    void read();
  });

  const onEvent = (name) => {
    if (FINAL.has(name)) {
      finished = true;
      clearTimeout(timer);
      void read();
    } else soon();
  };
  void (async () => {
    await read();
    try {
      await follow(links.events, onEvent, {
        isDone: () => finished,
        onLink: (up) => {
          if (!up && !finished) status.textContent = "Can't reach June; still waiting…";
        },
      });
    } catch (err) {
      status.textContent = plainError(err);
    }
  })();
  return li;
}
