/**
 * The model modes as durable runs on the task queue (queue-run.ts, queue-handlers.ts), against a scripted
 * OpenAI-compatible server that answers by the problem in the request (real HTTP streaming, June's OpenAI
 * provider, the real queue, the real checker sandbox and bubblewrap):
 *
 * - `june eval run --mode completion` killed with SIGKILL while a sample it had already generated was
 *   being checked goes on with `june eval resume`, ends with the verdicts an in-process run gives, and the
 *   server saw exactly one generation request per sample (the recorded answer is checked, not asked again);
 *   on each queue backend (SQLite, and BullMQ on a real redis-server of the test's own);
 * - `--mode agent` on the queue: each problem is a child task whose agent works in a workspace without the
 *   hidden tests; the verdicts, trajectories and the summary's efficiency come from the task records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../../test/helpers/fake-agent-scripts.js';
import { streamOf } from '../../test/helpers/fake-openai-scenarios.js';
import {
  CHAT_PATH,
  startFakeOpenAiServer,
  type FakeOpenAiServer,
  type RecordedBody,
  type ScriptedResponse,
} from '../../test/helpers/fake-openai-server.js';
import { execJune, juneArgv } from '../../test/helpers/june-cli.js';
import { configSchema } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { BubblewrapSandbox, checkBubblewrap } from '../sandbox/bubblewrap.js';
import { DEFAULT_LIMITS } from '../sandbox/limits.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import { sqliteQueueFile } from '../tasks/open-queue.js';
import { startWorkers } from '../tasks/runtime.js';
import { openSqliteQueue } from '../tasks/sqlite/sqlite-queue.js';
import { testBackends } from '../tasks/testing/backends.js';
import { eventually } from '../tasks/testing/eventually.js';
import type { TaskQueue } from '../tasks/types.js';
import { loadDataset, type Problem } from './datasets.js';
import { createEvalHandlers } from './queue-handlers.js';
import { readRunSpec, submitEvalRun, waitForEvalRun } from './queue-run.js';
import { runModelEval } from './run.js';
import type { EvalSummary } from './summary.js';
import { DATA_FILES, hasSharedData } from './test-data.js';
import type { SampleVerdict } from './types.js';

const bwrap = await checkBubblewrap();
const humaneval = hasSharedData ? loadDataset('humaneval', DATA_FILES.humaneval) : undefined;
const FIRST_SIX = humaneval?.problems.slice(0, 6) ?? [];

/** The problem a request is about: the one whose signature its messages quote. */
function problemOf(body: RecordedBody | undefined, problems: Problem[]): Problem | undefined {
  const text = JSON.stringify(body?.messages ?? []);
  return problems.find((p) => text.includes(`def ${p.entryPoint}(`) || text.includes(`\`${p.entryPoint}\``));
}

/** Writes a scripted streamed response (data events only, as streamOf and nativeCalls make them). */
function play(res: ServerResponse, response: ScriptedResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const step of response.stream ?? [])
    if ('data' in step)
      res.write(`data: ${typeof step.data === 'string' ? step.data : JSON.stringify(step.data)}\n\n`);
  res.write('data: [DONE]\n\n');
  res.end();
}

/**
 * The canonical solution, or (odd tasks) a wrong answer; both sleep 1.5 s once when defined (a default
 * argument, which the sanitizer keeps), so a check lasts long enough to be killed in the middle of.
 */
function completionAnswer(p: Problem, index: number): string {
  const slow = `_slow=__import__('time').sleep(1.5)`;
  const code =
    index % 2 === 0
      ? p.reference.replace(
          new RegExp(`def ${p.entryPoint}\\(([^)]*)\\)`),
          `def ${p.entryPoint}($1, ${slow})`,
        )
      : `def ${p.entryPoint}(*args, ${slow}):\n    return None\n`;
  return `Here is the solution.\n\n\`\`\`python\n${code}\n\`\`\`\n`;
}

