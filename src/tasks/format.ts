/** Plain-text views of tasks, events, stats and workers for the `june tasks` / `june workers` commands. */
import type { CapabilityStats, Task, TaskDetail, TaskEvent, WorkerInfo } from './types.js';

const time = (ms: number | undefined) =>
  ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

const short = (v: unknown, max = 60) => {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

export function formatTaskList(tasks: Task[], now = Date.now()): string {
  if (tasks.length === 0) return 'no tasks\n';
  return table([
    ['ID', 'STATE', 'KIND', 'CAPABILITY', 'ATTEMPTS', 'CREATED', 'CONVERSATION', 'ERROR'],
    ...tasks.map((t) => [
      t.id,
      t.state + (t.cancelRequested ? ' (cancelling)' : ''),
      t.kind,
      t.capability,
      `${t.attempts}/${t.maxAttempts}`,
      ago(t.createdAt, now),
      t.conversationKey ?? '-',
      t.error ? short(`[${t.error.code}] ${t.error.message}`, 50) : '',
    ]),
  ]);
}

export function formatEvent(e: TaskEvent): string {
  const parts = [time(e.at), e.type.padEnd(9), e.taskId];
  if (e.attempt !== undefined) parts.push(`attempt ${e.attempt}`);
  if (e.workerId) parts.push(`on ${e.workerId}`);
  if (e.stage) parts.push(`stage ${e.stage}`);
  if (e.data !== undefined) parts.push(short(e.data));
  if (e.delayMs !== undefined) parts.push(`next try in ${e.delayMs} ms`);
  if (e.error) parts.push(`[${e.error.code}] ${e.error.message}`);
  return parts.join('  ');
}

export function formatTaskDetail(d: TaskDetail): string {
  const t = d.task;
  const lines = [
    `task        ${t.id}`,
    `state       ${t.state}${t.cancelRequested ? ' (cancel requested)' : ''}`,
    `kind        ${t.kind} (capability ${t.capability})`,
    `attempts    ${t.attempts} of ${t.maxAttempts}`,
    `created     ${time(t.createdAt)}`,
  ];
  if (t.runAt) lines.push(`runs at     ${time(t.runAt)}`);
  if (t.finishedAt) lines.push(`finished    ${time(t.finishedAt)}`);
  if (t.workerId) lines.push(`worker      ${t.workerId}`);
  if (t.conversationKey) lines.push(`conversation ${t.conversationKey}`);
  if (t.idempotencyKey) lines.push(`idempotency ${t.idempotencyKey}`);
  if (t.parentId) lines.push(`parent      ${t.parentId}`);
  if (t.childIds.length) lines.push(`children    ${t.childIds.join(', ')} (if one dies: ${t.onChildDead})`);
  lines.push(`payload     ${short(t.payload, 200)}`);
  if (t.result !== undefined) lines.push(`result      ${short(t.result, 200)}`);
  if (t.error) lines.push(`error       [${t.error.code}] ${t.error.message}`);
  lines.push('', 'attempts');
  if (d.attempts.length === 0) lines.push('  none yet');
  for (const a of d.attempts) {
    const took = a.startedAt && a.endedAt ? ` (${a.endedAt - a.startedAt} ms)` : '';
    let line = `  #${a.n} ${a.outcome.padEnd(9)} ${time(a.startedAt)} → ${time(a.endedAt)}${took}`;
    if (a.workerId) line += ` on ${a.workerId}`;
    if (a.error) line += `  [${a.error.code}] ${a.error.message}`;
    if (a.retryDelayMs !== undefined) line += `  (retry in ${a.retryDelayMs} ms)`;
    lines.push(line);
  }
  lines.push('', 'timeline');
  for (const e of d.timeline) lines.push(`  ${formatEvent(e)}`);
  return lines.join('\n') + '\n';
}

export function formatStats(stats: CapabilityStats[]): string {
  if (stats.length === 0) return 'no tasks yet\n';
  return table([
    ['CAPABILITY', 'NEW', 'DELAYED', 'ACTIVE', 'RETRYING', 'WAITING-CHILDREN', 'COMPLETED', 'DEAD'],
    ...stats.map((s) =>
      [s.capability, s.new, s.delayed, s.active, s.retrying, s.waitingChildren, s.completed, s.dead].map(
        String,
      ),
    ),
  ]);
}

/** A worker that has not reported for this long is shown as gone (it reports every few seconds). */
export const WORKER_STALE_MS = 30_000;

/** The providers a worker found down, with the capabilities it paused: "openai-llm open (chat)". */
function circuits(w: WorkerInfo): string {
  const down = (w.circuits ?? []).filter((c) => c.state !== 'closed');
  return down.map((c) => `${c.provider} ${c.state} (${c.capabilities.join(',')})`).join('; ') || '-';
}

export function formatWorkers(workers: WorkerInfo[], now = Date.now()): string {
  if (workers.length === 0) return 'no workers\n';
  return table([
    ['ID', 'STATUS', 'CAPABILITIES', 'LOAD', 'RUNNING', 'HEARTBEAT', 'HOST/PID', 'PROVIDERS DOWN'],
    ...workers.map((w) => [
      w.id,
      now - w.lastHeartbeatAt > WORKER_STALE_MS ? 'gone?' : 'up',
      w.capabilities.join(','),
      `${w.activeTaskIds.length}/${w.concurrency}`,
      w.activeTaskIds.join(',') || '-',
      ago(w.lastHeartbeatAt, now),
      `${w.host}/${w.pid}`,
      circuits(w),
    ]),
  ]);
}
