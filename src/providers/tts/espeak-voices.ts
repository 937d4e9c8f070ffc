/**
 * Picks an espeak-ng voice for a language code. espeak-ng names most voices by their language code,
 * so only the codes whose default would be wrong or missing are listed; anything else is used as is
 * when espeak-ng has such a voice, and falls back to US English otherwise.
 */

export const DEFAULT_ESPEAK_VOICE = 'en-us';

/** Language code (lower case) → espeak-ng voice, where the code alone does not name the right voice. */
const LANGUAGE_VOICES: Record<string, string> = {
  en: 'en-us',
  'en-au': 'en-gb',
  'en-ca': 'en-us',
  fr: 'fr-fr',
  'fr-ca': 'fr-fr',
  'es-mx': 'es-419',
  'es-us': 'es-419',
  no: 'nb',
  nn: 'nb',
  zh: 'cmn',
  'zh-cn': 'cmn',
  'zh-tw': 'cmn',
  'zh-hk': 'yue',
  iw: 'he',
  in: 'id',
};

export interface VoiceChoice {
  voice: string;
  /** True when the language had no voice and US English was used instead. */
  fallback: boolean;
}

/**
 * The voice for `language` ("fr", "pt-BR", "en_GB", "auto" or undefined), given the voices espeak-ng
 * has installed (language codes from `espeak-ng --voices`, lower case).
 */
export function espeakVoiceFor(language: string | undefined, installed: ReadonlySet<string>): VoiceChoice {
  if (!language || language === 'auto') return { voice: DEFAULT_ESPEAK_VOICE, fallback: false };
  const code = language.trim().toLowerCase().replace(/_/g, '-');
  const primary = code.split('-')[0] ?? code;
  for (const candidate of [code, primary]) {
    const mapped = LANGUAGE_VOICES[candidate] ?? candidate;
    if (installed.has(mapped)) return { voice: mapped, fallback: false };
  }
  return { voice: DEFAULT_ESPEAK_VOICE, fallback: true };
}

/** Parses `espeak-ng --voices`: the language column of each row, lower case. */
export function parseEspeakVoiceList(output: string): Set<string> {
  const languages = new Set<string>();
  for (const line of output.split('\n').slice(1)) {
    const language = line.trim().split(/\s+/)[1];
    if (language) languages.add(language.toLowerCase());
  }
  return languages;
}
