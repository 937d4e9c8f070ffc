/** June's audio toolkit: decode what users send, encode what June says, and tell speech from silence. */
export { decodeAudio, type DecodeOptions, type DecodedAudio } from './decode.js';
export { encodeAudio, mimeTypeFor, type EncodeFormat, type EncodeOptions } from './encode.js';
export { preloadOpusCodec } from './opus-codec.js';
export { probeAudio, type AudioProbe } from './probe.js';
export { detectSpeech, type SpeechDetection, type SpeechDetectionOptions } from './vad.js';
export { pcmToWav, wavToPcm, isWav } from './wav.js';
export { audioDurationSec, concatPcm, resamplePcm, STT_SAMPLE_RATE } from './pcm.js';
export {
  EnergySpeechGate,
  SileroSpeechGate,
  type GateDecision,
  type SpeechGate,
  type SileroGateOptions,
} from './vad-gate.js';
export { SileroVad, speechSegments, trimToSpeech, type SileroDetection } from './vad-silero.js';
