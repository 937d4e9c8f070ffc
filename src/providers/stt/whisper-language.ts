/**
 * Maps June's language hints ("en", "en-US", "auto") onto the codes whisper.cpp knows.
 */

/** whisper.cpp's language table (g_lang), in its order. */
const WHISPER_LANGUAGES = new Set(
  (
    'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt ' +
    'la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ' +
    'ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue'
  ).split(' '),
);

/** BCP-47 / ISO codes that whisper spells differently. */
const ALIASES: Record<string, string> = { iw: 'he', nb: 'no', jv: 'jw' };

/**
 * "auto" for no hint or an explicit "auto"; the whisper code for a known language (region subtags are
 * dropped: "pt-BR" → "pt"); undefined for a code whisper does not know.
 */
export function whisperLanguage(hint: string | undefined): string | undefined {
  const tag = (hint ?? '').trim().toLowerCase();
  if (tag === '' || tag === 'auto') return 'auto';
  const primary = tag.split(/[-_]/)[0] ?? tag;
  const code = ALIASES[primary] ?? primary;
  return WHISPER_LANGUAGES.has(code) ? code : undefined;
}
