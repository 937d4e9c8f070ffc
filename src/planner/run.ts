/**
 * The `plan.run` handler: the root of a task tree, an orchestrator that holds its lease for the whole run.
 *
 *  1. Plans (or takes the approved plan), recorded with `ctx.once('plan:0')`: a re-run after a crash reuses
 *     the recorded plan and never asks the model again. A plan over the approval cost ends the task with
 *     status 'awaiting-approval'; approving enqueues a new plan.run carrying the plan.
 *  2. Runs the graph: each ready subtask becomes an ordinary task with the idempotency key
 *     `${rootId}:${subtaskId}`, so a re-run enqueues nothing twice and finds the children where they are.
 *     Ready subtasks run in parallel on the workers of their capability; the results of the subtasks a
 *     subtask needs go into its payload. The root waits on queue events (and a bounded poll), abort-aware.
 *  3. A subtask that died after its last attempt: the rest of its branch is skipped, and once the graph has
 *     settled the tree is re-planned once (revision 1, keys `${rootId}:r1:${subtaskId}`, recorded in
 *     `plan:1`), with what succeeded and what failed. After that, it answers with what succeeded and says
 *     plainly what did not (status 'partial').
 *  4. Composes the answer (text, short spoken summary, files) with the model, recorded in `compose`.
 * Limits per tree: subtasks and depth (checked on the plan), tokens and time (checked while it runs); each
 * stops the tree with a sentence in `limitHit`. Cancelling the root cancels every child (see tree.ts; the
 * root also does it itself when its run is aborted by a cancel).
 */
import type { LanguageModel } from '../providers/types.js';
import type { HandlerContext, TaskHandler } from '../tasks/handlers.js';
import type { Subscription, Task, TaskState } from '../tasks/types.js';
import { JuneError } from '../util/errors.js';
import {
  PLAN_STAGES,
  SUBTASK_KINDS,
  subtaskIdempotencyKey,
  type Plan,
  type PlanCost,
  type PlanRunPayload,
  type PlanRunResult,
  type SubtaskFile,
  type SubtaskPayload,
  type SubtaskResult,
  type SubtaskState,
} from './contract.js';
import { modelGetter, removeTreeWork, type PlannerDeps } from './deps.js';
import { plannerMetrics, planSizeLabel, type PlannerMetrics } from './metrics.js';
import { compose, estimateCost, firstSentences, makePlan, type PlanOutcome, type Usage } from './model.js';
import { checkPlan, SUBTASK_CAPABILITIES, type PlanSubtask } from './plan.js';

type Ctx = HandlerContext<PlanRunPayload>;

interface Outcome {
  sub: PlanSubtask;
  revision: number;
  taskId?: string;
  state: SubtaskState;
  result?: SubtaskResult;
  error?: string;
}

type LimitKind = 'time' | 'tokens' | 'subtasks' | 'depth';

const SETTLED: ReadonlySet<SubtaskState> = new Set(['completed', 'dead', 'cancelled', 'skipped']);

export function createPlanRunHandler(deps: PlannerDeps): TaskHandler<PlanRunPayload, PlanRunResult> {
  const getModel = modelGetter(deps);
  const metrics = deps.metrics === false ? undefined : (deps.metrics ?? plannerMetrics());
  return (ctx) => new TreeRun(deps, ctx, getModel, metrics).run();
}

/** Whether a plan's cost is over the configured approval threshold. */
export function needsApproval(cost: PlanCost, config: PlannerDeps['config']): boolean {
  return (
    cost.subtasks > config.planApprovalSubtasks ||
    cost.estTokens > config.planApprovalTokens ||
    cost.estSeconds > config.planApprovalSeconds
  );
}

class TreeRun {
  private readonly rootId: string;
  private readonly payload: PlanRunPayload;
  private startedAt = 0;
  private deadlineAt = 0;
  private usage: Usage = { prompt: 0, completion: 0 };
  private limitHit: { kind: LimitKind; message: string } | undefined;
  /** Every child task id this run enqueued or found (all revisions). */
  private readonly childIds = new Set<string>();
  private readonly counted = new Set<string>();
  private readonly reported = new Map<string, string>();
  private subscription: Subscription | undefined;
  private wake: (() => void) | undefined;
  private readonly notes: string[] = [];

