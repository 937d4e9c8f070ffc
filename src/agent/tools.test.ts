/** The file tools and the context helpers on a real directory (no model, no sandbox needed). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../providers/types.js';
import { UnsandboxedRunner } from '../sandbox/none.js';
import { DEFAULT_LIMITS } from '../sandbox/limits.js';
import { fitContext, truncateObservation } from './context.js';
import { globToRegExp, parseCall, runTool, toolDefinitions, type ToolName } from './tools.js';

let ws: string;
const ctx = () => ({
  workspace: ws,
  sandbox: new UnsandboxedRunner({ limits: DEFAULT_LIMITS }),
  commandTimeoutMs: 10_000,
});
async function call(name: ToolName, args: Record<string, unknown>) {
  const parsed = parseCall(name, JSON.stringify(args));
  if ('error' in parsed) return { ok: false, content: parsed.error };
  return runTool(name, parsed.args, ctx());
}

beforeEach(() => {
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'june-tools-'));
});

describe('agent tools', () => {
  it('describes every tool with a JSON Schema of its arguments', () => {
    expect(toolDefinitions.map((t) => t.name)).toEqual([
      'read_file',
      'write_file',
      'edit_file',
      'list_files',
      'search',
      'execute_command',
      'finish',
    ]);
    const edit = toolDefinitions.find((t) => t.name === 'edit_file')!;
    expect(edit.parameters).toMatchObject({ type: 'object', required: ['path', 'old_text', 'new_text'] });
  });

  it('rejects unknown tools, bad JSON and bad arguments with a sentence for the model', () => {
    expect(parseCall('rm_rf', '{}')).toEqual({ error: expect.stringMatching(/unknown tool "rm_rf"/) });
    expect(parseCall('read_file', '{"path": ')).toEqual({ error: expect.stringMatching(/not valid JSON/) });
    expect(parseCall('read_file', '{"path": 3}')).toEqual({
      error: expect.stringMatching(/invalid arguments for read_file: path/),
    });
  });

  it('reads line ranges, edits an exact single match only, and writes into new directories', async () => {
    await call('write_file', { path: 'src/a.py', content: 'one\ntwo\ntwo\nfour\n' });
    expect((await call('read_file', { path: 'src/a.py', start_line: 2, end_line: 3 })).content).toBe(
      '    2  two\n    3  two',
    );
    const twice = await call('edit_file', { path: 'src/a.py', old_text: 'two', new_text: '2' });
    expect(twice).toMatchObject({ ok: false, content: expect.stringMatching(/occurs 2 times/) });
    const none = await call('edit_file', { path: 'src/a.py', old_text: 'five', new_text: '5' });
    expect(none).toMatchObject({ ok: false, content: expect.stringMatching(/not found/) });
    expect(await call('edit_file', { path: 'src/a.py', old_text: 'four', new_text: '$& 4' })).toMatchObject({
      ok: true,
    });
    expect(fs.readFileSync(path.join(ws, 'src/a.py'), 'utf8')).toBe('one\ntwo\ntwo\n$& 4\n');
    expect(await call('read_file', { path: 'missing.txt' })).toMatchObject({
      ok: false,
      content: expect.stringMatching(/no such file/),
    });
  });

  it('lists by glob and searches by regex, skipping .git and node_modules', async () => {
    for (const f of ['a.py', 'src/b.py', 'src/c.txt', 'node_modules/x/d.py', '.git/config']) {
      fs.mkdirSync(path.dirname(path.join(ws, f)), { recursive: true });
      fs.writeFileSync(path.join(ws, f), 'def main():\n    pass\n');
    }
    expect((await call('list_files', { pattern: '**/*.py' })).content).toBe('a.py\nsrc/b.py');
    expect((await call('search', { pattern: 'def \\w+' })).content.split('\n').sort()).toEqual([
      'a.py:1: def main():',
      'src/b.py:1: def main():',
      'src/c.txt:1: def main():',
    ]);
    expect(await call('search', { pattern: '(' })).toMatchObject({ ok: false });
    expect(globToRegExp('src/**/*.ts').test('src/x/y/z.ts')).toBe(true);
    expect(globToRegExp('src/**/*.ts').test('src/z.ts')).toBe(true);
    expect(globToRegExp('*.ts').test('src/z.ts')).toBe(false);
  });
});

describe('context management', () => {
  it('cuts a long observation keeping head and tail', () => {
    const text = 'a'.repeat(100) + 'b'.repeat(100);
    const cut = truncateObservation(text, 40);
    expect(cut.startsWith('a'.repeat(20))).toBe(true);
    expect(cut.endsWith('b'.repeat(20))).toBe(true);
    expect(cut).toContain('[… 160 characters elided …]');
  });

  it('elides the oldest observations first and keeps the recent ones', () => {
    const messages: ChatMessage[] = [{ role: 'system', content: 'sys' }];
    for (let i = 0; i < 8; i++)
      messages.push({ role: 'tool', content: `${i}`.repeat(4000), toolCallId: `c${i}` });
    const elided = fitContext(messages, 5000);
    expect(elided).toBeGreaterThan(0);
    expect(messages[1]!.content).toMatch(/^\[observation elided to save context: 4000 characters\]$/);
    expect(messages.slice(-4).every((m) => m.content.length === 4000)).toBe(true);
  });
});
