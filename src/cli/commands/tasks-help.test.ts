/**
 * The task kind that `june tasks add --help` gives as an example is one June has: the help once named a
 * "voice.turn" kind that no handler serves.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CHANNEL_INBOUND_KIND } from '../../channels/inbound-task.js';
import { CHANNEL_TEXT_KIND, CHANNEL_VOICE_KIND } from '../../channels/turn-task.js';
import * as tasks from './tasks.js';

describe('june tasks add --help', () => {
  it('names a task kind that exists', () => {
    const program = new Command('june');
    tasks.register(program);
    const add = program.commands.find((c) => c.name() === 'tasks')!.commands.find((c) => c.name() === 'add')!;
    const example = /--kind <kind>\s+task kind, e\.g\. (\S+)/.exec(add.helpInformation())?.[1];
    expect([CHANNEL_TEXT_KIND, CHANNEL_VOICE_KIND, CHANNEL_INBOUND_KIND]).toContain(example);
  });
});