  constructor(
    private readonly deps: PlannerDeps,
    private readonly ctx: Ctx,
    private readonly getModel: () => Promise<LanguageModel>,
    private readonly metrics: PlannerMetrics | undefined,
  ) {
    this.rootId = ctx.task.id;
    this.payload = ctx.task.payload;
  }

  private get config() {
    return this.deps.config;
  }

  async run(): Promise<PlanRunResult> {
    const p = this.payload as Partial<PlanRunPayload> | undefined;
    if (!p || typeof p.request !== 'string' || (p.request.trim() === '' && !p.approvedPlan))
      throw new JuneError('a plan.run task needs a "request" string', {
        code: 'task_invalid',
        userMessage: 'I did not get what the task should do.',
      });
    this.startedAt = await this.ctx.once('tree:start', () => Promise.resolve(Date.now()));
    this.deadlineAt = this.startedAt + this.config.planMaxSeconds * 1000;
    let result: PlanRunResult | undefined;
    try {
      result = await this.main();
      this.metrics?.treeDuration.observe({ status: result.status }, (Date.now() - this.startedAt) / 1000);
      if (this.limitHit) this.metrics?.limitsHit.inc({ limit: this.limitHit.kind });
      return result;
    } catch (err) {
      if (this.ctx.signal.aborted) await this.onAbort();
      throw err;
    } finally {
      await this.subscription?.close().catch(() => undefined);
      if (result) removeTreeWork(this.config.dataDir, this.rootId);
    }
  }

  /**
   * The run was stopped: when the root was cancelled, every child is cancelled too. The worker stops an
   * attempt for a cancel with a 'cancelled' reason, and records the cancel while this runs, so the reason
   * decides; the root's record only backs it up (read in the middle of that write, as BullMQ may show it,
   * the root can look dead for a moment).
   */
  private async onAbort(): Promise<void> {
    const reason: unknown = this.ctx.signal.reason;
    const byCancel = reason instanceof JuneError && reason.code === 'cancelled';
    if (!byCancel) {
      const root = await this.deps.queue.get(this.rootId).catch(() => undefined);
      if (!root || !(root.task.cancelRequested || root.task.state === 'cancelled')) return;
    }
    for (const id of this.childIds) await this.deps.queue.cancel(id).catch(() => false);
    removeTreeWork(this.config.dataDir, this.rootId);
  }

  private async main(): Promise<PlanRunResult> {
    const capabilities = await this.servedCapabilities();
    const first = await this.ctx.once('plan:0', () => this.firstPlan(capabilities));
    this.usage = addUsage(this.usage, first.usage);
    if (!first.ok) {
      if (first.limit) this.limitHit = first.limit;
      return this.rejected(first.errors);
    }
    const plan = first.plan;
    const cost = estimateCost(plan);
    const approval = !this.payload.approvedPlan && needsApproval(cost, this.config);
    await this.progress(PLAN_STAGES.plan, { plan, revision: 0, needsApproval: approval, cost });
    this.metrics?.plans.inc({
      size: planSizeLabel(plan.subtasks.length),
      approval: approval ? 'asked' : this.payload.approvedPlan ? 'approved' : 'none',
    });
    if (approval) return this.awaitingApproval(plan, cost);

    const r0 = await this.runGraph(plan, 0);
    let outcomes = r0;
    let finalRevision = r0;
    if (!this.limitHit && r0.some((o) => o.state === 'dead')) {
      const used = r0.filter((o) => o.taskId !== undefined).length;
      const room = this.config.planMaxSubtasks - used;
      if (room <= 0) {
        this.limitHit = {
          kind: 'subtasks',
          message: `The task reached its limit of ${this.config.planMaxSubtasks} subtasks (JUNE_PLAN_MAX_SUBTASKS), so the failed part was not planned again.`,
        };
      } else if (this.checkTime() && this.checkTokens()) {
        const second = await this.ctx.once('plan:1', () => this.replan(plan, r0, room, capabilities));
        this.usage = addUsage(this.usage, second.usage);
        if (second.ok) {
          const cost1 = estimateCost(second.plan);
          await this.progress(PLAN_STAGES.plan, {
            plan: second.plan,
            revision: 1,
            needsApproval: false,
            cost: cost1,
          });
          const r1 = await this.runGraph(second.plan, 1);
          outcomes = [...r0, ...r1];
          finalRevision = r1;
        } else {
          this.notes.push(`A new plan for the failed part could not be made: ${second.errors.join(' ')}`);
        }
      }
    }
    return this.finish(plan, outcomes, finalRevision);
  }

