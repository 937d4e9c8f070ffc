/**
 * Which sherpa-onnx voice speaks which language, when JUNE_TTS_SHERPA_MODEL is "auto".
 *
 * Kokoro v1.0 is the default: the most natural of the voices that run on a CPU, for English (and
 * Chinese, through its lexicon). Languages Kokoro does not speak well through sherpa-onnx get a Piper
 * voice. A language with neither is left to espeak-ng, which knows about a hundred.
 */

export const DEFAULT_SHERPA_VOICE = 'kokoro-multi-lang-v1_0';

/** Primary language code → registry id of its voice. */
const LANGUAGE_VOICES: Record<string, string> = {
  en: DEFAULT_SHERPA_VOICE,
  zh: DEFAULT_SHERPA_VOICE,
  de: 'vits-piper-de_DE-thorsten-medium',
  fr: 'vits-piper-fr_FR-siwis-medium',
  es: 'vits-piper-es_ES-davefx-medium',
  pt: 'vits-piper-pt_BR-faber-medium',
};

/**
 * The voice for `language` ("en", "fr-CA", "pt_BR", "auto", undefined): the configured model when it is
 * not "auto", else the language's voice, or undefined when there is none (espeak-ng speaks).
 */
export function sherpaVoiceFor(language: string | undefined, configured = 'auto'): string | undefined {
  if (configured !== 'auto') return configured;
  if (!language || language === 'auto') return DEFAULT_SHERPA_VOICE;
  const primary = language.trim().toLowerCase().replace(/_/g, '-').split('-')[0] ?? '';
  return LANGUAGE_VOICES[primary];
}

/** Every language code that has a neural voice under "auto" (for docs and `june doctor`). */
export function sherpaLanguages(): string[] {
  return Object.keys(LANGUAGE_VOICES);
}
