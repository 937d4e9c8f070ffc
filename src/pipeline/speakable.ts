/**
 * Turns reply text into something a TTS engine should read aloud: markdown markup, code blocks, URLs and
 * emoji are not spoken as symbols. The text reply sent to the user keeps the original.
 */
export function toSpeakable(text: string): string {
  return (
    text
      // fenced code is not read out character by character
      .replace(/```[\s\S]*?(```|$)/g, ' (code omitted) ')
      .replace(/`([^`]*)`/g, '$1')
      // [label](url) → label; bare URLs → "a link"
      .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
      .replace(/https?:\/\/\S+/g, 'a link')
      // headings, emphasis, list bullets, quotes
      .replace(/^\s{0,3}#{1,6}\s+/gm, '')
      .replace(/(\*\*|__)(.*?)\1/g, '$2')
      .replace(/(^|\s)[*_]([^*_\n]+)[*_](?=\s|$|[.,!?])/g, '$1$2')
      .replace(/^\s*[-*+]\s+/gm, '')
      .replace(/^\s*>\s?/gm, '')
      // emoji and pictographs
      .replace(/[\p{Extended_Pictographic}\u{FE0F}\u{200D}]/gu, '')
      .replace(/[ \t]+/g, ' ')
      .trim()
  );
}
