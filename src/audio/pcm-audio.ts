/**
 * The one shape of decoded audio in June, owned by the audio layer because decoding produces it; the
 * provider seams (providers/types.ts) re-export it, so engines and codecs share it without audio/
 * depending on providers/.
 */

/** Mono PCM audio as 32-bit floats in [-1, 1]. */
export interface PcmAudio {
  sampleRate: number;
  samples: Float32Array;
}
