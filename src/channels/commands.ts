/**
 * Chat commands, answered at once without the LLM: /start, /help, /new, /voice auto|always|never, /lang.
 */
import type { ConversationRef, ConversationStore, VoiceMode } from './store/conversations.js';

export interface CommandInfo {
  command: string;
  description: string;
}

export const COMMANDS: CommandInfo[] = [
  { command: 'start', description: 'Say hello and see what I can do' },
  { command: 'help', description: 'How to talk to me' },
  { command: 'new', description: 'Start a new conversation' },
  { command: 'voice', description: 'Voice replies: auto, always or never' },
  { command: 'lang', description: 'Set your language (e.g. /lang fr), or /lang auto' },
];

export const HELP_TEXT = [
  "I'm June, your voice assistant. Send me a voice message or type, and I'll answer.",
  '/new starts a new conversation.',
  '/voice auto|always|never chooses when I answer with a voice note (auto: when you spoke).',
  '/lang en|fr|de|… sets your language; /lang auto detects it.',
].join('\n');

/** "/voice@JuneBot always" → { name: 'voice', args: ['always'] }; undefined for non-commands. */
export function parseCommand(text: string | undefined): { name: string; args: string[] } | undefined {
  const m = /^\/([A-Za-z0-9_]+)(?:@\S+)?(?:\s+(.*))?$/s.exec(text?.trim() ?? '');
  if (!m) return undefined;
  return { name: m[1]!.toLowerCase(), args: (m[2] ?? '').split(/\s+/).filter(Boolean) };
}

/** Runs a command; returns the answer text, or undefined when it is not one of June's commands. */
export function runCommand(
  name: string,
  args: string[],
  ref: ConversationRef,
  store: ConversationStore,
): string | undefined {
  switch (name) {
    case 'start':
    case 'help':
      return HELP_TEXT;
    case 'new':
      store.reset(ref);
      return 'Started a new conversation. What would you like to talk about?';
    case 'voice': {
      const mode = args[0]?.toLowerCase();
      if (mode === 'auto' || mode === 'always' || mode === 'never') {
        store.setVoiceMode(ref, mode as VoiceMode);
        return `Voice replies: ${mode}.`;
      }
      const current = store.prefs(ref).voiceMode ?? 'auto';
      return `Voice replies are "${current}". Use /voice auto, /voice always or /voice never.`;
    }
    case 'lang': {
      const lang = args[0]?.toLowerCase();
      if (!lang)
        return `Language: ${store.prefs(ref).language ?? 'auto'}. Use /lang en, /lang fr, … or /lang auto.`;
      if (lang === 'auto') {
        store.setLanguage(ref, undefined);
        return 'I will detect your language.';
      }
      if (!/^[a-z]{2,3}(-[a-z0-9]{2,8})?$/.test(lang))
        return `"${args[0]}" is not a language code. Try /lang en or /lang fr.`;
      store.setLanguage(ref, lang);
      return `Language set to ${lang}.`;
    }
    default:
      return undefined;
  }
}
