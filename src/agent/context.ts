/**
 * Keeps the conversation within the model's context: long observations are cut (head and tail kept)
 * when they arrive, and when the whole conversation nears the context size the oldest observations are
 * replaced by a one-line note, newest kept. Tokens are estimated at four characters each.
 */
import type { ChatMessage } from '../providers/types.js';

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

export function truncateObservation(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const half = Math.floor(maxChars / 2);
  return `${text.slice(0, half)}\n[… ${text.length - 2 * half} characters elided …]\n${text.slice(-half)}`;
}

/** Elides old tool results in place until the estimate is under `budget`; returns how many it elided. */
export function fitContext(messages: ChatMessage[], budget: number, keepRecent = 4): number {
  let total = messages.reduce((n, m) => n + estimateTokens(m.content) + 8, 0);
  let elided = 0;
  const tools = messages.map((m, i) => (m.role === 'tool' ? i : -1)).filter((i) => i >= 0);
  for (const i of tools.slice(0, Math.max(0, tools.length - keepRecent))) {
    if (total <= budget) break;
    const m = messages[i]!;
    if (m.content.startsWith('[observation elided')) continue;
    const note = `[observation elided to save context: ${m.content.length} characters]`;
    total -= estimateTokens(m.content) - estimateTokens(note);
    m.content = note;
    elided++;
  }
  return elided;
}
