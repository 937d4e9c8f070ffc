/**
 * A short title for a conversation, asked of the language model after its first answer: one cheap
 * request (a few words out, no history), made after the turn and never on its path. The model's answer is
 * cleaned (its reasoning dropped, one line, no quotes or "Title:" label, at most a few words); an empty or
 * unusable answer gives no title, and the conversation keeps being called by its first message.
 */
import { collectChat, type LanguageModel } from '../providers/types.js';

export const TITLE_PROMPT =
  'Write a short title (2 to 6 words) for a conversation that starts with the user message below. ' +
  'Answer with the title only: no quotes, no punctuation at the end.';

const MAX_WORDS = 8;
const MAX_CHARS = 60;

/** The model's answer as a title, or undefined when nothing usable is left. */
export function cleanTitle(raw: string): string | undefined {
  const line = raw
    .replace(/<think>[\s\S]*?<\/think>/gi, '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!line) return undefined;
  let t = line
    .replace(/^(\*\*)?title(\*\*)?\s*:\s*/i, '')
    .replace(/^[#*_"'“”‘’«»`\s]+|[*_"'“”‘’«»`\s]+$/g, '')
    .replace(/[.!?,;:]+$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const words = t.split(' ');
  if (words.length > MAX_WORDS) t = words.slice(0, MAX_WORDS).join(' ');
  if (t.length > MAX_CHARS) t = `${t.slice(0, MAX_CHARS).replace(/\s+\S*$/, '')}…`;
  // control characters never make a title
  return t.length > 0 && !/\p{Cc}/u.test(t) ? t : undefined;
}

/** Asks `llm` for a title for a conversation that began with `firstMessage`. */
export async function askTitle(
  llm: LanguageModel,
  firstMessage: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const result = await collectChat(
    llm.chatStream({
      messages: [
        { role: 'system', content: TITLE_PROMPT },
        { role: 'user', content: firstMessage.slice(0, 2000) },
      ],
      temperature: 0.2,
      // room for a thinking model's reasoning before its few words
      maxTokens: 512,
      ...(signal ? { signal } : {}),
    }),
  );
  return cleanTitle(result.text);
}