function answerStream(text: string): ScriptedResponse {
  const pieces = text.match(/[\s\S]{1,40}/g) ?? [];
  return streamOf(
    pieces.map((c) => ({ content: c })),
    { usage: [100, 40] },
  );
}

/**
 * On BullMQ, a probe for the kill point: once at least two samples have their answer recorded (the
 * `produce` step, in Redis), every request the server saw has its answer recorded (none in flight), and one
 * recorded answer has no verdict yet, it calls `kill` and returns the samples whose check the kill cut
 * short; undefined until then.
 */
async function bullmqKillPoint(url: string, runDir: string, generations: () => number, kill: () => void) {
  const { openBullmqQueue } = await import('../tasks/bullmq/bullmq-queue.js');
  const { Redis } = await import('ioredis');
  const queue = await openBullmqQueue({ url, logger: createLogger('silent') });
  const redis = new Redis(url);
  const probe = async (): Promise<string[] | undefined> => {
    const spec = readRunSpec(runDir);
    if (!spec) return undefined;
    const recorded = async () => {
      const ids: string[] = [];
      for (const c of await queue.children(spec.id))
        if (c.kind === 'eval.sample' && (await redis.hexists(`june:_:steps:${c.id}`, 'produce')) === 1)
          ids.push(c.id);
      return ids;
    };
    const produced = await recorded();
    const checked = (await queue.children(spec.id)).filter((c) => c.state === 'completed').length;
    if (!(produced.length >= 2 && produced.length > checked && generations() === produced.length))
      return undefined;
    kill();
    // the samples whose answer is recorded but whose check the kill cut short
    const done = new Set(
      (await queue.children(spec.id)).filter((c) => c.state === 'completed').map((c) => c.id),
    );
    return (await recorded()).filter((id) => !done.has(id));
  };
  const close = async () => {
    redis.disconnect();
    await queue.close();
  };
  return { probe, close };
}

