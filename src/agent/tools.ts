/**
 * The agent's tools. Each has a zod schema for its arguments (turned into the JSON Schema the model
 * sees), and returns an observation string. A call with bad JSON or bad arguments never throws out of
 * here: it becomes an error observation the model can correct.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ToolDefinition } from '../providers/types.js';
import type { ExecResult, Sandbox } from '../sandbox/types.js';
import { PathError, relativeName, resolveInside } from './paths.js';

export interface ToolContext {
  workspace: string;
  sandbox: Sandbox;
  commandTimeoutMs: number;
  signal?: AbortSignal;
}

export interface ToolOutcome {
  ok: boolean;
  content: string;
  /** The files may have changed: take a snapshot. */
  changed?: boolean;
  /** Set by `finish`. */
  finish?: string;
  sandbox?: ExecResult;
}

const MAX_READ_BYTES = 256 * 1024;
const MAX_LIST = 500;
const MAX_MATCHES = 100;
const SKIP_DIRS = new Set(['.git', 'node_modules']);

const schemas = {
  read_file: z.object({
    path: z.string().min(1).describe('file path, relative to the workspace'),
    start_line: z.number().int().min(1).optional().describe('first line to read (1-based)'),
    end_line: z.number().int().min(1).optional().describe('last line to read (inclusive)'),
  }),
  write_file: z.object({
    path: z.string().min(1).describe('file path, relative to the workspace'),
    content: z.string().describe('the whole new content of the file'),
  }),
  edit_file: z.object({
    path: z.string().min(1),
    old_text: z.string().min(1).describe('exact text to replace; must occur exactly once'),
    new_text: z.string().describe('replacement text'),
  }),
  list_files: z.object({
    pattern: z
      .string()
      .default('**/*')
      .describe('glob, e.g. "src/**/*.py" (.git and node_modules are skipped)'),
  }),
  search: z.object({
    pattern: z.string().min(1).describe('regular expression (JavaScript syntax)'),
    path: z.string().default('.').describe('directory or file to search in'),
  }),
  execute_command: z.object({
    command: z.string().min(1).describe('shell command, run with /bin/sh -c in the workspace, no network'),
    timeout_seconds: z.number().positive().max(3600).optional(),
  }),
  finish: z.object({
    summary: z.string().min(1).describe('what was done, for the user, in a few sentences'),
  }),
} as const;

export type ToolName = keyof typeof schemas;

const descriptions: Record<ToolName, string> = {
  read_file: 'Read a text file of the workspace, optionally a range of lines.',
  write_file: 'Create or overwrite a file in the workspace.',
  edit_file: 'Replace one exact occurrence of old_text with new_text in a file.',
  list_files: 'List files of the workspace matching a glob.',
  search: 'Search the workspace files for a regular expression; prints path:line: text.',
  execute_command: 'Run a shell command in the sandboxed workspace (tests, scripts, builds). No network.',
  finish: 'End the task with a summary for the user. Call it once the work is done and checked.',
};

export const toolDefinitions: ToolDefinition[] = (Object.keys(schemas) as ToolName[]).map((name) => ({
  name,
  description: descriptions[name],
  parameters: z.toJSONSchema(schemas[name], { io: 'input' }) as Record<string, unknown>,
}));

