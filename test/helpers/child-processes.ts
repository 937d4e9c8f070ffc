/**
 * Counts this process's live children running a given program, read from /proc (Linux), so tests can
 * prove that nothing June started was left running.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Children of `parent` whose argv[0] ends in `program` (zombies, already exited, are not counted). */
export function countChildren(program: string, parent = process.pid): number {
  let count = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== parent || state === 'Z') continue;
      const argv0 = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (path.basename(argv0) === program) count++;
    } catch {
      // the process ended while we looked
    }
  }
  return count;
}
