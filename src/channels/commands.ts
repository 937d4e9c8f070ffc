/**
 * Chat commands, answered at once without the LLM: /start, /help, /new, /voice auto|always|never, /lang,
 * /code TASK, /plan TASK (a multi-step task), /go (approve the plan shown) and /cancel (coding tasks and
 * plans).
 * One table holds each command's menu entry and its answer; the gateway looks commands up in it.
 */
import type { ConversationRef, ConversationStore, VoiceMode } from './store/conversations.js';
import type { InboundMessage } from './types.js';

export interface CommandInfo {
  command: string;
  description: string;
}

export interface CommandContext {
  args: string[];
  /** The message that holds the command (who sent it, where, what else it says). */
  message: InboundMessage;
  ref: ConversationRef;
  conversations: ConversationStore;
  /**
   * Starts a coding task for this message (the gateway provides it): the text after the command, whole;
   * answers what the user is told.
   */
  startCode?: (task: string) => Promise<string>;
  /** Cancels this user's unfinished coding tasks and plans in this chat (the gateway provides it). */
  cancelCode?: () => Promise<string>;
  /** Starts a multi-step task (a plan) for this message: the text after /plan; answers what to tell. */
  startPlan?: (request: string) => Promise<string>;
  /** Approves a plan waiting for this user: the given task id (the button) or the newest in the chat. */
  approvePlan?: (taskId?: string) => Promise<string>;
}

/** A chat command: its menu entry and what it answers. Adding a command is adding one of these. */
export interface ChatCommand extends CommandInfo {
  run(ctx: CommandContext): string | Promise<string>;
}

export const HELP_TEXT = [
  "I'm June, your voice assistant. Send me a voice message or type, and I'll answer.",
  '/new starts a new conversation.',
  '/voice auto|always|never chooses when I answer with a voice note (auto: when you spoke).',
  '/lang en|fr|de|… sets your language; /lang auto detects it.',
  '/code TASK does a coding task in a sandbox and sends back a summary and the changes.',
  '/plan TASK plans a task of several steps (web, code, writing), shows the plan when it is big, and runs it.',
  '/go approves the plan I showed you last.',
  '/cancel stops your running coding task or plan.',
].join('\n');

/** "/voice@JuneBot always" → { name: 'voice', args: ['always'] }; undefined for non-commands. */
export function parseCommand(text: string | undefined): { name: string; args: string[] } | undefined {
  const m = /^\/([A-Za-z0-9_]+)(?:@\S+)?(?:\s+(.*))?$/s.exec(text?.trim() ?? '');
  if (!m) return undefined;
  return { name: m[1]!.toLowerCase(), args: (m[2] ?? '').split(/\s+/).filter(Boolean) };
}

const HELP: ChatCommand['run'] = () => HELP_TEXT;

export const CHAT_COMMANDS: readonly ChatCommand[] = [
  { command: 'start', description: 'Say hello and see what I can do', run: HELP },
  { command: 'help', description: 'How to talk to me', run: HELP },
  {
    command: 'new',
    description: 'Start a new conversation',
    run: ({ ref, conversations }) => {
      conversations.reset(ref);
      return 'Started a new conversation. What would you like to talk about?';
    },
  },
  {
    command: 'voice',
    description: 'Voice replies: auto, always or never',
    run: ({ args, ref, conversations }) => {
      const mode = args[0]?.toLowerCase();
      if (mode === 'auto' || mode === 'always' || mode === 'never') {
        conversations.setVoiceMode(ref, mode as VoiceMode);
        return `Voice replies: ${mode}.`;
      }
      const current = conversations.prefs(ref).voiceMode ?? 'auto';
      return `Voice replies are "${current}". Use /voice auto, /voice always or /voice never.`;
    },
  },
  {
    command: 'lang',
    description: 'Set your language (e.g. /lang fr), or /lang auto',
    run: ({ args, ref, conversations }) => {
      const lang = args[0]?.toLowerCase();
      if (!lang)
        return `Language: ${conversations.prefs(ref).language ?? 'auto'}. Use /lang en, /lang fr, … or /lang auto.`;
      if (lang === 'auto') {
        conversations.setLanguage(ref, undefined);
        return 'I will detect your language.';
      }
      if (!/^[a-z]{2,3}(-[a-z0-9]{2,8})?$/.test(lang))
        return `"${args[0]}" is not a language code. Try /lang en or /lang fr.`;
      conversations.setLanguage(ref, lang);
      return `Language set to ${lang}.`;
    },
  },
  {
    command: 'code',
    description: 'Do a coding task in a sandbox, e.g. /code write a script that …',
    run: ({ message, startCode }) => {
      const task = commandRest(message.text);
      if (!task)
        return 'Tell me what to build or fix after /code, e.g. /code write a script that renames my photos by date.';
      if (!startCode) return 'Coding tasks cannot be started from here.';
      return startCode(task);
    },
  },
  {
    command: 'plan',
    description: 'Do a task of several steps, e.g. /plan research … and draft …',
    run: ({ message, startPlan }) => {
      const request = commandRest(message.text);
      if (!request)
        return 'Tell me the task after /plan, e.g. /plan read these two pages and summarise how they differ.';
      if (!startPlan) return 'Multi-step tasks cannot be started from here.';
      return startPlan(request);
    },
  },
  {
    command: 'go',
    description: 'Approve the plan I showed you',
    run: ({ args, approvePlan }) =>
      approvePlan ? approvePlan(args[0]) : 'There is no plan waiting for your approval here.',
  },
  {
    command: 'cancel',
    description: 'Stop your running coding task or plan',
    run: ({ cancelCode }) => (cancelCode ? cancelCode() : 'Nothing to cancel.'),
  },
];

/** The text after "/code" (newlines kept), or '' when there is none. */
export function commandRest(text: string | undefined): string {
  return /^\/[A-Za-z0-9_]+(?:@\S+)?(?:\s+([\s\S]*))?$/.exec(text?.trim() ?? '')?.[1]?.trim() ?? '';
}

/** The commands menu that platforms publish (Telegram's setMyCommands, Discord's slash commands). */
export const COMMANDS: CommandInfo[] = CHAT_COMMANDS.map(({ command, description }) => ({
  command,
  description,
}));

/** One of June's commands by name, or undefined (the message is then an ordinary message). */
export function findCommand(name: string): ChatCommand | undefined {
  return CHAT_COMMANDS.find((c) => c.command === name);
}