  // ---------------------------------------------------------------- planning

  /** The subtask capabilities some registered worker serves right now. */
  private async servedCapabilities(): Promise<string[]> {
    const workers = await this.deps.queue.listWorkers();
    const served = new Set(workers.flatMap((w) => w.capabilities));
    return SUBTASK_CAPABILITIES.filter((c) => served.has(SUBTASK_KINDS[c].capability));
  }

  private limits(capabilities: string[], maxSubtasks = this.config.planMaxSubtasks) {
    return { maxSubtasks, maxDepth: this.config.planMaxDepth, capabilities };
  }

  private async firstPlan(capabilities: string[]): Promise<PlanOutcome> {
    const approved = this.payload.approvedPlan;
    if (approved) {
      const check = checkPlan(approved, this.limits(capabilities));
      const usage = { prompt: 0, completion: 0 };
      return check.ok
        ? { ok: true, plan: check.plan, usage, attempts: 0 }
        : {
            ok: false,
            errors: check.errors,
            usage,
            attempts: 0,
            ...(check.limit ? { limit: check.limit } : {}),
          };
    }
    await this.progress(PLAN_STAGES.planning);
    return makePlan({
      llm: await this.getModel(),
      request: this.payload.request,
      limits: this.limits(capabilities),
      signal: this.ctx.signal,
      maxTokens: this.config.llmMaxTokens,
      temperature: this.config.llmTemperature,
      ...(this.payload.language ? { language: this.payload.language } : {}),
    });
  }

  private async replan(
    plan: Plan,
    r0: Outcome[],
    room: number,
    capabilities: string[],
  ): Promise<PlanOutcome> {
    this.metrics?.replans.inc();
    await this.progress(PLAN_STAGES.planning);
    const lines = [`An earlier plan for this request ("${plan.goal}") ran, and part of it failed.`];
    for (const o of r0) {
      if (o.state === 'completed') lines.push(`- ${o.sub.id} succeeded: ${clip(o.result?.text ?? '', 1500)}`);
      else if (o.state === 'dead') lines.push(`- ${o.sub.id} failed: ${o.error ?? 'unknown error'}`);
      else lines.push(`- ${o.sub.id} was not run (${o.state}).`);
    }
    lines.push(
      'Make a new plan for what is still missing only. Put what a new subtask needs of the results above into its inputs; do the failed part another way if you can.',
    );
    return makePlan({
      llm: await this.getModel(),
      request: this.payload.request,
      context: lines.join('\n'),
      limits: this.limits(capabilities, room),
      signal: this.ctx.signal,
      maxTokens: this.config.llmMaxTokens,
      temperature: this.config.llmTemperature,
      ...(this.payload.language ? { language: this.payload.language } : {}),
    });
  }

  // ---------------------------------------------------------------- running the graph

