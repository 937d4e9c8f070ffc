/* global document -- browser globals */
// Per-turn stage timings as a small horizontal bar chart. Bars share one scale (the turn's total), so a
// glance shows where the time went; TTS overlaps the LLM because sentences are spoken while it streams.

const STAGES = [
  ['decode', 'Decode', (t) => t.decodeMs],
  ['stt', 'STT', (t) => (t.sttMs === undefined ? undefined : t.sttMs + (t.vadMs ?? 0))],
  ['llm', 'LLM', (t) => t.llmTotalMs],
  ['tts', 'TTS', (t) => t.ttsTotalMs],
  ['encode', 'Encode', (t) => t.encodeMs],
];

export function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

/** A <figure> with one bar per stage that ran, or undefined when no stage did. */
export function timingsChart(timings) {
  const rows = STAGES.map(([key, label, get]) => [key, label, get(timings)]).filter(
    ([, , v]) => v !== undefined,
  );
  if (rows.length === 0) return undefined;
  const scale = Math.max(timings.totalMs ?? 0, ...rows.map(([, , v]) => v), 1);
  const figure = document.createElement('figure');
  figure.className = 'timings';
  const caption = document.createElement('figcaption');
  caption.textContent = `Took ${formatMs(timings.totalMs ?? 0)}`;
  if (timings.timeToFirstAudioMs !== undefined)
    caption.textContent += ` · first audio ${formatMs(timings.timeToFirstAudioMs)}`;
  figure.append(caption);
  const list = document.createElement('dl');
  for (const [key, label, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    const track = document.createElement('span');
    track.className = 'track';
    const bar = document.createElement('span');
    bar.className = `bar bar-${key}`;
    bar.style.width = `${Math.max(1, (value / scale) * 100)}%`;
    track.append(bar);
    const text = document.createElement('span');
    text.className = 'ms';
    text.textContent = formatMs(value);
    dd.append(track, text);
    list.append(dt, dd);
  }
  figure.append(list);
  return figure;
}
