/**
 * Paths the model names, resolved inside the workspace or refused. June's own file tools run with June's
 * rights (not in the sandbox), so every path is checked twice: lexically (no `..` or absolute path out of
 * the workspace) and on disk (no symlink, at any level, leading out).
 */
import fs from 'node:fs';
import path from 'node:path';

export class PathError extends Error {}

export function resolveInside(workspace: string, requested: string): string {
  const root = fs.realpathSync(workspace);
  const rel =
    requested.startsWith('/workspace/') || requested === '/workspace'
      ? requested.slice(10) || '.'
      : requested;
  const abs = path.resolve(root, rel);
  if (abs !== root && !abs.startsWith(root + path.sep))
    throw new PathError(`${requested} is outside the workspace; use paths relative to the workspace`);
  // The deepest part that exists must really be inside (a symlink anywhere on the way may point out).
  let existing = abs;
  while (!fs.existsSync(existing) && existing !== root) existing = path.dirname(existing);
  const lst = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (lst?.isSymbolicLink() && !fs.existsSync(abs))
    throw new PathError(`${requested} is a dangling symlink; refusing to write through it`);
  const real = fs.realpathSync(existing);
  if (real !== root && !real.startsWith(root + path.sep))
    throw new PathError(`${requested} leads outside the workspace through a symlink`);
  return abs;
}

export function relativeName(workspace: string, abs: string): string {
  return path.relative(fs.realpathSync(workspace), abs) || '.';
}