  private async runGraph(plan: Plan, revision: number): Promise<Outcome[]> {
    const outcomes = new Map<string, Outcome>(
      plan.subtasks.map((s) => [s.id, { sub: s, revision, state: 'queued' as SubtaskState }]),
    );
    const enqueued = new Set<string>();
    for (;;) {
      this.throwIfAborted();
      // a subtask whose needed subtask failed cannot run
      let changed = true;
      while (changed) {
        changed = false;
        for (const o of outcomes.values()) {
          if (enqueued.has(o.sub.id) || o.state === 'skipped') continue;
          const blocked = o.sub.needs.find((n) => {
            const st = outcomes.get(n)?.state;
            return st === 'dead' || st === 'cancelled' || st === 'skipped';
          });
          if (blocked) {
            o.state = 'skipped';
            o.error = `not run because ${blocked} did not complete`;
            changed = true;
            this.metrics?.subtasks.inc({ capability: o.sub.capability, outcome: 'skipped' });
            await this.reportSubtask(o, `skipped:${revision}:${o.sub.id}`);
          }
        }
      }
      if (!this.limitHit && this.checkTime()) this.checkTokens();
      if (!this.limitHit) {
        for (const o of outcomes.values()) {
          if (enqueued.has(o.sub.id) || o.state === 'skipped') continue;
          if (!o.sub.needs.every((n) => outcomes.get(n)?.state === 'completed')) continue;
          await this.enqueue(o, outcomes);
          enqueued.add(o.sub.id);
        }
      }
      if (this.limitHit) {
        await this.stopUnfinished(outcomes, enqueued);
        return [...outcomes.values()];
      }
      if ([...outcomes.values()].every((o) => SETTLED.has(o.state))) return [...outcomes.values()];
      await this.waitForChange();
      for (const o of outcomes.values()) if (o.taskId && !SETTLED.has(o.state)) await this.refresh(o);
    }
  }

  private async enqueue(o: Outcome, all: Map<string, Outcome>): Promise<void> {
    const { kind, capability } = SUBTASK_KINDS[o.sub.capability];
    const payload: SubtaskPayload = {
      treeId: this.rootId,
      subtaskId: o.sub.id,
      instructions: o.sub.instructions,
      inputs: o.sub.inputs ?? {},
      needs: o.sub.needs.map((n) => ({ id: n, result: all.get(n)?.result?.text ?? '' })),
      deadlineAt: this.deadlineAt,
      maxTokens: Math.max(1000, this.config.planMaxTokens - total(this.usage)),
    };
    await this.subscribe();
    const taskId = await this.deps.queue.enqueue({
      kind,
      capability,
      payload,
      idempotencyKey: subtaskIdempotencyKey(this.rootId, o.sub.id, o.revision),
    });
    o.taskId = taskId;
    this.childIds.add(taskId);
    await this.refresh(o);
    if (o.state === 'queued') await this.reportSubtask(o);
  }

  /** Reads the child's state from the queue; records a settled child's result, tokens and metrics. */
  private async refresh(o: Outcome): Promise<void> {
    if (!o.taskId) return;
    const detail = await this.deps.queue.get(o.taskId);
    if (!detail) return;
    const task = detail.task;
    const state = viewState(task.state);
    if (state === 'completed') {
      o.result = asResult(task.result);
      if (!this.counted.has(task.id)) {
        this.counted.add(task.id);
        if (o.result.tokens) this.usage = addUsage(this.usage, o.result.tokens);
      }
    } else if (state === 'dead' || state === 'cancelled') {
      o.error = task.error?.userMessage ?? task.error?.message ?? state;
    }
    if (state !== o.state) {
      const was = o.state;
      o.state = state;
      if (SETTLED.has(state) && !SETTLED.has(was))
        this.metrics?.subtasks.inc({ capability: o.sub.capability, outcome: state });
      await this.reportSubtask(o, undefined, activityOf(task));
    }
  }

  private async reportSubtask(o: Outcome, key?: string, activity?: string): Promise<void> {
    const k = key ?? o.taskId ?? o.sub.id;
    if (this.reported.get(k) === o.state) return;
    this.reported.set(k, o.state);
    await this.progress(PLAN_STAGES.subtask, {
      subtaskId: o.sub.id,
      taskId: o.taskId ?? '',
      capability: o.sub.capability,
      revision: o.revision,
      state: o.state,
      ...(activity ? { activity } : {}),
    });
  }

