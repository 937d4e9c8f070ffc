/**
 * June's commands as Discord application (slash) commands, registered globally at start so they show up
 * in the command picker of DMs with the bot and of the servers it is in. Their answers come from the same
 * command table (commands.ts) as typed commands (the adapter hands them to the gateway as "/voice always").
 */
import { COMMANDS } from '../commands.js';

const STRING_OPTION = 3;
const CHAT_INPUT = 1;
/** Interaction contexts: in servers and in the bot's DMs. */
const GUILD = 0;
const BOT_DM = 1;
/** Installed to a server (the bot), not to a user account. */
const GUILD_INSTALL = 0;

function describe(name: string): string {
  return COMMANDS.find((c) => c.command === name)?.description ?? name;
}

interface CommandOption {
  type: number;
  name: string;
  description: string;
  required: boolean;
  choices?: { name: string; value: string }[];
  max_length?: number;
}

export interface SlashCommandDefinition {
  name: string;
  description: string;
  type: number;
  contexts: number[];
  integration_types: number[];
  options?: CommandOption[];
}

const command = (name: string, options?: CommandOption[]): SlashCommandDefinition => ({
  name,
  description: describe(name),
  type: CHAT_INPUT,
  contexts: [GUILD, BOT_DM],
  integration_types: [GUILD_INSTALL],
  ...(options ? { options } : {}),
});

export const SLASH_COMMANDS: SlashCommandDefinition[] = [
  command('new'),
  command('voice', [
    {
      type: STRING_OPTION,
      name: 'mode',
      description: 'auto: voice when you speak; always; never (leave empty to see the current mode)',
      required: false,
      choices: ['auto', 'always', 'never'].map((v) => ({ name: v, value: v })),
    },
  ]),
  command('lang', [
    {
      type: STRING_OPTION,
      name: 'language',
      description: 'A language code such as en or fr, or auto',
      required: false,
      max_length: 16,
    },
  ]),
  command('code', [
    {
      type: STRING_OPTION,
      name: 'task',
      description: 'What to build or fix, e.g. write a script that renames my photos by date',
      required: true,
      max_length: 2000,
    },
  ]),
  command('plan', [
    {
      type: STRING_OPTION,
      name: 'task',
      description: 'A task of several steps, e.g. read these pages and summarise how they differ',
      required: true,
      max_length: 2000,
    },
  ]),
  command('go'),
  command('cancel'),
  command('help'),
];
