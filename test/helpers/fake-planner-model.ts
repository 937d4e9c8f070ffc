/**
 * A scripted model for planner tests, served by the fake OpenAI-compatible server (a route on the chat
 * completions path, so real HTTP and real SSE). Requests run in parallel (subtasks on several workers), so
 * instead of one FIFO, each request is answered by what it is, read from its system prompt:
 *  - planning requests take the next of `plans` (a make_plan tool call, plain text, or an error status);
 *  - subtask requests are answered by `subtask(prompt)` (one model answer of a plan.chat subtask);
 *  - compose requests by `compose(prompt)`;
 *  - coding-agent requests take the next of `agent` (scripted tool calls), FIFO; browse-worker requests the
 *    next of `browse`.
 * Each reply may wait on a promise first (`hold`), so a test can order events without timing.
 */
import type { ServerResponse } from 'node:http';
import { chunk, usageChunk, type Delta } from './fake-openai-scenarios.js';
import {
  CHAT_PATH,
  type FakeOpenAiServer,
  type RecordedBody,
  type ScriptedResponse,
} from './fake-openai-server.js';

export type PlannerReply =
  | { plan: unknown; hold?: Promise<unknown> }
  | { text: string; hold?: Promise<unknown>; usage?: [number, number] }
  | { status: number; message: string; hold?: Promise<unknown> };

export interface PlannerScript {
  plans: PlannerReply[];
  subtask?: (prompt: string) => PlannerReply;
  compose?: (prompt: string) => PlannerReply;
  agent?: ScriptedResponse[];
  browse?: ScriptedResponse[];
}

export type RequestKind = 'plan' | 'subtask' | 'compose' | 'agent' | 'browse' | 'other';

export interface ScriptedPlanner {
  script: PlannerScript;
  /** Every request seen, by kind, with its last user message. */
  seen: { kind: RequestKind; user: string; body: RecordedBody }[];
  count(kind: RequestKind, includes?: string): number;
}

export function requestKind(body: RecordedBody | undefined): RequestKind {
  const system = String(body?.messages?.[0]?.content ?? '');
  if (system.startsWith("You are June's planner")) return 'plan';
  if (system.startsWith('You do one step of a larger task')) return 'subtask';
  if (system.startsWith('You are June, a voice assistant. Subtasks')) return 'compose';
  if (system.startsWith("You are June's coding agent")) return 'agent';
  if (system.startsWith("You are June's web browsing worker")) return 'browse';
  return 'other';
}

/** Routes the fake server's chat completions to `script` (until the server is reset). */
export function scriptPlanner(server: FakeOpenAiServer, script: PlannerScript): ScriptedPlanner {
  const sp: ScriptedPlanner = {
    script,
    seen: [],
    count: (kind, includes) =>
      sp.seen.filter((s) => s.kind === kind && (includes === undefined || s.user.includes(includes))).length,
  };
  server.route(CHAT_PATH, async (_req, res, { record }) => {
    const body = record.body ?? {};
    const kind = requestKind(body);
    const users = (body.messages ?? []).filter((m) => m.role === 'user');
    const user = String(users.at(-1)?.content ?? '');
    sp.seen.push({ kind, user, body });
    let reply: PlannerReply | undefined;
    if (kind === 'plan') reply = script.plans.shift();
    else if (kind === 'subtask') reply = script.subtask?.(user);
    else if (kind === 'compose') reply = script.compose?.(user);
    else if (kind === 'agent' || kind === 'browse') {
      const next = (kind === 'agent' ? script.agent : script.browse)?.shift();
      if (next?.stream)
        return writeSteps(
          res,
          next.stream.map((s) => ('data' in s ? s.data : undefined)),
        );
    }
    if (!reply) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ object: 'error', message: `no scripted reply for a ${kind} request`, code: 500 }),
      );
      return;
    }
    if (reply.hold) {
      const closed = new Promise<void>((r) => res.on('close', () => r()));
      await Promise.race([reply.hold, closed]);
      if (res.destroyed) return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'error',
          message: reply.message,
          type: 'BadRequestError',
          code: reply.status,
        }),
      );
      return;
    }
    if ('plan' in reply) {
      const args = JSON.stringify(reply.plan);
      const deltas: Delta[] = [
        {
          tool_calls: [
            {
              index: 0,
              id: `call_${sp.seen.length}`,
              type: 'function',
              function: { name: 'make_plan', arguments: '' },
            },
          ],
        },
      ];
      for (let i = 0; i < args.length; i += 40)
        deltas.push({ tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + 40) } }] });
      return writeReply(res, deltas, 'tool_calls', [200, 60]);
    }
    const deltas: Delta[] = [];
    for (let i = 0; i < reply.text.length; i += 20) deltas.push({ content: reply.text.slice(i, i + 20) });
    return writeReply(res, deltas, 'stop', reply.usage ?? [100, 30]);
  });
  return sp;
}

function writeReply(res: ServerResponse, deltas: Delta[], finish: string, usage: [number, number]): void {
  writeSteps(res, [
    chunk({ role: 'assistant', content: '' }),
    ...deltas.map((d) => chunk(d)),
    chunk({ content: '' }, finish),
    usageChunk(usage[0], usage[1]),
  ]);
}

function writeSteps(res: ServerResponse, steps: unknown[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const s of steps) if (s !== undefined) res.write(`data: ${JSON.stringify(s)}\n\n`);
  res.end('data: [DONE]\n\n');
}

/** A promise and the function that settles it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
