/**
 * `june pairing list|approve|deny|clear|revoke|users|setup-code`: the owner lets people in. The first
 * approved user becomes the owner; approving also greets the new user on their channel when that channel is
 * configured. Until an owner exists, `setup-code` prints the code that makes its sender the owner, so
 * strangers holding every pending slot cannot lock the owner out.
 */
import type { Command } from 'commander';
import { AccessControl } from '../../channels/store/access.js';
import { channelDbFile, openChannelDb } from '../../channels/store/db.js';
import { cliContext } from '../context.js';

/** What `june start` prints while no owner exists: the setup code and what to do with it ('' once paired). */
export function setupCodeNotice(ac: AccessControl): string {
  const code = ac.setupCode();
  return code ? `No owner yet: send ${code} to your bot (or /start ${code}) to become its owner.\n` : '';
}

function access(): { ac: AccessControl; close: () => void } {
  const { config } = cliContext();
  const db = openChannelDb(channelDbFile(config.dataDir));
  return { ac: AccessControl.fromConfig(db, config), close: () => db.close() };
}

export function register(program: Command): void {
  const pairing = program.command('pairing').description('Let people use your assistant (closed by default)');

  pairing
    .command('list')
    .description('Pending pairing codes')
    .action(() => {
      const { ac, close } = access();
      const pending = ac.pending();
      close();
      if (!pending.length) return void process.stdout.write('no pending pairing codes\n');
      for (const p of pending) {
        const mins = Math.max(0, Math.round((p.expiresAt - Date.now()) / 60_000));
        process.stdout.write(
          `${p.channel.padEnd(10)} ${p.code}  ${p.userName ?? p.userId} (id ${p.userId}), expires in ${mins} min\n`,
        );
      }
    });

  pairing
    .command('approve')
    .description('Approve a pairing code; the first approved user becomes the owner')
    .argument('<channel>', 'telegram, discord, …')
    .argument('<code>', 'the code the user was given')
    .action(async (channel: string, code: string) => {
      const { ac, close } = access();
      const approved = ac.approve(channel, code);
      close();
      if (!approved) throw new Error(`no pending code ${code} on ${channel} (codes expire after one hour)`);
      process.stdout.write(
        `approved ${approved.userName ?? approved.userId} on ${channel} as ${approved.role}\n`,
      );
      const { config, logger } = cliContext();
      const { configuredAdapters } = await import('../../channels/runtime.js');
      const adapter = (await configuredAdapters(config, logger)).find((a) => a.name === channel);
      await adapter
        ?.sendText(
          { channel, chatId: approved.chatId, userId: approved.userId },
          "You're in! Send me a voice message or type to start.",
        )
        .catch(() => undefined);
      await adapter?.stop().catch(() => undefined);
    });

  pairing
    .command('deny')
    .description('Drop a pending pairing code (its sender gets no new one for pairingCooldownMs)')
    .argument('<code>', 'the code from `june pairing list`')
    .action((code: string) => {
      const { ac, close } = access();
      const denied = ac.deny(code);
      close();
      if (!denied) throw new Error(`no pending code ${code} (codes expire after one hour)`);
      process.stdout.write(`denied ${denied.userName ?? denied.userId} on ${denied.channel}\n`);
    });

  pairing
    .command('clear')
    .description('Drop every pending pairing code (their senders get no new one for pairingCooldownMs)')
    .argument('[channel]', 'only this channel')
    .action((channel?: string) => {
      const { ac, close } = access();
      const dropped = ac.clear(channel);
      close();
      process.stdout.write(`dropped ${dropped.length} pending code${dropped.length === 1 ? '' : 's'}\n`);
    });

  pairing
    .command('setup-code')
    .description('The code that makes you the owner: send it to your bot (or /start CODE)')
    .action(() => {
      const { ac, close } = access();
      const code = ac.setupCode();
      close();
      if (!code) throw new Error('an owner is already paired; use `june pairing approve` to let others in');
      process.stdout.write(`${code}\n`);
    });

  pairing
    .command('revoke')
    .description("Remove a user's access")
    .argument('<channel>')
    .argument('<userId>')
    .action((channel: string, userId: string) => {
      const { ac, close } = access();
      const ok = ac.revoke(channel, userId);
      close();
      if (!ok) throw new Error(`${userId} on ${channel} was not an approved user`);
      process.stdout.write(`revoked ${userId} on ${channel}\n`);
    });

  pairing
    .command('users')
    .description('Approved users')
    .action(() => {
      const { ac, close } = access();
      for (const u of ac.users())
        process.stdout.write(
          `${u.channel.padEnd(10)} ${u.userId.padEnd(22)} ${u.role.padEnd(6)} ${u.name ?? ''}\n`,
        );
      close();
    });
}
