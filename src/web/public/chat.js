/* global FormData, document, localStorage -- browser globals */
// The chat view: each message (typed or spoken) is posted to /v1/messages and becomes a turn on screen
// that follows its task's events: the transcript, the answer sentence by sentence, then the final text,
// the stage timings and the voice reply.

import { api, ApiError, audioUrl, follow } from './api.js';
import { extensionFor, holdToTalk } from './recorder.js';
import { timingsChart } from './timings.js';

const STAGE_LABEL = {
  decode: 'Reading the audio…',
  vad: 'Listening…',
  stt: 'Transcribing…',
  llm: 'Thinking…',
  encode: 'Finishing the voice reply…',
};

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

export function setupChat({ settings }) {
  const turns = document.getElementById('turns');
  const empty = document.getElementById('chat-empty');
  const form = document.getElementById('composer');
  const input = document.getElementById('message');
  const conversation = document.getElementById('conversation');
  const micStatus = document.getElementById('mic-status');

  conversation.value = localStorage.getItem('june.conversation') || 'default';
  conversation.addEventListener('change', () => {
    conversation.value =
      conversation.value
        .trim()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 64) || 'default';
    localStorage.setItem('june.conversation', conversation.value);
  });

  function addTurn(userText) {
    empty.hidden = true;
    const li = el('li', 'turn');
    const user = el('p', 'bubble user', userText);
    const answer = el('div', 'bubble june');
    const text = el('p', 'answer');
    const status = el('p', 'status', 'Sending…');
    answer.append(text, status);
    li.append(user, answer);
    turns.append(li);
    li.scrollIntoView({ block: 'end', behavior: 'smooth' });
    return { li, user, answer, text, status };
  }

  function showError(turn, err) {
    turn.status.textContent = '';
    turn.answer.classList.add('failed');
    const msg = el('p', 'error');
    msg.setAttribute('role', 'alert');
    msg.textContent = err.userMessage || err.message;
    if (err.code) msg.append(el('code', 'code', err.code));
    turn.answer.append(msg);
  }

  async function playReply(turn, url) {
    const audio = el('audio', 'reply-audio');
    audio.controls = true;
    audio.preload = 'auto';
    turn.answer.append(audio);
    try {
      audio.src = await audioUrl(url);
      if (settings.autoplay()) await audio.play().catch(() => undefined);
    } catch (err) {
      showError(turn, { message: `The voice reply could not be loaded: ${err.message}` });
    }
  }

  async function track(turn, taskId, links) {
    const sentences = [];
    let finished = false;
    const onEvent = (name, data) => {
      switch (name) {
        case 'state':
          turn.status.textContent = data.state === 'queued' ? 'Waiting for a worker…' : 'Working…';
          break;
        case 'active':
          turn.status.textContent = 'Working…';
          break;
        case 'stage':
          if (STAGE_LABEL[data.stage]) turn.status.textContent = STAGE_LABEL[data.stage];
          break;
        case 'transcript':
          turn.user.textContent = data.text || '(nothing heard)';
          turn.user.classList.remove('pending');
          break;
        case 'sentence':
          sentences[data.index] = data.text;
          turn.text.textContent = sentences.filter(Boolean).join(' ');
          turn.status.textContent = 'Answering…';
          break;
        case 'retract':
          // what was shown was the model thinking, not its answer
          sentences.length = 0;
          turn.text.textContent = '';
          turn.status.textContent = 'Thinking…';
          break;
        case 'retrying':
          turn.status.textContent = `Trying again (${data.error?.code ?? 'error'})…`;
          break;
        case 'completed': {
          finished = true;
          const r = data.result ?? {};
          turn.text.textContent = r.text ?? turn.text.textContent;
          if (r.transcript !== undefined) turn.user.textContent = r.transcript || '(nothing heard)';
          turn.user.classList.remove('pending');
          turn.status.textContent = r.notes?.length ? r.notes.join(' ') : '';
          const chart = r.timings ? timingsChart(r.timings) : undefined;
          if (chart) turn.answer.append(chart);
          if (data.audioUrl) void playReply(turn, data.audioUrl);
          break;
        }
        case 'dead':
          finished = true;
          showError(turn, data.error ?? { message: 'That failed.' });
          break;
        case 'cancelled':
          finished = true;
          turn.status.textContent = 'Cancelled.';
          break;
      }
      turn.li.scrollIntoView({ block: 'end' });
    };
    turn.li.dataset.taskId = taskId;
    try {
      await follow(links.events, onEvent, { isDone: () => finished });
    } catch (err) {
      showError(turn, err);
    }
  }

  async function submit(turn, request) {
    try {
      const res = await request();
      if (res.reply !== undefined) {
        // a chat command (/new, /voice always, …) answered at once
        turn.text.textContent = res.reply;
        turn.status.textContent = '';
        return;
      }
      await track(turn, res.taskId, res.links);
    } catch (err) {
      showError(turn, err instanceof ApiError ? err : { message: String(err.message ?? err) });
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize();
    const turn = addTurn(text);
    const json = { text, conversation: conversation.value };
    if (settings.speakText()) json.speak = true;
    void submit(turn, () => api('/v1/messages', { method: 'POST', json }));
  });

  // Enter sends, Shift+Enter adds a line
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  const autosize = () => {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  };
  input.addEventListener('input', autosize);

  holdToTalk(document.getElementById('mic'), {
    onState(state, message) {
      micStatus.textContent = message;
      micStatus.dataset.state = state;
      document.body.classList.toggle('recording', state === 'recording');
    },
    onRecorded(blob) {
      const turn = addTurn('Voice message…');
      turn.user.classList.add('pending');
      const form = new FormData();
      form.set('audio', blob, `recording.${extensionFor(blob.type)}`);
      form.set('conversation', conversation.value);
      turn.status.textContent = `Uploading ${Math.ceil(blob.size / 1024)} KB…`;
      void submit(turn, () => api('/v1/messages', { method: 'POST', form }));
    },
  });

  document.getElementById('new-conversation').addEventListener('click', async () => {
    try {
      await api(`/v1/conversations/${encodeURIComponent(conversation.value)}/reset`, { method: 'POST' });
      turns.replaceChildren();
      empty.hidden = false;
      empty.textContent = 'New conversation started. June has forgotten the earlier messages.';
    } catch (err) {
      micStatus.textContent = `Could not start a new conversation: ${err.message}`;
    }
  });
}
