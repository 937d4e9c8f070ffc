/**
 * Who may talk to June: closed by default. A stranger gets a one-time pairing code (valid one hour, at
 * most three pending per channel) that the owner approves with `june pairing approve <channel> <code>`;
 * the first approved user becomes the owner. Users in the config allow-list need no pairing.
 *
 * Strangers cannot lock the owner out: until an owner exists there is a setup code (printed by
 * `june start` and `june pairing setup-code`), and whoever sends it becomes the owner whatever the pending
 * slots hold. A stranger is answered at most once per `strangerReplyIntervalMs`, and a user who was
 * revoked or denied (or whose code was cleared) gets no new slot for `revokedCooldownMs`.
 */
import crypto from 'node:crypto';
import type { JuneConfig } from '../../config/schema.js';
import type { ChannelDb } from './db.js';

export const PAIRING_TTL_MS = 60 * 60 * 1000;
export const MAX_PENDING_CODES = 3;
/** No 0/O/1/I: codes are read aloud and typed by hand. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** Longer than a pairing code: anyone may guess at it, one message at a time. */
const SETUP_CODE_LENGTH = 12;
const SETUP_CODE_KEY = 'setup_code';

export interface AccessPolicy {
  /** A stranger hears from June at most once per this many ms (0: every time). */
  strangerReplyIntervalMs?: number;
  /** A revoked or denied user gets no new pairing slot for this many ms. */
  revokedCooldownMs?: number;
}

export const DEFAULT_STRANGER_REPLY_INTERVAL_MS = 10 * 60 * 1000;
export const DEFAULT_REVOKED_COOLDOWN_MS = 24 * 60 * 60 * 1000;

export type UserRole = 'owner' | 'user';

