/**
 * Makes text safe to hand to a speech engine: markup-looking tags are removed (engines read "<break/>"
 * out as "less than break slash"), the few HTML entities that reach us are decoded, and control
 * characters that could confuse an engine's input parser are dropped. Everything else — quotes,
 * accents, emoji, other scripts — is passed on unchanged for the engine to pronounce.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function cleanSpeechText(text: string): string {
  return (
    text
      // SSML/HTML-ish tags: "<speak>", "</p>", "<break time='1s'/>". A lone "<" (as in "3 < 4") stays.
      .replace(/<\/?[A-Za-z][\w:-]*(\s[^<>]*)?\/?>/g, ' ')
      .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
        if (name[0] === '#') {
          const code =
            name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
          return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
        }
        return ENTITIES[name.toLowerCase()] ?? whole;
      })
      // C0/C1 controls (NUL ends espeak's input early) become spaces; newlines too, so one call is one utterance.
      .replace(/\p{Cc}/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** True when nothing pronounceable is left: only spaces and punctuation. */
export function isUnspeakable(cleaned: string): boolean {
  return !/[\p{L}\p{N}\p{Extended_Pictographic}]/u.test(cleaned);
}
