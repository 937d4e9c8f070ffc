/* global FormData, crypto, document, fetch, setTimeout -- browser globals */
// The chat view: each message (typed or spoken) is posted to /v1/messages and becomes a turn on screen
// that follows its task's events: the transcript, the answer sentence by sentence (rendered as sanitised
// Markdown), then the final text, the stage timings and the voice reply. The chosen chat's earlier turns
// are loaded from the server. A message that cannot reach June is kept (text or recording) and sent again,
// with the same Idempotency-Key, once June answers again; a failed answer gets a Retry button. A plan
// the conversation started (`/plan TASK`, or the model starting one) is shown as a bubble of its own
// (plan.js), found after each turn and after loading the chat.

import { api, ApiError, audioUrl, follow, speechUrl, UNREACHABLE } from './api.js';
import { codeTask, showCodeRun, startCodeRun } from './code.js';
import { setupConversations } from './conversations.js';
import { markdownReady, renderMarkdown } from './markdown.js';
import { showPlan } from './plan.js';
import { extensionFor, holdToTalk } from './recorder.js';
import { canStream, sentencePlayer, unlockAudio } from './speaker.js';
import { formatMs, timingsChart } from './timings.js';

/**
 * The stage that starts once the named one has ended (tasks report the end of each stage): the label
 * says what June is doing now, not what it just finished.
 */
const NEXT_LABEL = {
  decode: 'Transcribing…',
  vad: 'Transcribing…',
  stt: 'Thinking…',
  llm: 'Finishing the voice reply…',
  tts: 'Finishing the voice reply…',
};

/** What the user reads for an error: its own sentence, never a code. */
const plainError = (err) =>
  err?.code === UNREACHABLE
    ? "Can't reach June. Your message is kept and will be sent when June is back."
    : err?.userMessage || err?.message || 'Something went wrong. Please try again.';

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An Idempotency-Key (getRandomValues also works on plain-HTTP pages, where randomUUID does not). */
const newKey = () =>
  [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Resolves once June answers /health again. */
async function backOnline() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 8000)) {
    await wait(delay);
    try {
      if ((await fetch('/health', { cache: 'no-store' })).ok) return;
    } catch {
      // still down
    }
  }
}

