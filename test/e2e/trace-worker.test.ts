/**
 * One user message is one trace, across processes: a Telegram message received by `june start
 * --no-workers` and run by a separate `june worker` (sharing the SQLite task file, or over BullMQ on a real
 * redis-server) reaches a local OTLP receiver as a single trace, the task carrying the W3C traceparent
 * from one process to the other:
 *   telegram.update → task.enqueue → task.wait, task.run → voice.turn → its stages; task.run → channel.deliver
 * Both processes' log lines about the message carry its trace_id. A web message sent with a traceparent
 * header becomes part of the client's trace. Real processes, the fake Bot API, the
 * fake OpenAI server, and a receiver that decodes the OTLP protobuf.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { startRedisServer, type RedisServer } from '../../src/tasks/testing/redis-server.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  startFakeOtlpReceiver,
  type FakeOtlpReceiver,
  type ReceivedSpan,
} from '../helpers/fake-otlp-receiver.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { juneArgv } from '../helpers/june-cli.js';
import { waitForTask } from './web-harness.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let receiver: FakeOtlpReceiver;
let redis: RedisServer;
let dir: string;
const children: ChildProcess[] = [];
const ada = tgUser(5151, 'Ada');

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer();
  receiver = await startFakeOtlpReceiver();
  redis = await startRedisServer();
  dir = await makeTempDir('june-trace-');
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await receiver?.close();
  await redis?.destroy();
  await tg?.close();
  await llm?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

interface JuneProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function june(
  args: string[],
  backend: 'sqlite' | 'bullmq',
  extraEnv: Record<string, string> = {},
): JuneProcess {
  const child = spawn(process.execPath, juneArgv(args), {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      JUNE_DATA_DIR: path.join(dir, backend),
      JUNE_QUEUE: backend,
      JUNE_REDIS_URL: redis.url,
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_TELEGRAM_TOKEN: tg.token,
      JUNE_TELEGRAM_API_ROOT: tg.url,
      JUNE_LLM_BASE_URL: llm.url,
      JUNE_LLM_MODEL: 'june-test-model',
      JUNE_ALLOW_USERS: `telegram:${ada.id}`,
      JUNE_LOG_LEVEL: 'info',
      JUNE_TRACING: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

/** The JSON log lines of a process. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('one trace per message', { timeout: 180_000 }, () => {
  it.each(['sqlite', 'bullmq'] as const)(
    'a Telegram message run by a separate worker is one trace, parented end to end (%s)',
    async (backend) => {
      receiver.spans.length = 0;
      const server = june(['start', '--no-workers', '--no-web'], backend);
      const polls = tg.calls('getUpdates').length;
      await tg.waitFor(
        () => {
          if (server.child.exitCode !== null) throw new Error(`june start exited early:\n${server.output()}`);
          return server.output().includes('June is running.') && tg.calls('getUpdates').length > polls;
        },
        'june start to be up',
        60_000,
      );
      const worker = june(['worker', '--capabilities', 'voice,chat'], backend);

      const text = `trace this message over ${backend}`;
      tg.pushMessage({ from: ada, chat: privateChat(ada), text });
      const answer = echoAnswer(text);
      await tg
        .waitFor(
          () => tg.sent('sendMessage').find((c) => String(c.params.text).includes(answer)),
          'the answer in the chat',
          90_000,
        )
        .catch((err: unknown) => {
          throw new Error(`${String(err)}\nstart: ${server.output()}\nworker: ${worker.output()}`);
        });

      // both drain and exit, sending the spans still batched
      server.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(await worker.exited).toBe(0);

      const one = (name: string, parent?: ReceivedSpan): ReceivedSpan => {
        const found = receiver.spans.filter(
          (s) => s.name === name && (!parent || s.parentSpanId === parent.spanId),
        );
        const names = receiver.spans.map((s) => `${s.name}(${s.spanId}←${s.parentSpanId})`).join(', ');
        expect(found, `one ${name}${parent ? ` under ${parent.name}` : ''} among ${names}`).toHaveLength(1);
        return found[0]!;
      };
      const root = await eventually(
        async () => receiver.spans.find((s) => s.name === 'telegram.update'),
        'the telegram.update span',
        30_000,
      );
      await eventually(
        async () => receiver.spans.some((s) => s.name === 'channel.deliver'),
        'the worker spans',
        30_000,
      );
      expect(root.parentSpanId).toBe('');
      const enqueue = one('task.enqueue', root);
      const wait = one('task.wait', enqueue);
      const run = one('task.run', enqueue);
      const turn = one('voice.turn', run);
      one('llm.chat_stream', turn);
      const deliver = one('channel.deliver', run);

      // one trace: every span of the message in it, and no other trace (the root is the only root)
      const traced = receiver.spans.filter((s) => s.traceId === root.traceId);
      expect(traced.filter((s) => s.parentSpanId === '')).toEqual([root]);
      const ids = new Set(traced.map((s) => s.spanId));
      expect(traced.every((s) => s === root || ids.has(s.parentSpanId))).toBe(true);
      // the spans came from the two processes, told apart by who made them
      expect(run.attributes['task.id']).toBe(enqueue.attributes['task.id']);
      expect(wait.attributes['task.kind']).toBe('channel.text');
      expect(deliver.attributes['june.channel']).toBe('telegram');

      // the log lines of both processes about this message carry its trace
      const accepted = logLines(server.output()).find((l) => l.msg === 'message accepted');
      expect(accepted).toMatchObject({ trace_id: root.traceId, span_id: root.spanId });
      const workerLines = logLines(worker.output()).filter((l) => l.trace_id === root.traceId);
      expect(workerLines.length, worker.output()).toBeGreaterThan(0);
    },
  );

  it('a web message joins the trace of the client that sent it (traceparent header)', async () => {
    receiver.spans.length = 0;
    const env = { JUNE_API_TOKENS: 'admin:trace-admin-token', JUNE_HTTP_PORT: '0' };
    const server = june(['start', '--no-workers'], 'sqlite', env);
    const url = (
      await tg.waitFor(
        () => {
          if (server.child.exitCode !== null) throw new Error(`june start exited early:\n${server.output()}`);
          return /Open (http:\/\/\S+?)\/?\s/.exec(server.output()) ?? undefined;
        },
        'june start to serve the API',
        60_000,
      )
    )[1]!;
    const worker = june(['worker', '--capabilities', 'voice,chat'], 'sqlite', env);
    const admin = { authorization: 'Bearer trace-admin-token' };
    const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const res = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: {
        ...admin,
        'content-type': 'application/json',
        traceparent: `00-${clientTrace}-${clientSpan}-01`,
      },
      body: JSON.stringify({ text: 'trace this web message' }),
    });
    expect(res.status).toBe(202);
    const { taskId } = (await res.json()) as { taskId: string };
    const task = await waitForTask(url, taskId, admin, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nstart: ${server.output()}\nworker: ${worker.output()}`);
    });
    expect(task.state).toBe('completed');
    server.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await worker.exited).toBe(0);

    const names = () => receiver.spans.map((s) => `${s.name}(${s.spanId}←${s.parentSpanId})`).join(', ');
    const request = await eventually(
      async () => receiver.spans.find((s) => s.name === 'http.request'),
      'the http.request span',
      30_000,
    );
    expect(request).toMatchObject({ traceId: clientTrace, parentSpanId: clientSpan });
    const child = (name: string, parent: ReceivedSpan) => {
      const found = receiver.spans.find((s) => s.name === name && s.parentSpanId === parent.spanId);
      expect(found, `${name} under ${parent.name} among ${names()}`).toBeDefined();
      return found!;
    };
    const run = child('task.run', child('task.enqueue', request));
    expect(run.attributes['task.id']).toBe(taskId);
    child('llm.chat_stream', child('voice.turn', run));
    expect(receiver.spans.filter((s) => s.traceId !== clientTrace).map((s) => s.name)).toEqual([]);
  });
});
