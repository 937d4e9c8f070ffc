import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LLM_MODEL_ID,
  MODELS,
  findModel,
  modelBaseUrlFor,
  modelUrl,
  pathEnvVarFor,
} from './registry.js';

describe('model registry', () => {
  it('has unique ids and file names, well-formed checksums and sizes', () => {
    expect(new Set(MODELS.map((m) => m.id)).size).toBe(MODELS.length);
    expect(new Set(MODELS.map((m) => m.file)).size).toBe(MODELS.length);
    for (const m of MODELS) {
      expect(m.url.startsWith('/') && m.url.endsWith('/' + m.file)).toBe(true);
      expect(m.sizeBytes).toBeGreaterThan(m.kind === 'vad' ? 1_000_000 : 10_000_000);
      if (m.sha256 !== undefined) expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (m.sha1 !== undefined) expect(m.sha1).toMatch(/^[0-9a-f]{40}$/);
      expect(m.license).not.toBe('');
    }
  });

  it('lists the whisper models the STT provider needs and a GGUF default for the embedded LLM', () => {
    for (const id of ['tiny.en', 'base.en', 'small.en', 'base']) expect(findModel(id)?.kind).toBe('whisper');
    expect(findModel(DEFAULT_LLM_MODEL_ID)?.kind).toBe('gguf');
    expect(findModel('ggml-base.en.bin')?.id).toBe('base.en');
    expect(findModel('nope')).toBeUndefined();
  });

  it('builds URLs under the configured base, with or without a trailing slash', () => {
    const base = findModel('base.en')!;
    expect(modelUrl('https://huggingface.co', base)).toBe(
      'https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin',
    );
    expect(modelUrl('http://mirror.lan/hf/', base)).toBe(
      'http://mirror.lan/hf/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin',
    );
  });

  it('names the config variables that point at a local copy', () => {
    expect(pathEnvVarFor('whisper')).toBe('JUNE_STT_MODEL');
    expect(pathEnvVarFor('gguf')).toBe('JUNE_LLM_MODEL_PATH');
  });

  it('points the sherpa-onnx voices at the k2-fsa release archives, without invented checksums', () => {
    const config = { modelBaseUrl: 'https://huggingface.co', modelReleaseBaseUrl: 'https://github.com' };
    const voices = MODELS.filter((m) => m.kind === 'sherpa-tts');
    for (const family of ['kokoro-', 'vits-piper-', 'matcha-', 'vocos-'])
      expect(
        voices.some((m) => m.id.startsWith(family)),
        family,
      ).toBe(true);
    for (const m of voices) {
      const url = new URL(modelUrl(modelBaseUrlFor(config, m), m));
      expect(url.protocol).toBe('https:');
      expect(url.host).toBe('github.com');
      expect(url.pathname).toMatch(
        /^\/k2-fsa\/sherpa-onnx\/releases\/download\/(tts-models\/[\w.-]+\.tar\.bz2|vocoder-models\/[\w.-]+\.onnx)$/,
      );
      if (m.archiveDir) expect(m.file).toBe(`${m.archiveDir}.tar.bz2`);
      // No checksum is published beside these archives; none may be made up.
      expect(m.sha256 ?? m.sha1).toBeUndefined();
      expect(m.sizeApproximate).toBe(true);
    }
    expect(pathEnvVarFor('sherpa-tts')).toBe('JUNE_TTS_SHERPA_MODEL');
  });
});
