/* global TextDecoderStream, URL, fetch, localStorage, setTimeout -- browser globals */
// Talking to June's HTTP API: the bearer token kept in localStorage, JSON errors with their stable codes,
// and Server-Sent Events read through fetch (EventSource cannot send an Authorization header).

const TOKEN_KEY = 'june.token';

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function authHeaders() {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function failure(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  return new ApiError(
    res.status,
    body?.error?.code ?? `http_${res.status}`,
    body?.error?.message ?? res.statusText,
  );
}

/** The error for a request that never reached June (the network, or the server is down). */
export const UNREACHABLE = 'unreachable';

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new ApiError(0, UNREACHABLE, "Can't reach June.");
  }
}

/** JSON in (json) or a form (form), JSON out; throws ApiError (code UNREACHABLE when offline). */
export async function api(path, { method = 'GET', json, form, signal, headers: extra } = {}) {
  const headers = { ...authHeaders(), ...extra };
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const res = await send(path, { method, headers, body, signal });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** Fetches audio with the token and returns a blob: URL an <audio> element can play. */
export async function audioUrl(path) {
  const res = await send(path, { headers: authHeaders() });
  if (!res.ok) throw await failure(res);
  return URL.createObjectURL(await res.blob());
}

/** Has June speak `text` (POST /v1/speech) and returns a blob: URL of the audio. */
export async function speechUrl(text) {
  const headers = { ...authHeaders(), 'content-type': 'application/json' };
  const res = await send('/v1/speech', { method: 'POST', headers, body: JSON.stringify({ text }) });
  if (!res.ok) throw await failure(res);
  return URL.createObjectURL(await res.blob());
}

/** Fetches audio with the token as bytes (for WebAudio's decodeAudioData). */
export async function audioBytes(path) {
  const res = await send(path, { headers: authHeaders() });
  if (!res.ok) throw await failure(res);
  return res.arrayBuffer();
}

/** Reads an event stream, calling onEvent(name, data) per event, until it ends or `signal` aborts. */
export async function readEvents(path, onEvent, signal, onOpen = () => {}) {
  const res = await send(path, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal });
  if (!res.ok) throw await failure(res);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}

/**
 * Follows an event stream, reconnecting after network errors (the server replays what was missed), until
 * `isDone()` says the stream's work is over or `signal` aborts. `onLink(up)` tells whether the stream is
 * connected: true once it answers, false when it drops.
 */
export async function follow(path, onEvent, { signal, isDone = () => false, onLink = () => {} } = {}) {
  let delay = 500;
  while (!signal?.aborted && !isDone()) {
    try {
      await readEvents(path, onEvent, signal, () => onLink(true));
      delay = 500;
      if (isDone()) return;
      onLink(false);
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof ApiError && err.status > 0 && err.status < 500) throw err;
      onLink(false);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 8000);
  }
}
