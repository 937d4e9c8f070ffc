/**
 * Per-(channel, chat, user) conversations: history windowed by tokens for the LLM, `/new` resets it
 * (old messages are kept under an older epoch, not deleted), and the user's language and voice-reply
 * preferences live with it. Appends are idempotent by task id, so a re-run task stores its turn once.
 * A conversation may carry a title of its own (kept exactly as typed) and can be removed for good.
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

  /** Creates the conversation if it is new (so it is listed before its first message). */
  ensure(ref: ConversationRef): void {
    this.row(ref);
  }

  /** The conversation's own title, kept exactly as given; undefined goes back to the first message. */
  setTitle(ref: ConversationRef, title: string | undefined): void {
    this.row(ref);
    this.db
      .prepare('UPDATE conversations SET title = ?, updated_at = ? WHERE key = ?')
      .run(title ?? null, Date.now(), conversationKey(ref));
  }

  /**
   * Sets a suggested title only while the conversation has none, so a title the user gave first (or
   * meanwhile) is never replaced. True when it was set.
   */
  suggestTitle(ref: ConversationRef, title: string): boolean {
    this.row(ref);
    const r = this.db
      .prepare('UPDATE conversations SET title = ? WHERE key = ? AND title IS NULL')
      .run(title, conversationKey(ref));
    return r.changes > 0;
  }

  /** Forgets the conversation: its messages of every epoch, its title and its preferences. */
  remove(ref: ConversationRef): void {
    const key = conversationKey(ref);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM messages WHERE conv_key = ?').run(key);
      this.db.prepare('DELETE FROM conversations WHERE key = ?').run(key);
    })();
  }

  /** The messages of the current epoch, oldest first (the newest `limit` of them), for showing, not the LLM. */
  messages(ref: ConversationRef, limit = 200): StoredMessage[] {
    const { epoch } = this.row(ref);
    const rows = this.db
      .prepare(
        `SELECT id, role, content, task_id, created_at FROM messages WHERE conv_key = ? AND epoch = ?
         ORDER BY id DESC LIMIT ?`,
      )
      .all(conversationKey(ref), epoch, limit) as Array<{
      id: number;
      role: ChatMessage['role'];
      content: string;
      task_id: string | null;
      created_at: number;
    }>;
    return rows.reverse().map((r) => ({
      id: r.id,
      role: r.role,
      content: r.content,
      ...(r.task_id ? { taskId: r.task_id } : {}),
      createdAt: r.created_at,
    }));
  }

  /** Conversations, most recent first (for the web/API). */
  list(filter: { channel?: string; limit?: number } = {}): ConversationSummary[] {
    const rows = this.db
      .prepare(
        `SELECT c.key, c.channel, c.chat_id, c.user_id, c.updated_at, c.title,
                (SELECT COUNT(*) FROM messages m WHERE m.conv_key = c.key AND m.epoch = c.epoch) AS n,
                (SELECT MAX(m.created_at) FROM messages m WHERE m.conv_key = c.key AND m.epoch = c.epoch)
                  AS last_at,
                (SELECT m.content FROM messages m WHERE m.conv_key = c.key AND m.epoch = c.epoch
                   AND m.role = 'user' ORDER BY m.id LIMIT 1) AS first_text
         FROM conversations c WHERE (? IS NULL OR c.channel = ?) ORDER BY c.updated_at DESC LIMIT ?`,
      )
      .all(filter.channel ?? null, filter.channel ?? null, filter.limit ?? 100) as Array<{
      key: string;
      channel: string;
      chat_id: string;
      user_id: string;
      updated_at: number;
      title: string | null;
      n: number;
      last_at: number | null;
      first_text: string | null;
    }>;
    return rows.map((r) => ({
      key: r.key,
      channel: r.channel,
      chatId: r.chat_id,
      userId: r.user_id,
      updatedAt: r.updated_at,
      messages: r.n,
      ...(r.title !== null ? { title: r.title } : {}),
      ...(r.last_at !== null ? { lastMessageAt: r.last_at } : {}),
      ...(r.first_text !== null ? { firstMessage: r.first_text } : {}),
    }));
  }
}

export interface StoredMessage {
  id: number;
  role: ChatMessage['role'];
  content: string;
  taskId?: string;
  createdAt: number;
}

export interface ConversationSummary extends ConversationRef {
  key: string;
  updatedAt: number;
  /** Messages since the last reset. */
  messages: number;
  /** Set by renaming; absent until then. */
  title?: string;
  lastMessageAt?: number;
  /** The first user message since the last reset (what an untitled conversation is called). */
  firstMessage?: string;
}
