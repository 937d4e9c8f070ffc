/**
 * When June runs as root, sandboxed commands run as an unprivileged host user instead (65534, "nobody",
 * by default): inside a user namespace, root's files would still be root's, and the kernel does not
 * count root's processes against a process limit, so a fork bomb would not be held. That user must be
 * able to write the workspace, so the workspace is handed to it before each run. Symlinks are changed
 * themselves, never followed; files with several hard links are left alone (one may live outside).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxError } from './types.js';

export const runningAsRoot = (): boolean => process.geteuid?.() === 0;

export async function handWorkspaceTo(workspace: string, uid: number, gid: number): Promise<void> {
  const stack = [workspace];
  const top = await fs.lstat(workspace).catch((err: unknown) => {
    throw new SandboxError(
      `workspace ${workspace} cannot be used: ${(err as Error).message}`,
      undefined,
      err,
    );
  });
  if (!top.isDirectory()) throw new SandboxError(`workspace ${workspace} is not a directory`);
  if (top.uid !== uid || top.gid !== gid) await fs.lchown(workspace, uid, gid);
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const p = path.join(dir, entry.name);
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) stack.push(p);
      else if (st.nlink > 1) continue;
      if (st.uid !== uid || st.gid !== gid) await fs.lchown(p, uid, gid);
    }
  }
}