/** Parses and validates a call; an error string when the model got it wrong. */
export function parseCall(name: string, rawArgs: string): { args: unknown } | { error: string } {
  if (!(name in schemas))
    return { error: `unknown tool "${name}"; the tools are ${Object.keys(schemas).join(', ')}` };
  let json: unknown;
  try {
    json = JSON.parse(rawArgs.trim() === '' ? '{}' : rawArgs);
  } catch (err) {
    return {
      error: `the arguments of ${name} are not valid JSON (${(err as Error).message}); send one JSON object`,
    };
  }
  const parsed = schemas[name as ToolName].safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`)
      .join('; ');
    return { error: `invalid arguments for ${name}: ${issues}` };
  }
  return { args: parsed.data };
}

export async function runTool(name: ToolName, args: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  try {
    switch (name) {
      case 'read_file':
        return readFile(args as z.output<typeof schemas.read_file>, ctx);
      case 'write_file':
        return writeFile(args as z.output<typeof schemas.write_file>, ctx);
      case 'edit_file':
        return editFile(args as z.output<typeof schemas.edit_file>, ctx);
      case 'list_files':
        return listFiles(args as z.output<typeof schemas.list_files>, ctx);
      case 'search':
        return search(args as z.output<typeof schemas.search>, ctx);
      case 'execute_command':
        return await executeCommand(args as z.output<typeof schemas.execute_command>, ctx);
      case 'finish':
        return { ok: true, content: 'finished', finish: (args as z.output<typeof schemas.finish>).summary };
    }
  } catch (err) {
    if (err instanceof PathError) return { ok: false, content: err.message };
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      return { ok: false, content: `no such file or directory: ${(args as { path?: string }).path ?? ''}` };
    if (e.code === 'EISDIR') return { ok: false, content: 'that is a directory, not a file' };
    throw err;
  }
}

function readFile(a: z.output<typeof schemas.read_file>, ctx: ToolContext): ToolOutcome {
  const file = resolveInside(ctx.workspace, a.path);
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(Math.min(size, MAX_READ_BYTES));
  fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  if (buf.includes(0)) return { ok: false, content: `${a.path} is a binary file (${size} bytes)` };
  const lines = buf.toString('utf8').split('\n');
  const start = a.start_line ?? 1;
  const end = Math.min(a.end_line ?? lines.length, lines.length);
  const body = lines
    .slice(start - 1, end)
    .map((l, i) => `${String(start + i).padStart(5)}  ${l}`)
    .join('\n');
  const more =
    size > MAX_READ_BYTES
      ? `\n[file is ${size} bytes; only the first ${MAX_READ_BYTES} were read: ask for a line range]`
      : '';
  return { ok: true, content: body + more };
}

function writeFile(a: z.output<typeof schemas.write_file>, ctx: ToolContext): ToolOutcome {
  const file = resolveInside(ctx.workspace, a.path);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, a.content);
  return {
    ok: true,
    content: `wrote ${relativeName(ctx.workspace, file)} (${Buffer.byteLength(a.content)} bytes)`,
    changed: true,
  };
}

function editFile(a: z.output<typeof schemas.edit_file>, ctx: ToolContext): ToolOutcome {
  const file = resolveInside(ctx.workspace, a.path);
  const text = fs.readFileSync(file, 'utf8');
  const count = text.split(a.old_text).length - 1;
  if (count !== 1)
    return {
      ok: false,
      content:
        count === 0
          ? `old_text was not found in ${a.path}; read the file and copy the text exactly`
          : `old_text occurs ${count} times in ${a.path}; include more context so it matches once`,
    };
  fs.writeFileSync(
    file,
    text.replace(a.old_text, () => a.new_text),
  );
  return { ok: true, content: `edited ${a.path}`, changed: true };
}

/** "src/**\/*.py" → a RegExp over workspace-relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(root: string, visit: (rel: string, abs: string) => boolean): void {
  const stack = [''];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const entries = fs
      .readdirSync(path.join(root, dir), { withFileTypes: true })
      .sort((x, y) => (x.name < y.name ? 1 : -1));
    for (const e of entries) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) stack.push(rel);
      } else if (!visit(rel, path.join(root, rel))) return;
    }
  }
}

function listFiles(a: z.output<typeof schemas.list_files>, ctx: ToolContext): ToolOutcome {
  const re = globToRegExp(a.pattern);
  const found: string[] = [];
  let more = false;
  walk(fs.realpathSync(ctx.workspace), (rel) => {
    if (!re.test(rel)) return true;
    if (found.length >= MAX_LIST) {
      more = true;
      return false;
    }
    found.push(rel);
    return true;
  });
  if (found.length === 0) return { ok: true, content: `no files match ${a.pattern}` };
  return {
    ok: true,
    content: found.sort().join('\n') + (more ? `\n[more than ${MAX_LIST} files; narrow the pattern]` : ''),
  };
}

function search(a: z.output<typeof schemas.search>, ctx: ToolContext): ToolOutcome {
  let re: RegExp;
  try {
    re = new RegExp(a.pattern);
  } catch (err) {
    return { ok: false, content: `invalid regular expression: ${(err as Error).message}` };
  }
  const base = resolveInside(ctx.workspace, a.path);
  const root = fs.realpathSync(ctx.workspace);
  const hits: string[] = [];
  const scan = (abs: string, rel: string) => {
    const st = fs.statSync(abs);
    if (st.size > 1024 * 1024) return true;
    const text = fs.readFileSync(abs);
    if (text.includes(0)) return true;
    for (const [i, line] of text.toString('utf8').split('\n').entries()) {
      if (re.test(line)) hits.push(`${rel}:${i + 1}: ${line.slice(0, 200)}`);
      if (hits.length >= MAX_MATCHES) return false;
    }
    return true;
  };
  if (fs.statSync(base).isDirectory()) walk(base, (rel, abs) => scan(abs, path.relative(root, abs) || rel));
  else scan(base, path.relative(root, base));
  if (hits.length === 0) return { ok: true, content: `no match for /${a.pattern}/` };
  return {
    ok: true,
    content: hits.join('\n') + (hits.length >= MAX_MATCHES ? `\n[stopped at ${MAX_MATCHES} matches]` : ''),
  };
}

async function executeCommand(
  a: z.output<typeof schemas.execute_command>,
  ctx: ToolContext,
): Promise<ToolOutcome> {
  const timeoutMs =
    a.timeout_seconds !== undefined
      ? Math.min(a.timeout_seconds * 1000, ctx.commandTimeoutMs)
      : ctx.commandTimeoutMs;
  const r = await ctx.sandbox.exec(['/bin/sh', '-c', a.command], {
    workspace: ctx.workspace,
    timeoutMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const head = r.timedOut
    ? `timed out after ${Math.round(timeoutMs / 1000)} s (killed)`
    : r.killedBy
      ? `killed: ${r.killedBy} limit (exit code ${r.exitCode})`
      : `exit code ${r.exitCode}`;
  const parts = [head];
  if (r.stdout) parts.push(`stdout:\n${r.stdout}`);
  if (r.stderr) parts.push(`stderr:\n${r.stderr}`);
  return { ok: r.exitCode === 0, content: parts.join('\n'), changed: true, sandbox: r };
}
