/**
 * The STT and VAD registry entries: sherpa-onnx archives on the k2-fsa "asr-models" release (no
 * invented checksums: none is published beside them), the added whisper quantisations, and Silero VAD
 * pinned to faster-whisper's asset with the SHA-256 of that exact file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODELS, findModel, modelBaseUrlFor, modelUrl, pathEnvVarFor } from './registry.js';
import { SILERO_VAD_MODEL_ID } from './registry-stt.js';

const SHARED_VAD = new URL('../../../shared/data/vad/silero_vad_v6.onnx', import.meta.url);
const release = { modelBaseUrl: 'https://huggingface.co', modelReleaseBaseUrl: 'https://github.com' };

describe('STT and VAD models in the registry', () => {
  it('points the sherpa-onnx STT models at the asr-models release, sizes approximate, no checksums', () => {
    const asr = MODELS.filter((m) => m.kind === 'sherpa-stt');
    expect(asr.map((m) => m.id)).toEqual(
      expect.arrayContaining([
        'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17',
        'sherpa-onnx-moonshine-base-en-int8',
        'sherpa-onnx-nemo-parakeet-tdt-0.6b-v2-int8',
      ]),
    );
    for (const m of asr) {
      const url = new URL(modelUrl(modelBaseUrlFor(release, m), m));
      expect(url.protocol).toBe('https:');
      expect(url.hostname).toBe('github.com');
      expect(url.pathname).toBe(`/k2-fsa/sherpa-onnx/releases/download/asr-models/${m.id}.tar.bz2`);
      expect(m.archiveDir).toBe(m.id);
      expect(m.sizeApproximate).toBe(true);
      expect(m.sha256).toBeUndefined();
      expect(m.sha1).toBeUndefined();
    }
    expect(pathEnvVarFor('sherpa-stt')).toBe('JUNE_STT_MODEL');
  });

  it('has the quantised whisper models that JUNE_STT_MODEL=auto picks, on whisper.cpp paths', () => {
    for (const id of ['small.en-q5_1', 'large-v3-turbo-q5_0']) {
      const m = findModel(id)!;
      expect(m.kind).toBe('whisper');
      expect(modelUrl(modelBaseUrlFor(release, m), m)).toBe(
        `https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-${id}.bin`,
      );
    }
  });

  it('downloads Silero VAD v6 from a pinned faster-whisper commit, checked by SHA-256 and exact size', () => {
    const m = findModel(SILERO_VAD_MODEL_ID)!;
    expect(m.kind).toBe('vad');
    expect(modelUrl(modelBaseUrlFor(release, m), m)).toMatch(
      /^https:\/\/github\.com\/SYSTRAN\/faster-whisper\/raw\/[0-9a-f]{12,40}\/faster_whisper\/assets\/silero_vad_v6\.onnx$/,
    );
    expect(m.sizeApproximate).toBeUndefined();
    expect(pathEnvVarFor('vad')).toBe('JUNE_VAD_MODEL');
    if (!fs.existsSync(SHARED_VAD))
      return console.warn('skipped the file check: ../shared/data is not present');
    const bytes = fs.readFileSync(SHARED_VAD);
    expect(bytes.length).toBe(m.sizeBytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.sha256);
  });
});
