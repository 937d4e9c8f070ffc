/**
 * How much a workspace holds: bytes allocated and entries, walked without following symlinks. Used by the
 * disk watchdog (a command filling the workspace is killed once it passes the quota) and by tests.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface DiskUsage {
  bytes: number;
  entries: number;
}

export async function diskUsage(dir: string, stopAt = Number.POSITIVE_INFINITY): Promise<DiskUsage> {
  const usage: DiskUsage = { bytes: 0, entries: 0 };
  const stack = [dir];
  while (stack.length > 0 && usage.bytes <= stopAt) {
    const current = stack.pop()!;
    let names: string[];
    try {
      names = await fs.readdir(current);
    } catch {
      continue; // removed while we walked, or not a directory any more
    }
    for (const name of names) {
      const p = path.join(current, name);
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st) continue;
      usage.entries++;
      // Allocated blocks, not the apparent size: a sparse file of 1 TB does not fill the disk.
      usage.bytes += st.blocks * 512;
      if (st.isDirectory()) stack.push(p);
    }
  }
  return usage;
}