export type PairingRequest =
  | { kind: 'code'; code: string; expiresAt: number; reused: boolean }
  | { kind: 'too_many_pending' }
  | { kind: 'cooling_down'; until: number };

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
  private readonly replyIntervalMs: number;
  private readonly cooldownMs: number;

  constructor(
    private readonly db: ChannelDb,
    allowUsers: readonly string[] = [],
    private readonly now: () => number = Date.now,
    policy: AccessPolicy = {},
  ) {
    this.allowed = new Set(allowUsers);
    this.replyIntervalMs = policy.strangerReplyIntervalMs ?? DEFAULT_STRANGER_REPLY_INTERVAL_MS;
    this.cooldownMs = policy.revokedCooldownMs ?? DEFAULT_REVOKED_COOLDOWN_MS;
  }

  /** The access rules as configured (allow-list, answer interval, cool-down). */
  static fromConfig(
    db: ChannelDb,
    config: Pick<JuneConfig, 'allowUsers' | 'strangerReplyIntervalMs' | 'pairingCooldownMs'>,
  ): AccessControl {
    return new AccessControl(db, config.allowUsers, Date.now, {
      strangerReplyIntervalMs: config.strangerReplyIntervalMs,
      revokedCooldownMs: config.pairingCooldownMs,
    });
  }

  hasOwner(): boolean {
    return this.db.prepare("SELECT 1 FROM users WHERE role = 'owner' LIMIT 1").get() !== undefined;
  }

  /** The code that makes its sender the owner; undefined once an owner exists. Created on first ask. */
  setupCode(): string | undefined {
    return this.db.transaction((): string | undefined => {
      if (this.hasOwner()) {
        this.db.prepare('DELETE FROM access_settings WHERE key = ?').run(SETUP_CODE_KEY);
        return undefined;
      }
      const row = this.db.prepare('SELECT value FROM access_settings WHERE key = ?').get(SETUP_CODE_KEY) as
        { value: string } | undefined;
      if (row) return row.value;
      const code = randomCode(SETUP_CODE_LENGTH);
      this.db.prepare('INSERT INTO access_settings (key, value) VALUES (?, ?)').run(SETUP_CODE_KEY, code);
      return code;
    })();
  }

  /**
   * Makes the sender the owner when no owner exists yet and `offered` is the setup code. Pending slots,
   * the answer interval and cool-downs do not apply: nothing a stranger does can block it.
   */
  claimOwnership(channel: string, userId: string, offered: string, userName?: string): boolean {
    const given = Buffer.from(normaliseCode(offered));
    return this.db.transaction((): boolean => {
      if (this.hasOwner()) return false;
      const row = this.db.prepare('SELECT value FROM access_settings WHERE key = ?').get(SETUP_CODE_KEY) as
        { value: string } | undefined;
      const expected = Buffer.from(row?.value ?? '');
      if (!row || given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return false;
      this.db
        .prepare(
          `INSERT INTO users (channel, user_id, role, name, approved_at) VALUES (?, ?, 'owner', ?, ?)
           ON CONFLICT(channel, user_id) DO UPDATE SET role = 'owner'`,
        )
        .run(channel, userId, userName ?? null, this.now());
      this.db.prepare('DELETE FROM access_settings WHERE key = ?').run(SETUP_CODE_KEY);
      this.forgetStranger(channel, userId);
      return true;
    })();
  }

  /**
   * Whether June should answer this stranger now; records the answer. At most one answer per
   * `strangerReplyIntervalMs`, so a stranger cannot make June talk (or hand out codes) on every message.
   */
  takeStrangerAnswer(channel: string, userId: string): boolean {
    const now = this.now();
    return this.db.transaction((): boolean => {
      const row = this.db
        .prepare('SELECT answered_at FROM strangers WHERE channel = ? AND user_id = ?')
        .get(channel, userId) as { answered_at: number | null } | undefined;
      if (row?.answered_at != null && now - row.answered_at < this.replyIntervalMs) return false;
      this.db
        .prepare(
          `INSERT INTO strangers (channel, user_id, answered_at) VALUES (?, ?, ?)
           ON CONFLICT(channel, user_id) DO UPDATE SET answered_at = excluded.answered_at`,
        )
        .run(channel, userId, now);
      return true;
    })();
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
      const cooled = this.db
        .prepare('SELECT cooldown_since FROM strangers WHERE channel = ? AND user_id = ?')
        .get(channel, userId) as { cooldown_since: number | null } | undefined;
      if (cooled?.cooldown_since != null && now - cooled.cooldown_since < this.cooldownMs)
        return { kind: 'cooling_down', until: cooled.cooldown_since + this.cooldownMs };
      const pending = (
        this.db.prepare('SELECT COUNT(*) AS n FROM pairing_codes WHERE channel = ?').get(channel) as {
          n: number;
        }
      ).n;
      if (pending >= MAX_PENDING_CODES) return { kind: 'too_many_pending' };
      const code = randomCode(8);
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
      const row = this.pending(channel).find((p) => p.code === normaliseCode(code));
      if (!row) return undefined;
      const role: UserRole = this.hasOwner() ? 'user' : 'owner';
      this.db
        .prepare(
          `INSERT INTO users (channel, user_id, role, name, approved_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(channel, user_id) DO UPDATE SET role = excluded.role`,
        )
        .run(channel, row.userId, role, row.userName ?? null, now);
      this.db.prepare('DELETE FROM pairing_codes WHERE channel = ? AND user_id = ?').run(channel, row.userId);
      this.forgetStranger(channel, row.userId);
      if (role === 'owner') this.db.prepare('DELETE FROM access_settings WHERE key = ?').run(SETUP_CODE_KEY);
      return { ...row, role };
    })();
  }

  /** Drops a pending code; its user gets no new one during the cool-down. Undefined when unknown. */
  deny(code: string, channel?: string): PendingCode | undefined {
    return this.db.transaction(() => {
      const row = this.pending(channel).find((p) => p.code === normaliseCode(code));
      if (!row) return undefined;
      this.db.prepare('DELETE FROM pairing_codes WHERE code = ?').run(row.code);
      this.coolDown(row.channel, row.userId);
      return row;
    })();
  }

  /** Drops every pending code (of one channel, or all); their users get no new one during the cool-down. */
  clear(channel?: string): PendingCode[] {
    return this.db.transaction(() => {
      const rows = this.pending(channel);
      for (const row of rows) {
        this.db.prepare('DELETE FROM pairing_codes WHERE code = ?').run(row.code);
        this.coolDown(row.channel, row.userId);
      }
      // expired codes hold no slot, but there is no reason to keep them either
      this.db
        .prepare('DELETE FROM pairing_codes WHERE expires_at <= ? AND (? IS NULL OR channel = ?)')
        .run(this.now(), channel ?? null, channel ?? null);
      return rows;
    })();
  }

  /** Takes access away; the user gets no new pairing slot during the cool-down. */
  revoke(channel: string, userId: string): boolean {
    return this.db.transaction(() => {
      const removed =
        this.db.prepare('DELETE FROM users WHERE channel = ? AND user_id = ?').run(channel, userId).changes >
        0;
      if (removed) this.coolDown(channel, userId);
      return removed;
    })();
  }

  private coolDown(channel: string, userId: string): void {
    this.db
      .prepare(
        `INSERT INTO strangers (channel, user_id, cooldown_since) VALUES (?, ?, ?)
         ON CONFLICT(channel, user_id) DO UPDATE SET cooldown_since = excluded.cooldown_since`,
      )
      .run(channel, userId, this.now());
  }

  private forgetStranger(channel: string, userId: string): void {
    this.db.prepare('DELETE FROM strangers WHERE channel = ? AND user_id = ?').run(channel, userId);
    this.db.prepare('DELETE FROM pairing_codes WHERE channel = ? AND user_id = ?').run(channel, userId);
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

/** What a person typed ("k7rm 2qxd", "K7RM-2QXD") as the stored code. */
export function normaliseCode(text: string): string {
  return text.replace(/[\s-]+/g, '').toUpperCase();
}

function randomCode(length: number): string {
  const bytes = crypto.randomBytes(length);
  let code = '';
  for (const b of bytes) code += CODE_ALPHABET[b % CODE_ALPHABET.length];
  return code;
}
