/* global document, history, localStorage, location -- browser globals */
// Starts the page: asks for an API token once when the server needs one (kept in localStorage), wires the
// Chat / Tasks tabs (arrow keys move between them) and the settings dialog.

import { api, ApiError, getToken, setToken } from './api.js';
import { setupChat } from './chat.js';
import { setupTasks } from './tasks.js';

const flag = (key, fallback) => {
  const v = localStorage.getItem(key);
  return v === null ? fallback : v === 'true';
};

const settings = {
  autoplay: () => flag('june.autoplay', true),
  speakText: () => flag('june.speakText', false),
};

/** Resolves once a request with the stored token (or none) is accepted; asks for a token if not. */
async function ensureAccess() {
  for (;;) {
    try {
      await api('/v1/conversations');
      return;
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'bad_token') return;
    }
    const dialog = document.getElementById('token-dialog');
    const input = document.getElementById('token-first');
    document.getElementById('token-error').textContent = getToken() ? 'That token was not accepted.' : '';
    input.value = '';
    dialog.showModal();
    await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
    setToken(input.value.trim());
  }
}

function setupTabs(views) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  let current;
  const select = (tab, focus = false) => {
    if (focus) tab.focus();
    if (tab === current) return;
    current = tab;
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    }
    for (const [id, view] of Object.entries(views)) (id === tab.id ? view.show : view.hide)?.();
    history.replaceState(null, '', tab.id === 'tab-tasks' ? '#tasks' : '#chat');
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (step) select(tabs[(i + step + tabs.length) % tabs.length], true);
    });
  });
  select(location.hash === '#tasks' ? tabs[1] : tabs[0]);
}

function setupSettings() {
  const dialog = document.getElementById('settings');
  const autoplay = document.getElementById('autoplay');
  const speakText = document.getElementById('speak-text');
  const token = document.getElementById('token-input');
  document.getElementById('open-settings').addEventListener('click', () => {
    autoplay.checked = settings.autoplay();
    speakText.checked = settings.speakText();
    token.value = getToken();
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'save') return;
    localStorage.setItem('june.autoplay', String(autoplay.checked));
    localStorage.setItem('june.speakText', String(speakText.checked));
    if (token.value.trim() !== getToken()) {
      setToken(token.value.trim());
      location.reload();
    }
  });
}

let adminCache;
async function isAdmin() {
  adminCache ??= api('/v1/admin/queue').then(
    () => true,
    () => false,
  );
  return adminCache;
}

async function main() {
  setupSettings();
  await ensureAccess();
  const chat = setupChat({ settings, isAdmin });
  await chat.start().catch(() => undefined);
  const tasks = setupTasks({ isAdmin });
  setupTabs({ 'tab-tasks': tasks });
  document.body.dataset.ready = 'true';
}

void main();
