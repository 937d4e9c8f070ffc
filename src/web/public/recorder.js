/* global AudioContext, Blob, MediaRecorder, cancelAnimationFrame, clearInterval, navigator, performance,
   requestAnimationFrame, setInterval, window -- browser globals */
// Hold-to-talk or tap-to-toggle: records with MediaRecorder while the button is held, by pointer (mouse,
// touch, pen) or by keyboard (Space or Enter held on the focused button); a short tap instead starts a
// recording that the next tap sends. The microphone is released after each recording so the browser's
// recording indicator goes off. While recording, the status shows the time so far and a meter the level.

const MIN_MS = 400;
/** A press released sooner than this is a tap: recording goes on until the next tap. */
const TAP_MS = 350;

const clock = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** The best container the browser records: Opus in WebM or OGG (Chrome, Firefox), else MP4 (Safari). */
function pickMimeType() {
  for (const t of ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4']) {
    if (window.MediaRecorder?.isTypeSupported?.(t)) return t;
  }
  return '';
}

export function extensionFor(mimeType) {
  if (mimeType.includes('ogg')) return 'ogg';
  if (mimeType.includes('mp4')) return 'm4a';
  return 'webm';
}

/**
 * Wires `button` for hold-to-talk. `onRecorded(blob)` gets each recording; `onState(state, message)`
 * reports 'recording' | 'idle' | 'error' for the page to show.
 */
/** Reports the loudness of `stream` (0–1) every frame until the returned function is called. */
function watchLevel(stream, onLevel) {
  if (!onLevel || !window.AudioContext) return () => {};
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  let frame;
  const tick = () => {
    analyser.getByteTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += ((v - 128) / 128) ** 2;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    frame = requestAnimationFrame(tick);
  };
  void context.resume().catch(() => undefined);
  tick();
  return () => {
    cancelAnimationFrame(frame);
    onLevel(0);
    void context.close().catch(() => undefined);
  };
}

export function holdToTalk(button, { onRecorded, onState, onLevel }) {
  let recorder;
  let chunks = [];
  let startedAt = 0;
  let stream;
  let starting;
  let released = false;
  let pressedAt = 0;
  /** Recording after a tap: the next press sends it. */
  let toggled = false;
  let ticker;
  let stopLevel = () => {};

  const listening = () => {
    const hint = toggled ? 'tap again to send' : 'release to send';
    onState('recording', `Listening… ${clock(performance.now() - startedAt)} · ${hint}.`);
  };

  const stopTracks = () => {
    stream?.getTracks().forEach((t) => t.stop());
    stream = undefined;
  };

  async function start() {
    if (recorder || starting) return;
    released = false;
    if (!navigator.mediaDevices?.getUserMedia || !window.MediaRecorder) {
      onState('error', 'This browser cannot record audio here (recording needs HTTPS or localhost).');
      return;
    }
    starting = (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
        });
      } catch (err) {
        onState(
          'error',
          err?.name === 'NotAllowedError' ? 'Microphone access was denied.' : 'No microphone found.',
        );
        return;
      }
      if (released) return stopTracks(); // let go before the microphone opened
      const mimeType = pickMimeType();
      recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
      chunks = [];
      recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      recorder.onstop = () => {
        const blob = new Blob(chunks, { type: recorder.mimeType || mimeType || 'audio/webm' });
        const long = performance.now() - startedAt >= MIN_MS;
        recorder = undefined;
        toggled = false;
        clearInterval(ticker);
        stopLevel();
        stopTracks();
        button.setAttribute('aria-pressed', 'false');
        if (long && blob.size > 0) {
          onState('idle', '');
          onRecorded(blob);
        } else {
          onState('error', 'Hold the button while you speak.');
        }
      };
      recorder.start(250);
      startedAt = performance.now();
      button.setAttribute('aria-pressed', 'true');
      listening();
      ticker = setInterval(listening, 1000);
      stopLevel = watchLevel(stream, onLevel);
    })();
    await starting;
    starting = undefined;
  }

  async function stop() {
    released = true;
    toggled = false;
    if (starting) await starting;
    if (recorder && recorder.state !== 'inactive') recorder.stop();
  }

  /** A press: sends a tapped recording, or starts one. */
  function press() {
    if (toggled) {
      pressedAt = -1; // this press ends the recording; its release does nothing more
      void stop();
      return;
    }
    pressedAt = performance.now();
    void start();
  }

  /** A release: after a short tap the recording goes on; after a hold it is sent. */
  function release() {
    if (pressedAt < 0) return;
    const tap = performance.now() - pressedAt < TAP_MS;
    pressedAt = -1;
    if (tap && !released) {
      toggled = true;
      if (recorder) listening();
      return;
    }
    void stop();
  }

  button.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    button.setPointerCapture?.(e.pointerId);
    press();
  });
  button.addEventListener('pointerup', release);
  button.addEventListener('lostpointercapture', release);
  button.addEventListener('pointercancel', () => void stop());
  // a long press on phones would otherwise open the context menu
  button.addEventListener('contextmenu', (e) => e.preventDefault());
  button.addEventListener('keydown', (e) => {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault(); // no click, no form submit
    if (!e.repeat) press();
  });
  button.addEventListener('keyup', (e) => {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault();
    release();
  });
  button.addEventListener('blur', () => void stop());
}
