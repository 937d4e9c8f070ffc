/**
 * Builders for the Telegram objects tests push through the fake Bot API server: users, chats, and the
 * voice/audio/document payloads a Telegram client attaches to a message.
 */

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  first_name?: string;
  username?: string;
}

/** A message as the fake stores it: whatever a test put in, plus the fields every message has. */
export type TgMessage = Record<string, unknown> & {
  message_id: number;
  date: number;
  chat: TgChat;
  from?: TgUser;
};

export type TgUpdate = Record<string, unknown> & { update_id: number; message?: TgMessage };

/** A human Telegram user. */
export function tgUser(id: number, firstName = `User${id}`, username?: string): TgUser {
  return { id, is_bot: false, first_name: firstName, ...(username ? { username } : {}) };
}

/** The private chat with a user: same id as the user, as on Telegram. */
export function privateChat(user: TgUser): TgChat {
  return {
    id: user.id,
    type: 'private',
    first_name: user.first_name,
    ...(user.username ? { username: user.username } : {}),
  };
}

/** A supergroup (negative id, as on Telegram). */
export function groupChat(id: number, title = 'Test group'): TgChat {
  return { id: id < 0 ? id : -(1_000_000_000_000 + id), type: 'supergroup', title };
}

/**
 * Length of an OGG/Opus stream from its last page's granule position (48 kHz samples), the way a client
 * fills in a voice note's `duration`. Whole seconds, at least 1; 1 when the bytes are not OGG at all.
 */
export function oggDurationSec(data: Buffer): number {
  const last = data.lastIndexOf('OggS');
  if (last < 0 || last + 14 > data.length) return 1;
  const granule = Number(data.readBigUInt64LE(last + 6));
  if (!Number.isFinite(granule) || granule <= 0 || granule > 48_000 * 86_400) return 1;
  return Math.max(1, Math.round(granule / 48_000));
}
