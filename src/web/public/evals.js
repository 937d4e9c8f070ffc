/* global document, window, setTimeout, clearTimeout -- browser globals */
// The Evaluations view (admin tokens): the eval runs with their progress, a run's per-task grid, and one
// sample for review: the prompt, the program or the model's answer (reasoning collapsed), the agent's
// trajectory when there is one, and the failing input with the expected and the actual value. It adds its
// own tab to the page's tab bar and shows itself when that tab is chosen. Text from runs goes into the page
// only through textContent.
import { api } from './api.js';

const el = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = String(text);
  return node;
};

function block(title, text, open = true) {
  const d = el('details', { class: 'eval-block' });
  d.open = open;
  d.append(el('summary', {}, title), el('pre', {}, text));
  return d;
}

async function showSample(pane, runId, index) {
  pane.replaceChildren(el('p', { class: 'empty' }, 'Loading…'));
  const s = await api(`/v1/evals/${encodeURIComponent(runId)}/samples/${index}`);
  const v = s.verdict;
  const head = el('h3', {}, `${s.task_id} · sample ${s.sample} · ${v ? v.status : s.state}`);
  head.dataset.status = v ? v.status : s.state;
  const parts = [head];
  const failure =
    v && v.status !== 'pass'
      ? v.detail
      : v && v.plus_status && v.plus_status !== 'pass'
        ? v.plus_detail
        : undefined;
  if (failure) {
    const dl = el('dl', { class: 'eval-failure' });
    for (const [k, label] of [
      ['input', 'Input'],
      ['expected', 'Expected'],
      ['actual', 'Actual'],
      ['error', 'Error'],
      ['assertion', 'Assertion'],
    ]) {
      if (failure[k] === undefined) continue;
      const dd = el('dd', { 'data-field': k });
      dd.append(el('code', {}, failure[k]));
      dl.append(el('dt', {}, label), dd);
    }
    parts.push(dl);
  }
  if (s.prompt !== undefined) parts.push(block('Prompt', s.prompt, false));
  if (s.reasoning) parts.push(block('Reasoning', s.reasoning, false));
  if (s.answer !== undefined) parts.push(block('Model output', s.answer));
  if (s.program !== undefined) parts.push(block('Program checked', s.program));
  if (s.trajectory?.length) {
    const ol = el('ol', { class: 'eval-trajectory' });
    for (const step of s.trajectory) ol.append(el('li', {}, JSON.stringify(step, null, 2)));
    const d = el('details', { class: 'eval-block' });
    d.append(el('summary', {}, `Agent trajectory (${s.trajectory.length} steps)`), ol);
    parts.push(d);
  }
  pane.replaceChildren(...parts);
}

async function showRun(section, runId) {
  const detail = section.querySelector('#eval-run');
  const run = await api(`/v1/evals/${encodeURIComponent(runId)}`);
  const { samples } = await api(`/v1/evals/${encodeURIComponent(runId)}/samples`);
  const grid = el('div', { class: 'eval-grid', role: 'list', 'aria-label': 'Samples' });
  const pane = el('div', { class: 'eval-sample', 'aria-live': 'polite' });
  for (const s of samples) {
    const status = s.verdict ? s.verdict.status : s.state;
    const b = el(
      'button',
      {
        type: 'button',
        role: 'listitem',
        class: 'eval-cell',
        'data-status': status,
        title: `${s.task_id} #${s.sample}: ${status}`,
      },
      s.task_id.replace(/^.*\//, ''),
    );
    b.addEventListener(
      'click',
      () => void showSample(pane, runId, s.index).catch((e) => (pane.textContent = e.message)),
    );
    grid.append(b);
  }
  const pct = run.summary ? ` · pass@1 ${(run.summary.passAtK.base['pass@1'] * 100).toFixed(1)}%` : '';
  detail.replaceChildren(
    el('h3', {}, `${run.dataset} · ${run.state} · ${run.done}/${run.total}${pct}`),
    grid,
    pane,
  );
}

function setup() {
  const nav = document.querySelector('nav.tabs');
  const main = document.getElementById('main');
  if (!nav || !main) return;
  const tab = el(
    'button',
    {
      type: 'button',
      role: 'tab',
      id: 'tab-evals',
      'aria-controls': 'view-evals',
      'aria-selected': 'false',
      tabindex: '-1',
    },
    'Evaluations',
  );
  const section = el('section', {
    id: 'view-evals',
    class: 'view evals',
    role: 'tabpanel',
    'aria-labelledby': 'tab-evals',
  });
  section.hidden = true;
  const table = el('table', { id: 'evals-table' });
  const thead = el('thead');
  const hr = el('tr');
  for (const h of ['Started', 'Dataset', 'State', 'Progress', 'Passed'])
    hr.append(el('th', { scope: 'col' }, h));
  thead.append(hr);
  const body = el('tbody', { id: 'evals-body' });
  table.append(el('caption', {}, 'Eval runs'), thead, body);
  section.append(
    el('h2', {}, 'Evaluations'),
    table,
    el('p', { id: 'evals-empty', class: 'empty' }, 'No eval runs yet.'),
    el('div', { id: 'eval-run' }),
  );
  main.append(section);
  nav.append(tab);
  let timer;
  const refresh = async () => {
    clearTimeout(timer);
    if (section.hidden) return;
    try {
      const { runs } = await api('/v1/evals');
      section.querySelector('#evals-empty').hidden = runs.length > 0;
      body.replaceChildren(
        ...runs.map((r) => {
          const tr = el('tr', { 'data-run': r.id });
          const open = el(
            'button',
            { type: 'button', class: 'quiet' },
            new Date(r.startedAt).toLocaleString(),
          );
          open.addEventListener('click', () => void showRun(section, r.id));
          const progress = el('progress', { max: String(r.total || 1), value: String(r.done) });
          const td = (c) => {
            const t = el('td');
            t.append(c);
            return t;
          };
          tr.append(
            td(open),
            el('td', {}, r.dataset),
            el('td', {}, r.state),
            td(progress),
            el('td', {}, `${r.passed}/${r.total}`),
          );
          return tr;
        }),
      );
    } catch (e) {
      section.querySelector('#evals-empty').textContent = e.message;
    }
    timer = setTimeout(() => void refresh(), 3000);
  };
  const select = (on) => {
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    section.hidden = !on;
    if (on) {
      for (const t of nav.querySelectorAll('[role="tab"]')) {
        if (t === tab) continue;
        t.setAttribute('aria-selected', 'false');
        document.getElementById(t.getAttribute('aria-controls')).hidden = true;
      }
      void refresh();
    }
  };
  tab.addEventListener('click', () => select(true));
  // the page's own tabs do not know this one: leaving it shows the chosen tab's panel again
  for (const t of nav.querySelectorAll('[role="tab"]')) {
    if (t === tab) continue;
    t.addEventListener('click', () => {
      if (section.hidden) return;
      select(false);
      t.setAttribute('aria-selected', 'true');
      document.getElementById(t.getAttribute('aria-controls')).hidden = false;
    });
  }
  if (window.location.hash === '#evals') select(true);
}

setup();
