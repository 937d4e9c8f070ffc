/**
 * The run's trajectory: one JSONL file, appended event by event (synchronously, so a crash loses at
 * most the event being written), and read back for `june code show`.
 */
import fs from 'node:fs';
import type { TrajectoryEvent } from './types.js';

type WithoutAt<T> = T extends unknown ? Omit<T, 'at'> : never;

export class TrajectoryWriter {
  private readonly fd: number;
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a', 0o600);
  }

  write(event: WithoutAt<TrajectoryEvent>): void {
    fs.writeSync(this.fd, JSON.stringify({ ...event, at: new Date().toISOString() }) + '\n');
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export function readTrajectory(file: string): TrajectoryEvent[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TrajectoryEvent);
}

/** The trajectory as a person reads it. */
export function formatTrajectory(events: TrajectoryEvent[]): string {
  const out: string[] = [];
  const clip = (s: string, n = 600) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
  for (const e of events) {
    if (e.type === 'run_start')
      out.push(`run ${e.runId} · model ${e.model} · sandbox ${e.sandbox}`, `task: ${e.task}`);
    else if (e.type === 'model') {
      out.push(
        `\n── step ${e.step} · model ${Math.round(e.timings.totalMs)} ms · tokens ${e.usage.promptTokens ?? '?'}/${e.usage.completionTokens ?? '?'}`,
      );
      if (e.reasoning) out.push(`  thinking: ${clip(e.reasoning.trim(), 300)}`);
      if (e.content.trim()) out.push(`  says: ${clip(e.content.trim())}`);
      for (const c of e.toolCalls) out.push(`  → ${c.name} ${clip(c.arguments, 300)}`);
      if (e.error) out.push(`  format error: ${e.error}`);
    } else if (e.type === 'observation') {
      const usage = e.sandbox
        ? ` [exit ${e.sandbox.exitCode}, ${Math.round(e.sandbox.wallMs)} ms wall, ${e.sandbox.cpuMs ?? '?'} ms cpu, ${e.sandbox.maxRssKb ?? '?'} KB rss]`
        : '';
      out.push(`  ← ${e.tool}${e.ok ? '' : ' (error)'}${usage}: ${clip(e.content.trim(), 400)}`);
    } else if (e.type === 'snapshot') out.push(`  snapshot ${e.commit.slice(0, 12)}`);
    else if (e.type === 'note') out.push(`  note: ${e.text}`);
    else
      out.push(
        `\n${e.status} after ${e.steps} steps · tokens ${e.tokens.prompt}+${e.tokens.completion}\n${e.answer}`,
      );
  }
  return out.join('\n');
}