  /** A limit was hit: children still running are cancelled, those not started are skipped. */
  private async stopUnfinished(outcomes: Map<string, Outcome>, enqueued: Set<string>): Promise<void> {
    for (const o of outcomes.values()) {
      if (SETTLED.has(o.state)) continue;
      if (o.taskId && enqueued.has(o.sub.id)) {
        await this.deps.queue.cancel(o.taskId);
        await this.refresh(o);
        if (!SETTLED.has(o.state)) {
          o.state = 'cancelled';
          o.error = 'stopped by the limit';
          this.metrics?.subtasks.inc({ capability: o.sub.capability, outcome: 'cancelled' });
          await this.reportSubtask(o);
        }
      } else {
        o.state = 'skipped';
        o.error = 'not run: the limit was reached first';
        this.metrics?.subtasks.inc({ capability: o.sub.capability, outcome: 'skipped' });
        await this.reportSubtask(o, `skipped:${o.revision}:${o.sub.id}`);
      }
    }
  }

  private checkTime(): boolean {
    if (Date.now() < this.deadlineAt) return true;
    this.limitHit ??= {
      kind: 'time',
      message: `The task took longer than its limit of ${this.config.planMaxSeconds} seconds (JUNE_PLAN_MAX_SECONDS), so what was unfinished was stopped.`,
    };
    return false;
  }

  private checkTokens(): boolean {
    if (total(this.usage) < this.config.planMaxTokens) return true;
    this.limitHit ??= {
      kind: 'tokens',
      message: `The task used more than its limit of ${this.config.planMaxTokens} tokens (JUNE_PLAN_MAX_TOKENS), so what was unfinished was stopped.`,
    };
    return false;
  }

  private async subscribe(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.deps.queue.subscribe((ev) => {
      if (ev.taskId === this.rootId || this.childIds.has(ev.taskId)) this.wake?.();
    });
  }

  /** Until a child's state changes, the poll interval passes, the deadline comes, or the run is aborted. */
  private async waitForChange(): Promise<void> {
    const ms = Math.max(1, Math.min(this.deps.pollMs ?? 1000, this.deadlineAt - Date.now()));
    const signal = this.ctx.signal;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
    this.throwIfAborted();
  }

  private throwIfAborted(): void {
    if (this.ctx.signal.aborted) {
      const reason: unknown = this.ctx.signal.reason;
      throw reason instanceof Error
        ? reason
        : new JuneError('the task tree was stopped', { code: 'cancelled' });
    }
  }

  private progress(stage: string, data?: unknown): Promise<void> {
    return this.ctx.reportProgress(stage, data);
  }

  // ---------------------------------------------------------------- the answer

  private async finish(plan: Plan, outcomes: Outcome[], last: Outcome[]): Promise<PlanRunResult> {
    const done = outcomes.filter((o) => o.state === 'completed');
    const replanned = last !== outcomes;
    const lastFailed = last.filter((o) => o.state !== 'completed');
    const status: PlanRunResult['status'] =
      done.length === 0 ? 'failed' : lastFailed.length === 0 && !this.limitHit ? 'completed' : 'partial';
    // after a re-plan that made up for the failures, they are not reported as failures
    const failures =
      status === 'completed' ? [] : replanned ? outcomes.filter((o) => o.state !== 'completed') : lastFailed;
    const files = dedupeFiles(done.flatMap((o) => o.result?.files ?? []));
    let answer: string;
    let summary: string;
    // out of tokens or time: no more model calls; the answer lists what was done
    const canCompose = !this.limitHit || this.limitHit.kind === 'subtasks';
    if (done.length > 0 && canCompose && this.checkTime() && this.checkTokens()) {
      await this.progress(PLAN_STAGES.composing);
      const composed = await this.ctx.once('compose', async () =>
        compose({
          llm: await this.getModel(),
          request: this.payload.request || plan.goal,
          goal: plan.goal,
          done: done.map((o) => ({
            id: label(o),
            instructions: o.sub.instructions,
            result: o.result?.text ?? '',
          })),
          failed: failures.map((o) => ({
            id: label(o),
            instructions: o.sub.instructions,
            error: o.error ?? o.state,
          })),
          signal: this.ctx.signal,
          maxTokens: this.config.llmMaxTokens,
          temperature: this.config.llmTemperature,
          ...(this.payload.language ? { language: this.payload.language } : {}),
        }),
      );
      this.usage = addUsage(this.usage, composed.usage);
      answer = composed.answer;
      summary = composed.summary;
    } else {
      answer = done.map((o) => `${label(o)}: ${o.result?.text ?? ''}`).join('\n\n');
      summary =
        done.length === 0
          ? 'I could not do this task.'
          : `I did ${done.length} of ${done.length + failures.length} steps of this task.`;
    }
    const plain = plainFailures(failures, this.limitHit?.message, this.notes);
    if (plain) {
      answer = answer ? `${answer}\n\n${plain}` : plain;
      if (done.length === 0) summary = firstSentences(plain, 2);
    }
    return {
      status,
      answer,
      summary,
      files,
      plan,
      subtasks: outcomes.map((o) => ({
        id: label(o),
        capability: o.sub.capability,
        ...(o.taskId ? { taskId: o.taskId } : {}),
        state: o.state,
        ...(o.error && o.state !== 'completed' ? { error: o.error } : {}),
      })),
      ...(this.limitHit ? { limitHit: this.limitHit.message } : {}),
    };
  }

