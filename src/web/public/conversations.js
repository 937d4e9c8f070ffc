/* global document, localStorage -- browser globals */
// The list of chats: the caller's own web conversations from GET /v1/conversations, most recent first, in
// a select box; "New chat" makes a fresh one on the server, Rename keeps the title exactly as typed, and
// Delete asks first. The chosen one is remembered in this browser; `onSelect(name)` is told of every change.

import { api } from './api.js';

const KEY = 'june.conversation';

export function setupConversations({ onSelect, onError }) {
  const select = document.getElementById('conversation');
  const renameDialog = document.getElementById('rename-dialog');
  const renameInput = document.getElementById('rename-input');
  const deleteDialog = document.getElementById('delete-dialog');
  const deleteName = document.getElementById('delete-name');
  let list = [];
  let current = localStorage.getItem(KEY) || 'default';

  const titleOf = (name) => list.find((c) => c.conversation === name)?.title ?? 'New chat';

  function render() {
    const options = list.map((c) => {
      const o = document.createElement('option');
      o.value = c.conversation;
      o.textContent = c.title;
      return o;
    });
    if (!list.some((c) => c.conversation === current)) {
      const o = document.createElement('option');
      o.value = current;
      o.textContent = 'New chat';
      options.unshift(o);
    }
    select.replaceChildren(...options);
    select.value = current;
  }

  async function refresh() {
    const { conversations } = await api('/v1/conversations');
    list = conversations.filter((c) => c.mine);
    render();
  }

  /** Chats already given to the model to title (once each per page). */
  const asked = new Set();
  /** After a chat's first answer, the model suggests a title (kept only if the user gave none). */
  async function autoTitle() {
    const c = list.find((x) => x.conversation === current);
    if (!c || c.titled || c.messages < 2 || asked.has(c.conversation)) return;
    asked.add(c.conversation);
    const titled = await api(`/v1/conversations/${encodeURIComponent(c.conversation)}/title`, {
      method: 'POST',
    });
    list = list.map((x) => (x.conversation === titled.conversation ? titled : x));
    render();
  }

  function choose(name) {
    current = name;
    localStorage.setItem(KEY, name);
    render();
    onSelect(name);
  }

  async function create() {
    const made = await api('/v1/conversations', { method: 'POST', json: {} });
    list.unshift(made);
    choose(made.conversation);
  }

  select.addEventListener('change', () => choose(select.value));
  document.getElementById('new-conversation').addEventListener('click', () => {
    create().catch(onError);
  });

  document.getElementById('rename-conversation').addEventListener('click', () => {
    renameInput.value = titleOf(current);
    renameDialog.returnValue = '';
    renameDialog.showModal();
    renameInput.select();
  });
  renameDialog.addEventListener('close', async () => {
    if (renameDialog.returnValue !== 'save') return;
    const title = renameInput.value.trim();
    if (!title) return;
    try {
      // a conversation that has no message yet exists once it is named
      if (!list.some((c) => c.conversation === current)) {
        const made = await api('/v1/conversations', { method: 'POST', json: { title } });
        list.unshift(made);
        choose(made.conversation);
        return;
      }
      const renamed = await api(`/v1/conversations/${encodeURIComponent(current)}/rename`, {
        method: 'POST',
        json: { title },
      });
      list = list.map((c) => (c.conversation === current ? renamed : c));
      render();
    } catch (err) {
      onError(err);
    }
  });

  document.getElementById('delete-conversation').addEventListener('click', () => {
    deleteName.textContent = titleOf(current);
    deleteDialog.returnValue = '';
    deleteDialog.showModal();
  });
  deleteDialog.addEventListener('close', async () => {
    if (deleteDialog.returnValue !== 'delete') return;
    try {
      if (list.some((c) => c.conversation === current))
        await api(`/v1/conversations/${encodeURIComponent(current)}/delete`, { method: 'POST' });
      list = list.filter((c) => c.conversation !== current);
      if (list[0]) choose(list[0].conversation);
      else await create();
    } catch (err) {
      onError(err);
    }
  });

  return {
    current: () => current,
    /** Loads the list and picks the remembered chat (or the most recent one); resolves with its name. */
    async start() {
      await refresh();
      if (!list.some((c) => c.conversation === current) && list[0]) current = list[0].conversation;
      localStorage.setItem(KEY, current);
      render();
      return current;
    },
    /**
     * Reloads the titles (an untitled chat is named by its first message once it is stored), then has
     * the model title a chat that has just had its first answer.
     */
    refresh: () =>
      refresh()
        .then(autoTitle)
        .catch(() => undefined),
  };
}
