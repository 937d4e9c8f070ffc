import type { Message } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { audioAttachment } from '../gateway.js';
import { toInboundMessage } from './telegram-message.js';

const bot = { id: 555, username: 'JuneBot' };
const ada = { id: 42, is_bot: false, first_name: 'Ada', last_name: 'Lovelace', username: 'ada' };
const dm = { id: 42, type: 'private' as const, first_name: 'Ada' };
const group = { id: -100123, type: 'supergroup' as const, title: 'Friends' };

const msg = (fields: Record<string, unknown>): Message =>
  ({ message_id: 7, date: 1_700_000_000, chat: dm, from: ada, ...fields }) as unknown as Message;

describe('toInboundMessage', () => {
  it('reads a private text message', () => {
    expect(toInboundMessage(msg({ text: 'hello' }), bot, 123)).toEqual({
      channel: 'telegram',
      chatId: '42',
      userId: '42',
      userName: 'Ada Lovelace',
      messageId: '7',
      chatType: 'private',
      mentioned: false,
      repliedToBot: false,
      text: 'hello',
      attachments: [],
      receivedAt: 123,
    });
  });

  it('reads voice notes, audio, video notes and audio documents as audio June can listen to', () => {
    const voice = toInboundMessage(
      msg({
        voice: { file_id: 'V', file_unique_id: 'v', duration: 3, mime_type: 'audio/ogg', file_size: 9000 },
      }),
      bot,
    )!;
    expect(voice.attachments).toEqual([
      { kind: 'voice', fileId: 'V', sizeBytes: 9000, mimeType: 'audio/ogg', durationSec: 3 },
    ]);
    const audio = toInboundMessage(
      msg({
        audio: {
          file_id: 'A',
          file_unique_id: 'a',
          duration: 60,
          mime_type: 'audio/mpeg',
          file_name: 'talk.mp3',
        },
        caption: 'my talk',
      }),
      bot,
    )!;
    expect(audio.text).toBe('my talk');
    expect(audioAttachment(audio)).toMatchObject({ kind: 'audio', fileName: 'talk.mp3' });
    const note = toInboundMessage(
      msg({ video_note: { file_id: 'N', file_unique_id: 'n', duration: 5, length: 240 } }),
      bot,
    )!;
    expect(audioAttachment(note)).toMatchObject({ kind: 'video_note', mimeType: 'video/mp4' });
    const doc = toInboundMessage(
      msg({ document: { file_id: 'D', file_unique_id: 'd', mime_type: 'audio/x-wav', file_size: 100 } }),
      bot,
    )!;
    expect(audioAttachment(doc)).toMatchObject({ kind: 'document', mimeType: 'audio/x-wav' });
  });

  it('marks photos, stickers, GIFs, PDFs and locations as something June cannot listen to', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        {
          photo: [
            { file_id: 's', file_unique_id: 's', width: 90, height: 90 },
            { file_id: 'L', file_unique_id: 'l', width: 800, height: 800 },
          ],
        },
        'image',
      ],
      [
        {
          sticker: {
            file_id: 'S',
            file_unique_id: 's',
            type: 'regular',
            width: 512,
            height: 512,
            is_animated: false,
            is_video: false,
          },
        },
        'image',
      ],
      [
        {
          animation: {
            file_id: 'G',
            file_unique_id: 'g',
            width: 1,
            height: 1,
            duration: 2,
            mime_type: 'video/mp4',
          },
          document: { file_id: 'G', file_unique_id: 'g' },
        },
        'other',
      ],
      [{ document: { file_id: 'P', file_unique_id: 'p', mime_type: 'application/pdf' } }, 'document'],
      [{ location: { latitude: 1, longitude: 2 } }, 'other'],
    ];
    for (const [fields, kind] of cases) {
      const m = toInboundMessage(msg(fields), bot)!;
      expect(m.attachments.map((a) => a.kind)).toEqual([kind]);
      expect(audioAttachment(m)).toBeUndefined();
    }
    // the largest photo size is the one kept
    expect(toInboundMessage(msg(cases[0]![0]), bot)!.attachments[0]!.fileId).toBe('L');
  });

  it('sees group mentions by entity, by text and by command, and replies to the bot', () => {
    const inGroup = (fields: Record<string, unknown>) =>
      toInboundMessage(msg({ chat: group, ...fields }), bot)!;
    const plain = inGroup({ text: 'hello all' });
    expect(plain).toMatchObject({
      chatType: 'group',
      chatId: '-100123',
      mentioned: false,
      repliedToBot: false,
    });

    const byEntity = inGroup({
      text: '@JuneBot what time is it',
      entities: [{ type: 'mention', offset: 0, length: 8 }],
    });
    expect(byEntity).toMatchObject({ mentioned: true, text: 'what time is it' });
    expect(inGroup({ text: 'hey @junebot, hello' })).toMatchObject({ mentioned: true, text: 'hey hello' });
    expect(inGroup({ text: 'mail me at someone@JuneBot.org' }).mentioned).toBe(false);
    expect(
      inGroup({ text: '@OtherBot hi', entities: [{ type: 'mention', offset: 0, length: 9 }] }).mentioned,
    ).toBe(false);
    expect(
      inGroup({ text: '/new@JuneBot', entities: [{ type: 'bot_command', offset: 0, length: 12 }] }),
    ).toMatchObject({
      mentioned: true,
      text: '/new@JuneBot',
    });
    const textMention = inGroup({
      text: 'June, hi',
      entities: [
        { type: 'text_mention', offset: 0, length: 4, user: { id: 555, is_bot: true, first_name: 'June' } },
      ],
    });
    expect(textMention.mentioned).toBe(true);
    const voiceWithCaption = inGroup({
      voice: { file_id: 'V', file_unique_id: 'v', duration: 2 },
      caption: '@JuneBot',
      caption_entities: [{ type: 'mention', offset: 0, length: 8 }],
    });
    expect(voiceWithCaption.mentioned).toBe(true);
    expect(voiceWithCaption.text).toBeUndefined();

    const reply = inGroup({
      text: 'and tomorrow?',
      reply_to_message: {
        message_id: 3,
        date: 1,
        chat: group,
        from: { id: 555, is_bot: true, first_name: 'June' },
      },
    });
    expect(reply).toMatchObject({ repliedToBot: true, replyToMessageId: '3', mentioned: false });
    const replyToFriend = inGroup({
      text: 'yes',
      reply_to_message: { message_id: 4, date: 1, chat: group, from: ada },
    });
    expect(replyToFriend.repliedToBot).toBe(false);
  });

  it('ignores channel posts and messages from bots', () => {
    expect(
      toInboundMessage(msg({ chat: { id: -1009, type: 'channel', title: 'News' }, text: 'x' }), bot),
    ).toBeUndefined();
    expect(
      toInboundMessage(msg({ from: { id: 9, is_bot: true, first_name: 'Other' }, text: 'x' }), bot),
    ).toBeUndefined();
    expect(toInboundMessage(msg({ from: undefined, text: 'x' }), bot)).toBeUndefined();
  });
});