describe.skipIf(!hasSharedData || !bwrap.ok)('eval model modes on the task queue (scripted server)', () => {
  let server: FakeOpenAiServer;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-eval-queue-modes-'));
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startFakeOpenAiServer({ models: ['plain-coder', 'agent-coder'] });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of testBackends()) {
    describe(`completion mode on ${backend.name}`, () => {
      let redisUrl: string | undefined;
      beforeAll(async () => {
        await backend.setup();
        redisUrl = backend.redis()?.url;
      });
      afterAll(() => backend.teardown());

      it('completion: a run killed with SIGKILL resumes, never asks the model twice for a sample, and gives the same verdicts', async () => {
        server.reset();
        server.route(CHAT_PATH, (_req, res, { record }) => {
          const p = problemOf(record.body, FIRST_SIX);
          if (!p) throw new Error('a request about no known problem');
          play(res, answerStream(completionAnswer(p, FIRST_SIX.indexOf(p))));
        });
        const dataDir = path.join(dir, `data-${backend.name}`);
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          HOME: dir,
          JUNE_DATA_DIR: dataDir,
          JUNE_MODELS_DIR: path.join(dir, 'models'),
          JUNE_OFFLINE: 'true',
          JUNE_LLM: 'openai',
          JUNE_LLM_BASE_URL: server.url,
          JUNE_LLM_MODEL: 'plain-coder',
          JUNE_LLM_RETRIES: '0',
          JUNE_LOG_LEVEL: 'warn',
          // the sample being checked at the kill comes back after its lease: short, so the test does not wait
          JUNE_TASK_LEASE_MS: '2000',
          ...(redisUrl ? { JUNE_QUEUE: 'bullmq', JUNE_REDIS_URL: redisUrl } : {}),
        };
        const runDir = path.join(dir, `completion-${backend.name}`);
        const args = [
          'eval',
          'run',
          '--dataset',
          'humaneval',
          '--problems',
          DATA_FILES.humaneval,
          '--mode',
          'completion',
          '--limit',
          '6',
          '--temperature',
          '0.2',
          '--concurrency',
          '1',
          '--out',
          runDir,
          '--json',
        ];
        const generations = () => server.chatRequests().length;
        const first = spawn(process.execPath, juneArgv(args), { cwd: dir, env });
        children.push(first);
        let stderr = '';
        first.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

        // kill while a sample whose answer is already recorded is being checked: every request the server
        // saw has its answer recorded (none in flight), and one recorded answer has no verdict yet
        const dbFile = sqliteQueueFile({ dataDir });
        const openQueue = async (): Promise<TaskQueue> => {
          if (!redisUrl) return openSqliteQueue({ file: dbFile });
          const { openBullmqQueue } = await import('../tasks/bullmq/bullmq-queue.js');
          return openBullmqQueue({ url: redisUrl, logger: createLogger('silent') });
        };
        const onBullmq = redisUrl
          ? await bullmqKillPoint(redisUrl, runDir, generations, () => first.kill('SIGKILL'))
          : undefined;
        const cutShort = await eventually(
          async () => {
            if (first.exitCode !== null) throw new Error(`the run ended before the kill\n${stderr}`);
            if (onBullmq) return onBullmq.probe();
            if (!fs.existsSync(dbFile)) return undefined;
            const db = new Database(dbFile, { readonly: true, fileMustExist: true });
            try {
              const tables = db
                .prepare("SELECT name FROM sqlite_master WHERE name IN ('steps', 'tasks')")
                .all();
              if (tables.length < 2) return undefined; // the schema is not there yet
              const produced = (
                db.prepare("SELECT count(*) AS n FROM steps WHERE step = 'produce'").get() as { n: number }
              ).n;
              const checked = (
                db
                  .prepare(
                    "SELECT count(*) AS n FROM tasks WHERE kind = 'eval.sample' AND state = 'completed'",
                  )
                  .get() as { n: number }
              ).n;
              if (produced >= 2 && produced > checked && generations() === produced) {
                first.kill('SIGKILL');
                // the samples whose answer is recorded but whose check the kill cut short
                const cut = db
                  .prepare(
                    "SELECT task_id AS id FROM steps WHERE step = 'produce' AND task_id NOT IN (SELECT id FROM tasks WHERE state = 'completed')",
                  )
                  .all() as { id: string }[];
                return cut.map((r) => r.id);
              }
              return undefined;
            } finally {
              db.close();
            }
          },
          'a recorded answer being checked',
          180_000,
          50,
        ).finally(() => onBullmq?.close());
        await new Promise((r) => first.once('exit', r));
        const killedAfter = generations();
        expect(killedAfter).toBeLessThan(6);

        const id = readRunSpec(runDir)!.id;
        const queue = await openQueue();
        const before = await queue.children(id);
        const doneBefore = before.filter((c) => c.state === 'completed').map((c) => c.id);
        expect(doneBefore.length).toBeGreaterThanOrEqual(1);
        expect((await queue.get(id))!.task.state).toBe('waiting-children');
        await queue.close();

        // `june eval resume RUN` goes on with it (run.json holds the mode, n, temperature and model)
        const resumed = await execJune(['eval', 'resume', runDir, '--json'], {
          cwd: dir,
          env,
          timeoutMs: 300_000,
        });
        expect(resumed.stderr).toBe('');
        expect(resumed.code).toBe(0);
        const summary = JSON.parse(resumed.stdout) as EvalSummary & { runDir: string };

        // one generation request per sample: the answers recorded before the kill were not asked for again
        const perTask = new Map<string, number>();
        for (const r of server.chatRequests()) {
          const p = problemOf(r.body, FIRST_SIX)!;
          perTask.set(p.taskId, (perTask.get(p.taskId) ?? 0) + 1);
          expect(r.body!.temperature).toBe(0.2);
        }
        expect([...perTask.entries()].sort()).toEqual(FIRST_SIX.map((p) => [p.taskId, 1]).sort());

        const verdicts = fs
          .readFileSync(path.join(runDir, 'results.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as SampleVerdict);
        expect(verdicts.map((v) => [v.task_id, v.sample])).toEqual(FIRST_SIX.map((p) => [p.taskId, 0]));
        expect(verdicts.map((v) => v.status === 'pass')).toEqual([true, false, true, false, true, false]);
        expect(verdicts.every((v) => v.mode === 'completion' && v.metrics!.steps === 1)).toBe(true);
        expect(summary).toMatchObject({
          mode: 'completion',
          model: 'plain-coder',
          temperature: 0.2,
          samples: 6,
        });
        expect(summary.passAtK.base['pass@1']).toBeCloseTo(0.5, 12);
        // tokens of every sample counted once, the recorded ones included
        expect(summary.efficiency).toMatchObject({ tokens: { prompt: 600, completion: 240 }, steps: 6 });
        // the programs as checked, and each raw answer, are in the run directory
        const programs = fs
          .readFileSync(path.join(runDir, 'samples.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { task_id: string; solution: string });
        expect(programs.map((p) => p.task_id)).toEqual(FIRST_SIX.map((p) => p.taskId));
        expect(programs.every((p, i) => p.solution.includes(`def ${FIRST_SIX[i]!.entryPoint}(`))).toBe(true);
        for (const v of verdicts)
          expect(fs.existsSync(path.join(runDir, v.answer_file!)), v.task_id).toBe(true);

        const after = await openQueue();
        try {
          expect((await after.get(id))!.task.state).toBe('completed');
          for (const child of doneBefore) expect((await after.get(child))!.task.attempts, child).toBe(1);
          // a sample cut short in its check ran again from its recorded answer (the server count above)
          expect(cutShort.length).toBeGreaterThanOrEqual(1);
          for (const child of cutShort) {
            const task = (await after.get(child))!.task;
            expect(task.state).toBe('completed');
            expect(task.attempts, child).toBeGreaterThanOrEqual(2);
          }
        } finally {
          await after.close();
        }

        // the same answers checked in-process (no queue) give the same verdicts
        const inProcess = await runModelEval(
          configSchema.parse({ dataDir: dir, modelsDir: dir, offline: true }),
          {
            dataset: 'humaneval',
            mode: 'completion',
            model: new OpenAiLanguageModel({ baseUrl: server.url, model: 'plain-coder', retries: 0 }),
            problemsFile: DATA_FILES.humaneval,
            limit: 6,
            outDir: path.join(dir, `in-process-${backend.name}`),
            concurrency: 2,
            temperature: 0.2,
          },
        );
        expect(inProcess.verdicts.map((v) => [v.task_id, v.status])).toEqual(
          verdicts.map((v) => [v.task_id, v.status]),
        );
        expect(inProcess.summary.perTask).toEqual(summary.perTask);
      }, 600_000);
    });
  }

  it('agent: each problem is a child task; the agent works without the hidden tests and its solution is checked', async () => {
    const problems = ['HumanEval/2', 'HumanEval/4', 'HumanEval/7'].map((t) => humaneval!.byId.get(t)!);
    server.reset();
    // per problem: write solution.py (HumanEval/4 gets a wrong one), run it, finish
    server.route(CHAT_PATH, (_req, res, { record }) => {
      const p = problemOf(record.body, problems);
      if (!p) throw new Error('a request about no known problem');
      const turn = (record.body?.messages ?? []).filter((m) => m.role === 'assistant').length;
      const solution =
        p.taskId === 'HumanEval/4' ? `def ${p.entryPoint}(numbers):\n    return 0.0\n` : p.reference;
      const script = [
        nativeCalls([{ name: 'write_file', args: { path: 'solution.py', content: solution } }], {
          reasoning: `Write ${p.entryPoint}.`,
        }),
        nativeCalls([
          { name: 'execute_command', args: { command: `python3 -c "import solution; print('ok')"` } },
        ]),
        nativeCalls([{ name: 'finish', args: { summary: `Implemented ${p.entryPoint}.` } }]),
      ];
      play(res, script[Math.min(turn, script.length - 1)]!);
    });
    const dataDir = path.join(dir, 'agent-data');
    const config = configSchema.parse({
      dataDir,
      modelsDir: dir,
      offline: true,
      agentMaxSteps: 6,
      evalPricePromptPerMTok: 1,
    });
    const logger = createLogger('silent');
    const queue = await openSqliteQueue({ file: sqliteQueueFile(config) });
    const sandbox = new BubblewrapSandbox({ limits: { ...DEFAULT_LIMITS, timeoutMs: 30_000 } });
    const evals = (await createEvalHandlers({
      config,
      logger,
      model: new OpenAiLanguageModel({ baseUrl: server.url, model: 'agent-coder', retries: 0 }),
      sandbox,
    }))!;
    const registry = new HandlerRegistry();
    evals.register(registry);
    const pool = await startWorkers({
      queue,
      config,
      logger,
      registry,
      capabilities: ['eval'],
      concurrency: 2,
      metrics: false,
      drainTimeoutMs: 5000,
    });
    try {
      const runDir = path.join(dir, 'agent-run');
      const run = await submitEvalRun(config, queue, {
        dataset: 'humaneval',
        mode: 'agent',
        temperature: 0,
        model: 'agent-coder',
        problemsFile: DATA_FILES.humaneval,
        tasks: problems.map((p) => p.taskId),
        outDir: runDir,
        concurrency: 2,
      });
      expect(run.total).toBe(3);
      const done = await waitForEvalRun(queue, run.id);
      expect(done.task.state).toBe('completed');
      const verdicts = done.verdicts as SampleVerdict[];
      expect(verdicts.map((v) => [v.task_id, v.status])).toEqual([
        ['HumanEval/2', 'pass'],
        ['HumanEval/4', 'fail'],
        ['HumanEval/7', 'pass'],
      ]);
      for (const [i, v] of verdicts.entries()) {
        expect(v).toMatchObject({ mode: 'agent', agent_status: 'completed' });
        expect(v.metrics).toMatchObject({ steps: 3, toolCalls: 3 });
        expect(v.metrics!.sandboxCpuMs).toBeGreaterThan(0);
        // the workspace held the prompt and what the agent wrote; the hidden tests never entered it
        const trajectory = fs.readFileSync(v.trajectory!, 'utf8');
        expect(trajectory).toContain('"tool":"execute_command"');
        expect(trajectory).not.toContain('def check(candidate)');
        const workspace = path.join(path.dirname(v.trajectory!), 'workspace');
        const files = fs.readdirSync(workspace).filter((f) => f !== '__pycache__');
        expect(files.sort(), problems[i]!.taskId).toEqual(['solution.py', 'task.md']);
      }
      const summary = done.summary!;
      expect(summary).toMatchObject({ mode: 'agent', model: 'agent-coder', temperature: 0, samples: 3 });
      expect(summary.passAtK.base['pass@1']).toBeCloseTo(2 / 3, 12);
      expect(summary.efficiency).toMatchObject({ steps: 9, toolCalls: 9 });
      expect(summary.efficiency!.costUsd).toBeGreaterThan(0);
      expect(server.chatRequests()).toHaveLength(9);
      // the run directory as the parent wrote it: verdicts, summary, the agent's programs
      const onDisk = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as EvalSummary;
      expect(onDisk.perTask).toEqual(summary.perTask);
      const programs = fs.readFileSync(path.join(runDir, 'samples.jsonl'), 'utf8').trim().split('\n');
      expect(programs).toHaveLength(3);
      expect(JSON.parse(programs[1]!)).toEqual({
        task_id: 'HumanEval/4',
        solution: 'def mean_absolute_deviation(numbers):\n    return 0.0\n',
      });
      // each child recorded what its agent produced once
      for (const c of await queue.children(run.id)) expect((await queue.get(c.id))!.task.attempts).toBe(1);
    } finally {
      await pool.stop();
      await evals.close();
      await queue.close();
    }
  }, 600_000);
});
