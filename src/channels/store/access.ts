/**
 * Who may talk to June: closed by default. A stranger gets a one-time pairing code (valid one hour, at
 * most three pending per channel) that the owner approves with `june pairing approve <channel> <code>`;
 * the first approved user becomes the owner. Users in the config allow-list need no pairing.
 */
import crypto from 'node:crypto';
import type { ChannelDb } from './db.js';

export const PAIRING_TTL_MS = 60 * 60 * 1000;
export const MAX_PENDING_CODES = 3;
/** No 0/O/1/I: codes are read aloud and typed by hand. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export type UserRole = 'owner' | 'user';

export type PairingRequest =
  { kind: 'code'; code: string; expiresAt: number; reused: boolean } | { kind: 'too_many_pending' };

export interface PendingCode {
  code: string;
  channel: string;
  userId: string;
  userName?: string;
  chatId: string;
  createdAt: number;
  expiresAt: number;
}

export class AccessControl {
  private readonly allowed: Set<string>;

  constructor(
    private readonly db: ChannelDb,
    allowUsers: readonly string[] = [],
    private readonly now: () => number = Date.now,
  ) {
    this.allowed = new Set(allowUsers);
  }

  roleOf(channel: string, userId: string): UserRole | undefined {
    const row = this.db
      .prepare('SELECT role FROM users WHERE channel = ? AND user_id = ?')
      .get(channel, userId) as { role: UserRole } | undefined;
    if (row) return row.role;
    return this.allowed.has(`${channel}:${userId}`) ? 'user' : undefined;
  }

  isAllowed(channel: string, userId: string): boolean {
    return this.roleOf(channel, userId) !== undefined;
  }

  /** A pairing code for a stranger: their pending one if it is still valid, else a new one. */
  requestPairing(channel: string, userId: string, chatId: string, userName?: string): PairingRequest {
    const now = this.now();
    return this.db.transaction((): PairingRequest => {
      this.db.prepare('DELETE FROM pairing_codes WHERE expires_at <= ?').run(now);
      const mine = this.db
        .prepare('SELECT code, expires_at FROM pairing_codes WHERE channel = ? AND user_id = ?')
        .get(channel, userId) as { code: string; expires_at: number } | undefined;
      if (mine) return { kind: 'code', code: mine.code, expiresAt: mine.expires_at, reused: true };
      const pending = (
        this.db.prepare('SELECT COUNT(*) AS n FROM pairing_codes WHERE channel = ?').get(channel) as {
          n: number;
        }
      ).n;
      if (pending >= MAX_PENDING_CODES) return { kind: 'too_many_pending' };
      const code = randomCode();
      const expiresAt = now + PAIRING_TTL_MS;
      this.db
        .prepare(
          `INSERT INTO pairing_codes (code, channel, user_id, user_name, chat_id, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(code, channel, userId, userName ?? null, chatId, now, expiresAt);
      return { kind: 'code', code, expiresAt, reused: false };
    })();
  }

  pending(channel?: string): PendingCode[] {
    const rows = this.db
      .prepare(
        'SELECT * FROM pairing_codes WHERE expires_at > ? AND (? IS NULL OR channel = ?) ORDER BY created_at',
      )
      .all(this.now(), channel ?? null, channel ?? null) as Array<{
      code: string;
      channel: string;
      user_id: string;
      user_name: string | null;
      chat_id: string;
      created_at: number;
      expires_at: number;
    }>;
    return rows.map((r) => ({
      code: r.code,
      channel: r.channel,
      userId: r.user_id,
      ...(r.user_name ? { userName: r.user_name } : {}),
      chatId: r.chat_id,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
    }));
  }

  /**
   * Approves a pending code. Returns the approved user (with their role and the chat to greet them in),
   * or undefined when the code is unknown or expired.
   */
  approve(channel: string, code: string): (PendingCode & { role: UserRole }) | undefined {
    const now = this.now();
    return this.db.transaction(() => {
      const row = this.pending(channel).find((p) => p.code === code.trim().toUpperCase());
      if (!row) return undefined;
      const hasOwner =
        this.db.prepare("SELECT 1 FROM users WHERE role = 'owner' LIMIT 1").get() !== undefined;
      const role: UserRole = hasOwner ? 'user' : 'owner';
      this.db
        .prepare(
          `INSERT INTO users (channel, user_id, role, name, approved_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(channel, user_id) DO UPDATE SET role = excluded.role`,
        )
        .run(channel, row.userId, role, row.userName ?? null, now);
      this.db.prepare('DELETE FROM pairing_codes WHERE channel = ? AND user_id = ?').run(channel, row.userId);
      return { ...row, role };
    })();
  }

  revoke(channel: string, userId: string): boolean {
    return (
      this.db.prepare('DELETE FROM users WHERE channel = ? AND user_id = ?').run(channel, userId).changes > 0
    );
  }

  users(): Array<{ channel: string; userId: string; role: UserRole; name?: string; approvedAt: number }> {
    const rows = this.db.prepare('SELECT * FROM users ORDER BY approved_at').all() as Array<{
      channel: string;
      user_id: string;
      role: UserRole;
      name: string | null;
      approved_at: number;
    }>;
    return rows.map((r) => ({
      channel: r.channel,
      userId: r.user_id,
      role: r.role,
      ...(r.name ? { name: r.name } : {}),
      approvedAt: r.approved_at,
    }));
  }
}

function randomCode(): string {
  const bytes = crypto.randomBytes(8);
  let code = '';
  for (const b of bytes) code += CODE_ALPHABET[b % CODE_ALPHABET.length];
  return code;
}