  private rejected(errors: string[]): PlanRunResult {
    const answer = `I could not make a workable plan for this: ${errors.join(' ')}`;
    return {
      status: 'rejected',
      answer,
      summary: 'I could not make a workable plan for this task.',
      files: [],
      subtasks: [],
      ...(this.limitHit ? { limitHit: this.limitHit.message } : {}),
    };
  }

  private awaitingApproval(plan: Plan, cost: PlanCost): PlanRunResult {
    const steps = plan.subtasks.map((s, i) => `${i + 1}. [${s.capability}] ${s.instructions}`).join('\n');
    const minutes = Math.max(1, Math.round(cost.estSeconds / 60));
    return {
      status: 'awaiting-approval',
      answer: `This plan needs your approval (${cost.subtasks} steps, about ${minutes} min and ${cost.estTokens} tokens):\n${plan.goal}\n${steps}`,
      summary: `The plan has ${cost.subtasks} steps and takes about ${minutes} minutes. Approve it to start.`,
      files: [],
      plan,
      subtasks: plan.subtasks.map((s) => ({ id: s.id, capability: s.capability, state: 'pending' })),
    };
  }
}

function label(o: Outcome): string {
  return o.revision === 0 ? o.sub.id : `r${o.revision}:${o.sub.id}`;
}

function plainFailures(failures: Outcome[], limit: string | undefined, notes: string[]): string {
  const lines: string[] = [];
  if (limit) lines.push(limit);
  for (const o of failures)
    lines.push(`Not done: ${label(o)} (${clip(o.sub.instructions, 80)}): ${o.error ?? o.state}.`);
  lines.push(...notes);
  return lines.join('\n');
}

function viewState(state: TaskState): SubtaskState {
  switch (state) {
    case 'completed':
    case 'dead':
    case 'cancelled':
      return state;
    case 'active':
    case 'waiting-children':
      return 'active';
    default:
      return 'queued';
  }
}

function activityOf(task: Task): string | undefined {
  const data = task.progress?.data as { activity?: unknown } | undefined;
  return typeof data?.activity === 'string' ? data.activity : undefined;
}

function asResult(value: unknown): SubtaskResult {
  const r = (value ?? {}) as Partial<SubtaskResult>;
  const text =
    typeof r.text === 'string' ? r.text : typeof value === 'string' ? value : JSON.stringify(value ?? '');
  const tokens =
    r.tokens && typeof r.tokens.prompt === 'number' && typeof r.tokens.completion === 'number'
      ? r.tokens
      : undefined;
  const files = Array.isArray(r.files)
    ? r.files.filter((f): f is SubtaskFile => typeof f?.name === 'string' && typeof f.path === 'string')
    : undefined;
  return { text, ...(tokens ? { tokens } : {}), ...(files ? { files } : {}) };
}

function dedupeFiles(files: SubtaskFile[]): SubtaskFile[] {
  const seen = new Set<string>();
  return files.filter((f) => (seen.has(f.path) ? false : (seen.add(f.path), true)));
}

function addUsage(a: Usage, b: Usage): Usage {
  return { prompt: a.prompt + b.prompt, completion: a.completion + b.completion };
}

const total = (u: Usage) => u.prompt + u.completion;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);
