/**
 * What June has learnt about the models behind OpenAI-compatible servers: which ones start their replies
 * mid-thought (Qwen3-Thinking-2507 served under a name without "Thinking" and without a reasoning parser),
 * so their next reply is read in 'always-open' mode from the first token instead of being guessed at.
 *
 * Kept per server and model in a small JSON file in the data directory (0600, like the other stores: it
 * names internal servers). The server is keyed by its URL without credentials, so a password in the base
 * URL never reaches the file. A model that stops proving it thinks (a reply with no `</think>` at all) is
 * forgotten again. Reading or writing failures are logged and never fail a reply: the memory only saves
 * the guess, the splitter's retraction still keeps the thought out of the answer. Several processes (june
 * start and its workers) share the file: each reads it at every use, and writes it whole, atomically
 * (rename), from what it has just read.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../observability/logger.js';

export const THINKING_MEMORY_FILE = 'llm-thinking.json';

interface Entry {
  thinking: 'always-open';
  learnedAt: string;
}

interface FileShape {
  version: 1;
  models: Record<string, Entry>;
}

export class ThinkingMemory {
  constructor(
    /** The JSON file, e.g. `<dataDir>/llm-thinking.json`. */
    readonly file: string,
    private readonly logger?: Logger,
  ) {}

  /** True when this model on this server is known to start its replies mid-thought. */
  thinks(baseUrl: string, model: string): boolean {
    return this.load()[key(baseUrl, model)] !== undefined;
  }

  /** Records that the model starts mid-thought; persisted at once. */
  remember(baseUrl: string, model: string): void {
    const entries = this.load();
    const k = key(baseUrl, model);
    if (entries[k]) return;
    entries[k] = { thinking: 'always-open', learnedAt: new Date().toISOString() };
    this.save(entries);
  }

  /** Forgets it (the model answered without any thought). */
  forget(baseUrl: string, model: string): void {
    const entries = this.load();
    const k = key(baseUrl, model);
    if (!entries[k]) return;
    delete entries[k];
    this.save(entries);
  }

  /**
   * The entries as the file holds them now. Read at every use (once per reply, a few hundred bytes):
   * other processes write it too, and a cache keyed on mtime would miss two writes in one clock tick.
   */
  private load(): Record<string, Entry> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger?.warn({ file: this.file, err: String(err) }, 'thinking memory unreadable');
      return {};
    }
    try {
      const parsed = JSON.parse(text) as Partial<FileShape>;
      if (parsed && typeof parsed.models === 'object' && parsed.models !== null) return parsed.models;
    } catch (err) {
      this.logger?.warn({ file: this.file, err: String(err) }, 'thinking memory unreadable; starting afresh');
    }
    return {};
  }

  private save(entries: Record<string, Entry>): void {
    const body: FileShape = { version: 1, models: entries };
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
      fs.chmodSync(tmp, 0o600);
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      this.logger?.warn({ file: this.file, err: String(err) }, 'could not save the thinking memory');
    }
  }
}

/** `origin + path` of the server without user info or query, then the model name. */
function key(baseUrl: string, model: string): string {
  let server: string;
  try {
    const u = new URL(baseUrl);
    server = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    server = baseUrl.replace(/\/\/[^@/]*@/, '//');
  }
  return `${server} ${model}`;
}
