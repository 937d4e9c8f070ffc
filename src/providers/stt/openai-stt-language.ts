/**
 * Language codes for OpenAI-compatible transcription servers. Requests take ISO-639-1 codes; answers
 * (verbose_json) name the language in English words ("english") on OpenAI and faster-whisper servers,
 * and as codes on others, so both are read back as codes.
 */

// Whisper's language table: codes and names in the same order.
const CODES = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt ' +
  'la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ' +
  'ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue'
).split(' ');
const NAMES = (
  'english,chinese,german,spanish,russian,korean,french,japanese,portuguese,turkish,polish,catalan,dutch,' +
  'arabic,swedish,italian,indonesian,hindi,finnish,vietnamese,hebrew,ukrainian,greek,malay,czech,romanian,' +
  'danish,hungarian,tamil,norwegian,thai,urdu,croatian,bulgarian,lithuanian,latin,maori,malayalam,welsh,' +
  'slovak,telugu,persian,latvian,bengali,serbian,azerbaijani,slovenian,kannada,estonian,macedonian,breton,' +
  'basque,icelandic,armenian,nepali,mongolian,bosnian,kazakh,albanian,swahili,galician,marathi,punjabi,' +
  'sinhala,khmer,shona,yoruba,somali,afrikaans,occitan,georgian,belarusian,tajik,sindhi,gujarati,amharic,' +
  'yiddish,lao,uzbek,faroese,haitian creole,pashto,turkmen,nynorsk,maltese,sanskrit,luxembourgish,myanmar,' +
  'tibetan,tagalog,malagasy,assamese,tatar,hawaiian,lingala,hausa,bashkir,javanese,sundanese,cantonese'
).split(',');
const CODE_BY_NAME = new Map(NAMES.map((name, i) => [name, CODES[i]!]));

/** The `language` form field for a hint: "en-US" → "en"; undefined for "auto" or nothing. */
export function requestLanguage(hint: string | undefined): string | undefined {
  const tag = (hint ?? '').trim().toLowerCase();
  if (tag === '' || tag === 'auto') return undefined;
  return tag.split(/[-_]/)[0];
}

/** A language as a server reported it ("english", "English", "en", "en-US") → "en"; else undefined. */
export function languageCode(reported: unknown): string | undefined {
  if (typeof reported !== 'string') return undefined;
  const value = reported.trim().toLowerCase();
  if (value === '') return undefined;
  const byName = CODE_BY_NAME.get(value);
  if (byName) return byName;
  const primary = value.split(/[-_]/)[0]!;
  return /^[a-z]{2,3}$/.test(primary) ? primary : undefined;
}
