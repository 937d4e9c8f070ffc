/* global Blob, MediaRecorder, navigator, performance, window -- browser globals */
// Hold-to-talk: records with MediaRecorder while the button is held, by pointer (mouse, touch, pen) or by
// keyboard (Space or Enter held on the focused button). The microphone is released after each recording so
// the browser's recording indicator goes off.

const MIN_MS = 400;

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
export function holdToTalk(button, { onRecorded, onState }) {
  let recorder;
  let chunks = [];
  let startedAt = 0;
  let stream;
  let starting;
  let released = false;

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
      onState('recording', 'Listening… release to send.');
    })();
    await starting;
    starting = undefined;
  }

  async function stop() {
    released = true;
    if (starting) await starting;
    if (recorder && recorder.state !== 'inactive') recorder.stop();
  }

  button.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    button.setPointerCapture?.(e.pointerId);
    void start();
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture'])
    button.addEventListener(type, () => void stop());
  // a long press on phones would otherwise open the context menu
  button.addEventListener('contextmenu', (e) => e.preventDefault());
  button.addEventListener('keydown', (e) => {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault(); // no click, no form submit
    if (!e.repeat) void start();
  });
  button.addEventListener('keyup', (e) => {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault();
    void stop();
  });
  button.addEventListener('blur', () => void stop());
}
