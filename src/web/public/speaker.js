/* global Audio, window -- browser globals */
// Plays a reply sentence by sentence while it is still being written: each clip the task announces (an
// `audio` event) is fetched and decoded at once, then scheduled with WebAudio right after the one before,
// so the first sentence is heard before the rest of the reply is synthesised or encoded. Replies share
// one timeline, so two answers never talk over each other. Browsers only let a page make sound after a
// user gesture: `unlockAudio()` is called from the send and microphone handlers.

import { audioBytes } from './api.js';

let context;
/** Context time at which the next clip may start. */
let nextAt = 0;

/** Opus where the browser decodes it (Chromium, Firefox), WAV elsewhere (older Safari). */
const format = () => {
  try {
    return new Audio().canPlayType('audio/ogg; codecs="opus"') ? 'ogg' : 'wav';
  } catch {
    return 'wav';
  }
};

/** Makes (or wakes) the audio context; call it from a click or key press. */
export function unlockAudio() {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context) return;
  context ??= new Context();
  if (context.state === 'suspended') void context.resume().catch(() => undefined);
}

/** Whether clips can be played here (a context exists: the user has sent something from this page). */
export const canStream = () => context !== undefined;

/**
 * A player for one reply. `add(url)` queues a clip; `retract()` stops and forgets every clip so far (the
 * model was thinking, not answering); `onPlay(count)` is told each time a clip starts.
 */
export function sentencePlayer({ onPlay = () => {} } = {}) {
  let chain = Promise.resolve();
  let epoch = 0;
  let sources = [];
  let played = 0;
  let failed = false;
  const ext = format();

  const stopAll = () => {
    for (const s of sources) {
      try {
        s.stop();
      } catch {
        // not started yet
      }
    }
    sources = [];
    nextAt = 0;
  };

  return {
    add(url) {
      if (!context || failed) return;
      const mine = epoch;
      // fetched and decoded at once; only the scheduling waits for the clip before
      const decoded = audioBytes(`${url}?format=${ext}`).then((bytes) => context.decodeAudioData(bytes));
      decoded.catch(() => undefined);
      chain = chain.then(async () => {
        let buffer;
        try {
          buffer = await decoded;
        } catch {
          failed = true;
          return;
        }
        if (mine !== epoch) return;
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.connect(context.destination);
        const at = Math.max(context.currentTime + 0.05, nextAt);
        source.start(at);
        nextAt = at + buffer.duration;
        sources.push(source);
        source.addEventListener('ended', () => (sources = sources.filter((s) => s !== source)));
        onPlay(++played);
      });
    },
    /** A clip could not be made or played: the caller falls back to the whole reply. */
    fail() {
      failed = true;
    },
    retract() {
      epoch++;
      stopAll();
    },
    stop() {
      epoch++;
      stopAll();
    },
    /** Resolves once every clip added so far is scheduled; then `played` and `failed` are final. */
    settled: () => chain,
    get played() {
      return played;
    },
    get failed() {
      return failed;
    },
  };
}