export function setupChat({ settings, isAdmin }) {
  const turns = document.getElementById('turns');
  const empty = document.getElementById('chat-empty');
  const form = document.getElementById('composer');
  const input = document.getElementById('message');
  const micStatus = document.getElementById('mic-status');
  const announce = document.getElementById('announce');
  const level = document.getElementById('mic-level');
  let shown = 0; // bumped on every switch of chat, so late answers of the old one stay off screen
  let knownPlans = new Set(); // plans of the chat on screen, or left off on purpose (earlier, finished)

  function addPlan(id, links, user) {
    knownPlans.add(id);
    empty.hidden = true;
    const li = showPlan(turns, {
      id,
      links,
      user,
      onApproved: (runId, runLinks) => addPlan(runId, runLinks),
    });
    li.scrollIntoView({ block: 'end' });
  }

  /**
   * Shows the plans of this chat not on screen yet: after a turn, any new one (the turn started it); after
   * loading the chat, those still running (a finished one is in the history, or was before a reset).
   */
  async function findPlans({ unfinishedOnly = false } = {}) {
    const view = shown;
    const name = conversations.current();
    let list;
    try {
      list = await api(`/v1/plans?conversation=${encodeURIComponent(name)}`);
    } catch {
      return;
    }
    if (view !== shown) return;
    for (const p of list.plans) {
      if (knownPlans.has(p.id)) continue;
      if (unfinishedOnly && ['completed', 'dead', 'cancelled'].includes(p.state)) knownPlans.add(p.id);
      else addPlan(p.id, p.links);
    }
  }

  function addTurn(userText) {
    empty.hidden = true;
    const li = el('li', 'turn');
    const user = el('p', 'bubble user', userText);
    const answer = el('div', 'bubble june');
    const text = el('div', 'answer');
    const status = el('p', 'status', 'Sending…');
    answer.append(text, status);
    li.append(user, answer);
    turns.append(li);
    li.scrollIntoView({ block: 'end', behavior: 'smooth' });
    return { li, user, answer, text, status, view: shown };
  }

  function clearError(turn) {
    turn.answer.classList.remove('failed');
    for (const e of turn.answer.querySelectorAll('.error, .retry')) e.remove();
  }

  function showError(turn, err, retry) {
    clearError(turn);
    turn.status.textContent = '';
    turn.answer.classList.add('failed');
    const msg = el('p', 'error', plainError(err));
    msg.setAttribute('role', 'alert');
    if (err?.code) msg.dataset.code = err.code;
    turn.answer.append(msg);
    if (retry) {
      const button = el('button', 'retry quiet', 'Retry');
      button.type = 'button';
      button.addEventListener('click', () => {
        clearError(turn);
        turn.status.textContent = 'Sending…';
        retry();
      });
      turn.answer.append(button);
    }
    msg.scrollIntoView({ block: 'end' });
  }

  function audioPlayer(turn) {
    if (turn.audio) return turn.audio;
    const audio = el('audio', 'reply-audio');
    turn.audio = audio;
    audio.controls = true;
    audio.preload = 'auto';
    audio.setAttribute('aria-label', 'Voice reply');
    turn.answer.append(audio);
    return audio;
  }

  async function playReply(turn, url, autoplay = settings.autoplay()) {
    const audio = audioPlayer(turn);
    turn.audioUrl = url;
    try {
      audio.src = await audioUrl(url);
      if (autoplay) await audio.play().catch(() => undefined);
    } catch (err) {
      showError(turn, { message: `The voice reply could not be loaded. ${plainError(err)}` });
    }
  }

  /** A stored voice reply: fetched only when Read aloud asks for it, so a long history loads no audio. */
  function laterReply(turn, url) {
    turn.audioUrl = url;
  }

  const showText = (turn, text) => renderMarkdown(turn.text, text);

  /**
   * "Read aloud" under every answer: plays its voice reply when it has one, else has June synthesise the
   * answer's text (POST /v1/speech) and keeps that audio on the turn.
   */
  function readAloud(turn) {
    if (turn.answer.querySelector('.read-aloud')) return;
    const button = el('button', 'quiet small read-aloud', 'Read aloud');
    button.type = 'button';
    button.addEventListener('click', async () => {
      unlockAudio();
      if (turn.audio?.src) {
        turn.audio.currentTime = 0;
        await turn.audio.play().catch(() => undefined);
        return;
      }
      button.disabled = true;
      button.textContent = 'Preparing…';
      const audio = audioPlayer(turn);
      try {
        audio.src = turn.audioUrl
          ? await audioUrl(turn.audioUrl)
          : await speechUrl(turn.text.textContent ?? '');
        await audio.play().catch(() => undefined);
      } catch (err) {
        audio.remove();
        delete turn.audio;
        showError(turn, { message: `The answer could not be read aloud. ${plainError(err)}` });
      } finally {
        button.disabled = false;
        button.textContent = 'Read aloud';
      }
    });
    turn.answer.append(button);
  }

  /** The timing chart, folded behind a small "1.4 s" link. */
  function addTimings(turn, timings) {
    const chart = timings ? timingsChart(timings) : undefined;
    if (!chart) return;
    const fold = el('details', 'timings-fold');
    const summary = el('summary', undefined, formatMs(timings.totalMs ?? 0));
    summary.setAttribute('aria-label', `Took ${formatMs(timings.totalMs ?? 0)}; show the timings`);
    fold.append(summary, chart);
    turn.answer.append(fold);
  }

  /** After the answer: the whole reply in a player, autoplayed unless its sentences were already heard. */
  async function finishAudio(turn, player, url) {
    if (player) await player.settled();
    const streamed = player && player.played > 0 && !player.failed;
    if (player?.failed) player.stop();
    if (url) await playReply(turn, url, streamed ? false : settings.autoplay());
  }

  async function track(turn, taskId, links, resend) {
    const sentences = [];
    let finished = false;
    // the reply is played sentence by sentence as it is spoken, when this page may make sound
    const player =
      turn.speaks && settings.autoplay() && canStream()
        ? sentencePlayer({ onPlay: (n) => (turn.li.dataset.clipsPlayed = String(n)) })
        : undefined;
    const onEvent = (name, data) => {
      if (turn.view !== shown) return;
      switch (name) {
        case 'state':
          turn.status.textContent =
            data.state === 'queued'
              ? turn.li.previousElementSibling?.dataset.pending === 'true'
                ? 'Queued behind your previous message…'
                : 'Waiting for a worker…'
              : 'Working…';
          break;
        case 'active':
          turn.status.textContent = turn.voice ? 'Reading the audio…' : 'Thinking…';
          break;
        case 'stage':
          if (NEXT_LABEL[data.stage] && !(data.stage === 'llm' && !turn.speaks))
            turn.status.textContent = NEXT_LABEL[data.stage];
          break;
        case 'transcript':
          turn.user.textContent = data.text || '(nothing heard)';
          turn.user.classList.remove('pending');
          break;
        case 'sentence':
          sentences[data.index] = data.text;
          showText(turn, sentences.filter(Boolean).join(' '));
          turn.status.textContent = 'Answering…';
          break;
        case 'audio':
          if (data.url) player?.add(data.url);
          else player?.fail();
          break;
        case 'retract':
          // what was shown was the model thinking, not its answer
          player?.retract();
          sentences.length = 0;
          turn.text.replaceChildren();
          turn.status.textContent = 'Thinking…';
          break;
        case 'retrying':
          turn.status.textContent = 'Something went wrong; trying again…';
          break;
        case 'completed': {
          finished = true;
          clearError(turn);
          const r = data.result ?? {};
          showText(turn, r.text ?? sentences.filter(Boolean).join(' '));
          if (r.transcript !== undefined) turn.user.textContent = r.transcript || '(nothing heard)';
          turn.user.classList.remove('pending');
          turn.status.textContent = r.notes?.length ? r.notes.join(' ') : '';
          addTimings(turn, r.timings);
          void finishAudio(turn, player, data.audioUrl);
          readAloud(turn);
          announce.textContent = turn.text.textContent;
          void conversations.refresh();
          void findPlans(); // the model may have started a plan in this turn
          break;
        }
        case 'dead':
          finished = true;
          player?.stop();
          failed.set(taskId, { turn, links, resend });
          showError(turn, data.error ?? {}, () => void retryDead(taskId));
          break;
        case 'cancelled':
          finished = true;
          turn.status.textContent = 'Cancelled.';
          break;
      }
      turn.li.scrollIntoView({ block: 'end' });
    };
    turn.li.dataset.taskId = taskId;
    turn.li.dataset.pending = 'true';
    try {
      await follow(links.events, onEvent, {
        isDone: () => finished,
        onLink: (up) => {
          if (!up && !finished) turn.status.textContent = "Can't reach June; still waiting for the answer…";
        },
      });
    } catch (err) {
      showError(turn, err, resend);
    }
    delete turn.li.dataset.pending;
  }

  /** Dead tasks on screen, by id: a redrive (from here or the tasks view) follows the same bubble on. */
  const failed = new Map();

  function followAgain(taskId) {
    const f = failed.get(taskId);
    if (!f || f.turn.view !== shown) return;
    failed.delete(taskId);
    clearError(f.turn);
    f.turn.status.textContent = 'Trying again…';
    void track(f.turn, taskId, f.links, f.resend);
  }
  document.addEventListener('june:redriven', (e) => followAgain(e.detail.id));

  /** Retry: an admin runs the same task again (a redrive); anyone else sends the message again. */
  async function retryDead(taskId) {
    const f = failed.get(taskId);
    if (!f) return;
    if (!(await isAdmin())) {
      failed.delete(taskId);
      f.resend();
      return;
    }
    try {
      await api('/v1/admin/dead-letters/redrive', { method: 'POST', json: { id: taskId } });
      followAgain(taskId);
    } catch (err) {
      showError(f.turn, err, () => void retryDead(taskId));
    }
  }

  /**
   * Sends a message and follows its answer. The request is kept: when June cannot be reached it is sent
   * again once June is back (the Idempotency-Key makes that the same task if the first one did arrive).
   */
  async function submit(turn, request) {
    const key = newKey();
    let tries = 0;
    const attempt = async () => {
      const mine = ++tries;
      try {
        const res = await request({ 'idempotency-key': key });
        if (res.reply !== undefined) {
          // a chat command (/new, /voice always, …) answered at once
          showText(turn, res.reply);
          turn.status.textContent = '';
          void findPlans(); // /plan TASK answers at once, and its plan follows
          return;
        }
        turn.status.textContent = 'Waiting for a worker…';
        await track(turn, res.taskId, res.links, () => void submitAgain());
      } catch (err) {
        const e = err instanceof ApiError ? err : { message: String(err?.message ?? err) };
        if (e.code === UNREACHABLE) {
          turn.li.dataset.offline = 'true';
          showError(turn, e, () => void attempt());
          await backOnline();
          if (mine !== tries || !turn.answer.classList.contains('failed')) return; // retried by hand
          delete turn.li.dataset.offline;
          clearError(turn);
          turn.status.textContent = 'Sending again…';
          return attempt();
        }
        showError(turn, e, () => void attempt());
      }
    };
    // a failed answer is a new message: a new task with a new key
    const submitAgain = () => submit(turn, request);
    return attempt();
  }

  function sendText(text) {
    // `/code TASK` starts a coding run, shown with its steps (see code.js)
    const task = codeTask(text);
    if (task !== undefined) {
      empty.hidden = true;
      void startCodeRun(turns, { task, conversation: conversations.current() });
      return;
    }
    const turn = addTurn(text);
    turn.speaks = settings.speakText();
    const json = { text, conversation: conversations.current() };
    if (settings.speakText()) json.speak = true;
    void submit(turn, (headers) => api('/v1/messages', { method: 'POST', json, headers }));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    unlockAudio();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize();
    sendText(text);
  });
  for (const b of document.querySelectorAll('#chat-empty .example'))
    b.addEventListener('click', () => {
      unlockAudio();
      sendText(b.textContent);
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

  const mic = document.getElementById('mic');
  mic.addEventListener('pointerdown', unlockAudio);
  mic.addEventListener('keydown', unlockAudio);
  holdToTalk(mic, {
    onState(state, message) {
      micStatus.textContent = message;
      micStatus.dataset.state = state;
      document.body.classList.toggle('recording', state === 'recording');
      level.hidden = state !== 'recording';
    },
    onLevel(value) {
      level.value = value;
    },
    onRecorded(blob) {
      const turn = addTurn('Voice message…');
      turn.voice = true;
      turn.speaks = true;
      turn.user.classList.add('pending');
      const conversation = conversations.current();
      turn.status.textContent = `Uploading ${Math.ceil(blob.size / 1024)} KB…`;
      // the recording stays in memory until June has it, so a failed upload can be sent again
      void submit(turn, (headers) => {
        const body = new FormData();
        body.set('audio', blob, `recording.${extensionFor(blob.type)}`);
        body.set('conversation', conversation);
        return api('/v1/messages', { method: 'POST', form: body, headers });
      });
    },
  });

  /** Shows a stored turn: the question, the answer as Markdown, the timings, and its voice reply. */
  function showStored(t) {
    // a coding run is shown again from the run itself: its steps, its answer and the changes
    if (t.code && t.taskId) {
      empty.hidden = true;
      showCodeRun(turns, t);
      return;
    }
    // a plan is shown from the plan itself: its status, the plan, approval, the answer and files
    if (t.plan && t.taskId) {
      addPlan(t.taskId, t.plan.links, t.user);
      return;
    }
    const turn = addTurn(t.user ?? '');
    if (t.taskId) turn.li.dataset.taskId = t.taskId;
    if (t.reply !== undefined) showText(turn, t.reply);
    turn.status.textContent = '';
    addTimings(turn, t.timings);
    if (t.audio) laterReply(turn, t.audio);
    if (t.reply) readAloud(turn);
  }

  async function loadHistory(name) {
    const view = ++shown;
    knownPlans = new Set();
    turns.replaceChildren();
    empty.hidden = false;
    let history;
    try {
      history = await api(`/v1/conversations/${encodeURIComponent(name)}/messages`);
    } catch (err) {
      // a chat with no message yet has nothing to show
      if (err instanceof ApiError && err.code === 'not_found') {
        await findPlans({ unfinishedOnly: true });
        if (view === shown) turns.dataset.loaded = name;
      } else micStatus.textContent = `The earlier messages could not be loaded. ${plainError(err)}`;
      return;
    }
    await markdownReady();
    if (view !== shown) return;
    for (const t of history.turns) showStored(t);
    await findPlans({ unfinishedOnly: true });
    if (view !== shown) return;
    turns.lastElementChild?.scrollIntoView({ block: 'end' });
    turns.dataset.loaded = name;
  }

  const conversations = setupConversations({
    onSelect: (name) => void loadHistory(name),
    onError: (err) => (micStatus.textContent = plainError(err)),
  });

  /** The welcome's status line: whether June can answer now, and the models and voice it uses. */
  async function showReadiness() {
    const dot = document.getElementById('june-dot');
    const label = document.getElementById('june-state');
    const models = document.getElementById('june-models');
    let status;
    try {
      status = await api('/v1/status');
    } catch {
      status = undefined;
    }
    const ready = status?.ready;
    dot.dataset.state = status === undefined ? 'down' : ready ? 'ready' : 'starting';
    label.textContent =
      status === undefined ? "Can't reach June." : ready ? 'June is ready.' : 'June is starting up…';
    if (models && status)
      models.textContent = `Thinks with ${status.llm} · hears with ${status.stt} · speaks with ${status.tts}`;
    // asked again while June warms up or cannot be reached, as long as the welcome shows
    if (!ready && !empty.hidden) setTimeout(() => void showReadiness(), 5000);
  }

  return {
    /** Loads the list of chats and the chosen chat's history. */
    async start() {
      void showReadiness();
      const name = await conversations.start();
      await loadHistory(name);
    },
  };
}
