/* global Blob, URL, clearTimeout, document, fetch, setTimeout -- browser globals */
// Coding runs on the page: `/code TASK` typed in the composer starts one (POST /v1/code), and a run view
// in the chat shows its steps live: each step's activity, the commands with their output folded, each
// step's diff, then the answer and a "Download changes" link; a Cancel button while it runs. The steps
// come from /v1/code/:id/steps, read again whenever the task's event stream reports a step. Everything the
// model or a command wrote is shown as text (textContent), except the final answer, which goes through
// the sanitising Markdown renderer like chat answers.

import { api, ApiError, follow, getToken, UNREACHABLE } from './api.js';
import { renderMarkdown } from './markdown.js';

/** The task of a `/code TASK` message ('' for a bare /code), or undefined for any other text. */
export function codeTask(text) {
  const m = /^\/code(?:@\S+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  return m ? (m[1] ?? '').trim() : undefined;
}

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

// a request error names its field for API users ("body.task: …"); the page shows the sentence only
const plainError = (err) =>
  err?.code === UNREACHABLE
    ? "Can't reach June. Try again when it is back."
    : (err?.userMessage || err?.message || 'Something went wrong. Please try again.').replace(
        /^body\.\w+: /,
        '',
      );

/** A diff as lines, each marked added, removed, a hunk header or a file header (text only). */
function diffView(diff) {
  const pre = el('pre', 'diff');
  for (const line of diff.replace(/\n$/, '').split('\n')) {
    const kind = /^(\+\+\+|---|diff |index |new file|deleted file)/.test(line)
      ? 'file'
      : line.startsWith('@@')
        ? 'hunk'
        : line.startsWith('+')
          ? 'add'
          : line.startsWith('-')
            ? 'del'
            : 'ctx';
    pre.append(el('span', `line ${kind}`, `${line}\n`));
  }
  return pre;
}

function fold(className, summary, body, open = false) {
  const d = el('details', className);
  d.open = open;
  const s = el('summary');
  if (typeof summary === 'string') s.textContent = summary;
  else s.append(...summary);
  d.append(s, body);
  return d;
}

/** One tool call; `ended`: the run is over, so a call without output was stopped. */
function callView(call, ended) {
  const pending = ended ? 'stopped' : 'running…';
  const out = el('pre', 'output', call.output ?? `(${pending})`);
  if (call.command !== undefined) {
    const usage =
      call.exitCode === undefined
        ? pending
        : `${call.timedOut ? 'timed out' : `exit ${call.exitCode}`}${call.wallMs !== undefined ? ` · ${call.wallMs} ms` : ''}`;
    const exit = el('span', `exit ${call.ok === false ? 'bad' : 'good'}`, usage);
    return fold('call command', [el('code', 'cmd', `$ ${call.command}`), exit], out);
  }
  const what = call.path ? `${call.tool} ${call.path}` : call.tool;
  const label = el('span', 'tool', what);
  if (call.ok === false) label.append(el('span', 'exit bad', ' failed'));
  return fold('call', [label], out);
}

function stepView(step, ended) {
  const li = el('li', 'code-step');
  li.dataset.step = String(step.step);
  const head = el('p', 'step-head');
  head.append(el('span', 'step-n', `Step ${step.step}`), el('span', 'activity', step.activity ?? ''));
  li.append(head);
  if (step.says) li.append(el('p', 'says', step.says));
  if (step.error) li.append(el('p', 'step-error', step.error));
  for (const call of step.calls ?? []) {
    if (call.tool === 'finish') continue;
    li.append(callView(call, ended));
  }
  if (step.diff) li.append(fold('step-diff', 'Changes in this step', diffView(step.diff), true));
  return li;
}

/** The file name the server gives the download (Content-Disposition), or a default. */
function fileName(res, fallback) {
  const m = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
  return m?.[1] ?? fallback;
}

/** A coding run's view as a turn in `turns`: the request (when there is one) and the run's box. */
function runView(turns, request) {
  const li = el('li', 'turn code-turn');
  const box = el('section', 'bubble june code-run');
  box.setAttribute('aria-label', 'Coding run');
  const head = el('div', 'code-head');
  const title = el('h3', 'code-title', 'Coding run');
  const status = el('p', 'code-status', 'Starting…');
  status.setAttribute('role', 'status');
  const cancel = el('button', 'quiet small code-cancel', 'Cancel');
  cancel.type = 'button';
  cancel.hidden = true;
  head.append(title, status, cancel);
  const steps = el('ol', 'code-steps');
  steps.setAttribute('aria-label', 'Steps');
  const answer = el('div', 'answer code-answer');
  const actions = el('p', 'code-actions');
  box.append(head, steps, answer, actions);
  if (request !== undefined) li.append(el('p', 'bubble user', request));
  li.append(box);
  turns.append(li);

  const fail = (err) => {
    status.textContent = '';
    const msg = el('p', 'error', plainError(err));
    msg.setAttribute('role', 'alert');
    if (err?.code) msg.dataset.code = err.code;
    box.classList.add('failed');
    box.append(msg);
    cancel.hidden = true;
  };
  return { li, box, status, cancel, steps, answer, actions, fail };
}

/**
 * Starts a coding run for `task` and shows it as a turn in `turns` (an <ol>). Resolves when the run has
 * ended (or could not start).
 */
export async function startCodeRun(turns, { task, conversation }) {
  const view = runView(turns, task ? `/code ${task}` : '/code');
  view.li.scrollIntoView({ block: 'end' });
  let started;
  try {
    started = await api('/v1/code', { method: 'POST', json: { task, conversation } });
  } catch (err) {
    view.fail(err instanceof ApiError ? err : { message: String(err?.message ?? err) });
    return;
  }
  await followRun(view, started.taskId, started.links);
}

/**
 * Shows a coding run kept in the conversation (after a reload): `turn` is a stored turn with `code` set.
 * A finished run is drawn from its record (steps, answer, the changes); one still running is followed live.
 */
export function showCodeRun(turns, turn) {
  const view = runView(turns, turn.user);
  void followRun(view, turn.taskId, turn.code.links);
  return view.li;
}

/** Follows a run's task to its end, drawing its steps, its answer and the download link. */
async function followRun(view, taskId, links) {
  const { li, box, status, cancel, steps, answer, actions, fail } = view;
  li.dataset.taskId = taskId;
  box.dataset.state = 'queued';
  status.textContent = 'Waiting for a worker…';
  cancel.hidden = false;

  // ---- steps, read again when the event stream reports one (one request at a time)
  const shown = new Map();
  let reading;
  let again = false;
  let timer;
  const render = (view) => {
    const ended = ['completed', 'dead', 'cancelled'].includes(view.state) || view.status !== undefined;
    for (const step of view.steps) {
      const key = `${ended}:${JSON.stringify(step)}`;
      const old = shown.get(step.step);
      if (old?.key === key) continue;
      const node = stepView(step, ended);
      if (old) old.node.replaceWith(node);
      else steps.append(node);
      shown.set(step.step, { key, node });
    }
    if (view.local === false && view.note && !box.querySelector('.code-note'))
      steps.before(el('p', 'hint code-note', view.note));
  };
  const readSteps = () => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = api(links.steps)
      .then(render, () => undefined)
      .finally(() => {
        reading = undefined;
        if (again) {
          again = false;
          void readSteps();
        }
      });
    return reading;
  };
  // a burst of events (thinking, then the tool) makes one read
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void readSteps(), 150);
  };

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    status.textContent = 'Cancelling…';
    try {
      await api(links.cancel, { method: 'POST', json: {} });
    } catch (err) {
      cancel.disabled = false;
      status.textContent = plainError(err);
    }
  });

  const download = async (result) => {
    const diff = typeof result?.diff === 'string' ? result.diff : '';
    if (!diff.trim()) {
      actions.append(el('span', 'hint', 'No files changed.'));
      return;
    }
    // the link needs the token, which a plain <a href> cannot send: the diff is fetched, then offered
    const headers = getToken() ? { authorization: `Bearer ${getToken()}` } : {};
    let name = `${result.runId ?? taskId}.diff`;
    let blob;
    try {
      const res = await fetch(links.diff, { headers });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      name = fileName(res, name);
      blob = await res.blob();
    } catch {
      blob = new Blob([diff], { type: 'text/x-diff' });
    }
    const a = el('a', 'download', 'Download changes');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    actions.append(a);
  };

  let finished = false;
  const end = () => {
    finished = true;
    cancel.hidden = true;
    clearTimeout(timer);
  };
  const onEvent = (name, data) => {
    switch (name) {
      case 'state':
        box.dataset.state = data.state;
        if (data.state === 'queued') status.textContent = 'Waiting for a worker…';
        else if (data.state === 'active') status.textContent = data.progress?.stage ?? 'Starting…';
        soon();
        break;
      case 'active':
        box.dataset.state = 'active';
        status.textContent = 'Starting…';
        break;
      case 'progress':
        box.dataset.state = 'active';
        if (data.stage) status.textContent = data.stage;
        soon();
        break;
      case 'retrying':
        status.textContent = 'Something went wrong; trying again…';
        break;
      case 'completed': {
        end();
        box.dataset.state = 'completed';
        const r = data.result ?? {};
        status.textContent =
          r.status === 'completed'
            ? `Done after ${r.steps} step${r.steps === 1 ? '' : 's'}.`
            : `Stopped (${r.status ?? 'unknown'}) after ${r.steps ?? '?'} steps.`;
        renderMarkdown(answer, r.answer ?? '');
        void readSteps().then(() => download(r));
        break;
      }
      case 'dead':
        end();
        box.dataset.state = 'dead';
        fail(data.error ?? {});
        void readSteps();
        break;
      case 'cancelled':
        end();
        box.dataset.state = 'cancelled';
        status.textContent = 'Cancelled.';
        // the run records how its last command ended a moment after the task is cancelled
        void readSteps().then(() => setTimeout(() => void readSteps(), 2000));
        break;
    }
  };
  try {
    await follow(links.events, onEvent, {
      isDone: () => finished,
      onLink: (up) => {
        if (!up && !finished) status.textContent = "Can't reach June; still waiting…";
      },
    });
  } catch (err) {
    fail(err);
  }
}
