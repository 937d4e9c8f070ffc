/**
 * Per-(channel, chat, user) conversations: history windowed by tokens for the LLM, `/new` resets it
 * (old messages are kept under an older epoch, not deleted), and the user's language and voice-reply
 * preferences live with it. Appends are idempotent by task id, so a re-run task stores its turn once.
 */
import type { ChatMessage } from '../../providers/types.js';
import type { ChannelDb } from './db.js';

export type VoiceMode = 'auto' | 'always' | 'never';

export interface ConversationRef {
  channel: string;
  chatId: string;
  userId: string;
}

export interface ConversationPrefs {
  language?: string;
  voiceMode?: VoiceMode;
}

export function conversationKey(ref: ConversationRef): string {
  return `${ref.channel}:${ref.chatId}:${ref.userId}`;
}

/** A rough token count (about 4 characters a token for English) that needs no tokenizer. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

interface ConvRow {
  language: string | null;
  voice_mode: string | null;
  epoch: number;
}

export class ConversationStore {
  constructor(private readonly db: ChannelDb) {}

  private row(ref: ConversationRef): ConvRow {
    const key = conversationKey(ref);
    this.db
      .prepare(
        `INSERT INTO conversations (key, channel, chat_id, user_id, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(key) DO NOTHING`,
      )
      .run(key, ref.channel, ref.chatId, ref.userId, Date.now());
    return this.db
      .prepare('SELECT language, voice_mode, epoch FROM conversations WHERE key = ?')
      .get(key) as ConvRow;
  }

  prefs(ref: ConversationRef): ConversationPrefs {
    const r = this.row(ref);
    return {
      ...(r.language ? { language: r.language } : {}),
      ...(r.voice_mode ? { voiceMode: r.voice_mode as VoiceMode } : {}),
    };
  }

  setLanguage(ref: ConversationRef, language: string | undefined): void {
    this.row(ref);
    this.db
      .prepare('UPDATE conversations SET language = ?, updated_at = ? WHERE key = ?')
      .run(language ?? null, Date.now(), conversationKey(ref));
  }

  setVoiceMode(ref: ConversationRef, mode: VoiceMode): void {
    this.row(ref);
    this.db
      .prepare('UPDATE conversations SET voice_mode = ?, updated_at = ? WHERE key = ?')
      .run(mode, Date.now(), conversationKey(ref));
  }

  /** Starts a fresh conversation; earlier messages stay on disk but are no longer sent to the LLM. */
  reset(ref: ConversationRef): void {
    this.row(ref);
    this.db
      .prepare('UPDATE conversations SET epoch = epoch + 1, updated_at = ? WHERE key = ?')
      .run(Date.now(), conversationKey(ref));
  }

  /** The newest messages of the current epoch that fit in `maxTokens` (and `maxMessages`), oldest first. */
  history(ref: ConversationRef, maxTokens: number, maxMessages = 50): ChatMessage[] {
    const { epoch } = this.row(ref);
    const rows = this.db
      .prepare('SELECT role, content FROM messages WHERE conv_key = ? AND epoch = ? ORDER BY id DESC LIMIT ?')
      .all(conversationKey(ref), epoch, maxMessages) as Array<{ role: ChatMessage['role']; content: string }>;
    const out: ChatMessage[] = [];
    let tokens = 0;
    for (const r of rows) {
      tokens += estimateTokens(r.content);
      if (tokens > maxTokens) break;
      out.push({ role: r.role, content: r.content });
    }
    // never start the window with an assistant reply cut off from its question
    while (out.length && out[out.length - 1]!.role === 'assistant') out.pop();
    return out.reverse();
  }

  /**
   * Appends the messages a turn added (the pipeline's `newMessages`: the user's, then the reply), with the
   * reply's reasoning kept beside the assistant message. A second call for the same task id changes
   * nothing: a task stores at most one message per role.
   */
  appendMessages(ref: ConversationRef, taskId: string, messages: ChatMessage[], reasoning?: string): void {
    const { epoch } = this.row(ref);
    const key = conversationKey(ref);
    const insert = this.db.prepare(
      `INSERT INTO messages (conv_key, epoch, role, content, reasoning, task_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    const now = Date.now();
    this.db.transaction(() => {
      for (const m of messages) {
        const thought = m.role === 'assistant' ? (reasoning ?? null) : null;
        insert.run(key, epoch, m.role, m.content, thought, taskId, now);
      }
      this.db.prepare('UPDATE conversations SET updated_at = ? WHERE key = ?').run(now, key);
    })();
  }

  /** Conversations, most recent first (for the web/API). */
  list(
    filter: { channel?: string; limit?: number } = {},
  ): Array<ConversationRef & { key: string; updatedAt: number; messages: number }> {
    const rows = this.db
      .prepare(
        `SELECT c.key, c.channel, c.chat_id, c.user_id, c.updated_at,
                (SELECT COUNT(*) FROM messages m WHERE m.conv_key = c.key AND m.epoch = c.epoch) AS n
         FROM conversations c WHERE (? IS NULL OR c.channel = ?) ORDER BY c.updated_at DESC LIMIT ?`,
      )
      .all(filter.channel ?? null, filter.channel ?? null, filter.limit ?? 100) as Array<{
      key: string;
      channel: string;
      chat_id: string;
      user_id: string;
      updated_at: number;
      n: number;
    }>;
    return rows.map((r) => ({
      key: r.key,
      channel: r.channel,
      chatId: r.chat_id,
      userId: r.user_id,
      updatedAt: r.updated_at,
      messages: r.n,
    }));
  }
}
