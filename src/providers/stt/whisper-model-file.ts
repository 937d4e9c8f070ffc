/**
 * Reads the header of a whisper.cpp ggml model file before whisper.cpp does, so that a missing, wrong or
 * damaged file fails with a message saying what is wrong (whisper.cpp only reports "failed to
 * initialize"), and so June knows whether the model is English-only without loading it.
 */
import { open } from 'node:fs/promises';
import { ModelError } from '../../util/errors.js';

export interface WhisperModelHeader {
  nVocab: number;
  nAudioState: number;
  nAudioLayer: number;
  nTextLayer: number;
  nMels: number;
  /** Multilingual models can detect the language; ".en" models only ever produce English. */
  multilingual: boolean;
}

/** "ggml" as whisper.cpp reads it: a little-endian uint32. */
const GGML_MAGIC = 0x67676d6c;
const HEADER_BYTES = 4 + 11 * 4;
/** whisper.cpp's rule: 51864 tokens is English-only, 51865 and up (51866 for large-v3) multilingual. */
const ENGLISH_ONLY_VOCAB = 51864;

export async function readWhisperModelHeader(path: string): Promise<WhisperModelHeader> {
  const head = Buffer.alloc(HEADER_BYTES);
  let bytesRead: number;
  try {
    const file = await open(path, 'r');
    try {
      ({ bytesRead } = await file.read(head, 0, HEADER_BYTES, 0));
    } finally {
      await file.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ModelError('model_not_found', `Whisper model file not found: ${path}`, err);
    }
    if (code === 'EISDIR') {
      throw new ModelError(
        'model_invalid',
        `Whisper model path ${path} is a directory, not a model file`,
        err,
      );
    }
    throw new ModelError(
      'model_invalid',
      `Whisper model file ${path} cannot be read (${code ?? String(err)})`,
      err,
    );
  }

  const magic = bytesRead >= 4 ? head.readUInt32LE(0) : 0;
  if (magic !== GGML_MAGIC) {
    const isGguf = bytesRead >= 4 && head.subarray(0, 4).toString('latin1') === 'GGUF';
    throw new ModelError(
      'model_invalid',
      isGguf
        ? `${path} is a GGUF file; whisper needs a whisper.cpp ggml model such as ggml-base.en.bin`
        : `${path} is not a whisper.cpp model (it does not start with the ggml header); the file may be damaged — delete it and download it again`,
    );
  }
  if (bytesRead < HEADER_BYTES) {
    throw new ModelError('model_invalid', `Whisper model file ${path} is truncated (${bytesRead} bytes)`);
  }

  // n_vocab, then n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
  // n_text_head, n_text_layer, n_mels: every one of the latter must be a small positive number
  const fields = Array.from({ length: 10 }, (_, i) => head.readInt32LE(4 + 4 * i));
  const field = (i: number) => fields[i]!;
  const [nVocab, nAudioState, nAudioLayer, nTextState, nTextLayer, nMels] = [0, 2, 4, 6, 8, 9].map(field) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const plausible =
    nVocab >= ENGLISH_ONLY_VOCAB &&
    nVocab < 1_000_000 &&
    fields.slice(1).every((n) => n > 0 && n <= 1 << 20) &&
    nAudioState === nTextState;
  if (!plausible) {
    throw new ModelError(
      'model_invalid',
      `Whisper model file ${path} has an invalid header; the file may be damaged`,
    );
  }
  return {
    nVocab,
    nAudioState,
    nAudioLayer,
    nTextLayer,
    nMels,
    multilingual: nVocab > ENGLISH_ONLY_VOCAB,
  };
}
