/**
 * The channel side of a plan tree's root: wraps the planner's `plan.run` handler (src/planner) so that a
 * plan asked for in a chat shows there. While it runs, one status message is edited from the root's
 * progress events ("Plan: 2 of 4 done: searching…"). When it ends:
 *   - awaiting approval: the plan, numbered with each subtask's capability, and a "Run the plan" button
 *     (where the channel has buttons; `/go` always works);
 *   - otherwise: the short summary as a voice note when the request was spoken, the answer as text, and
 *     each file as a document.
 * Every part is a recorded step (`once`), so a retried root sends nothing twice. The outcome is also kept
 * in the chat's conversation (the plan shown, or the answer; for `/plan` the request too), so the next
 * turn's model knows what the plan did and the web page's history shows it. A root without a chat (the
 * API, the CLI) runs as the planner alone.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../observability/logger.js';
import type { PlanProgressData, PlanRunPayload, PlanRunResult, SubtaskFile } from '../planner/contract.js';
import type { ChatMessage } from '../providers/types.js';
import type { HandlerContext, TaskHandler } from '../tasks/handlers.js';
import { CancelledError, toJuneError } from '../util/errors.js';
import type { SpeakSummary } from './code-reply.js';
import { spokenSummary } from './code-reply.js';
import { deliverReply, sendWithRetry, type DeliveryOptions } from './delivery.js';
import { APPROVE_DATA_PREFIX, planReplyTarget } from './plan-tasks.js';
import { planFinalLine, PlanStatusLine, PLAN_STATUS_STARTING } from './plan-status.js';
import { statusMessage } from './status-message.js';
import type { ConversationStore } from './store/conversations.js';
import type { ChannelAdapter, ReplyTarget, VoiceNote } from './types.js';

export const APPROVE_BUTTON_LABEL = 'Run the plan';
/** Largest file sent back as a document; a bigger one is named in the text instead. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

export interface PlanDeliveryDeps {
  adapter: (channel: string) => ChannelAdapter | undefined;
  logger: Logger;
  speak?: SpeakSummary;
  /** Least time between two edits of the status message. */
  editIntervalMs: number;
  /** Where the outcome is kept (the chat's conversation); absent: not kept. */
  conversations?: Pick<ConversationStore, 'appendMessages'>;
}

/** The plan as the user sees it before approving: numbered subtasks with their capability and needs. */
export function planApprovalText(
  plan: NonNullable<PlanRunResult['plan']>,
  cost?: PlanProgressData['cost'],
): string {
  const index = new Map(plan.subtasks.map((s, i) => [s.id, i + 1]));
  const lines = plan.subtasks.map((s, i) => {
    const needs = s.needs.map((n) => index.get(n)).filter((n) => n !== undefined);
    const after = needs.length ? ` (after ${needs.join(', ')})` : '';
    return `${i + 1}. [${s.capability}] ${s.instructions.replace(/\s+/g, ' ').trim()}${after}`;
  });
  const size = cost
    ? `${cost.subtasks} steps, about ${cost.estTokens} tokens and ${Math.max(1, Math.round(cost.estSeconds / 60))} min`
    : `${plan.subtasks.length} steps`;
  return [
    `Here is my plan for: ${plan.goal}`,
    ...lines,
    `That is ${size}. Shall I run it? Press "${APPROVE_BUTTON_LABEL}" or send /go.`,
  ].join('\n');
}

/**
 * What the conversation keeps of a plan: the `/plan` request as the user's message (a plan the chat model
 * started is already in its turn; an approved run's request is under the plan it approved) and the plan
 * shown for approval, or the answer, as the assistant's.
 */
export function planConversationMessages(
  payload: PlanRunPayload,
  result: PlanRunResult,
  cost?: PlanProgressData['cost'],
): ChatMessage[] {
  const asked = payload.forcePlan && !payload.approvedFrom;
  const answer =
    result.status === 'awaiting-approval' && result.plan
      ? planApprovalText(result.plan, cost)
      : result.answer?.trim() || planFinalLine(result);
  return [
    ...(asked ? [{ role: 'user' as const, content: `/plan ${payload.request}` }] : []),
    { role: 'assistant', content: answer },
  ];
}

const MIME: Record<string, string> = {
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.pdf': 'application/pdf',
  '.diff': 'text/x-diff',
  '.patch': 'text/x-diff',
};

/** The root's handler, delivering to the chat named in its payload. */
export function wrapPlanRunHandler(
  inner: TaskHandler<PlanRunPayload, PlanRunResult>,
  deps: PlanDeliveryDeps,
): TaskHandler<PlanRunPayload, PlanRunResult> {
  return async (ctx) => {
    const target = planReplyTarget(ctx.task.payload);
    if (!target) return inner(ctx);
    const channel = deps.adapter(target.channel);
    if (!channel) ctx.logger.warn({ channel: target.channel }, 'no adapter for the channel a plan came from');
    const status = statusMessage(channel, {
      target,
      initial: PLAN_STATUS_STARTING,
      once: ctx.once,
      signal: ctx.signal,
      logger: ctx.logger,
      editIntervalMs: deps.editIntervalMs,
      step: 'plan:status',
    });
    const line = new PlanStatusLine();
    let cost: PlanProgressData['cost'] | undefined;
    const wrapped: HandlerContext<PlanRunPayload> = {
      task: ctx.task,
      attempt: ctx.attempt,
      signal: ctx.signal,
      workerId: ctx.workerId,
      logger: ctx.logger,
      once: ctx.once,
      children: ctx.children,
      willRetry: ctx.willRetry,
      reportProgress: async (stage, data) => {
        if (stage === 'plan') cost = (data as PlanProgressData | undefined)?.cost ?? cost;
        const next = line.event(stage, data);
        if (next) status.update(next);
        await ctx.reportProgress(stage, data);
      },
    };
    const opts: DeliveryOptions = { once: ctx.once, signal: ctx.signal, logger: ctx.logger };
    let result: PlanRunResult;
    try {
      result = await inner(wrapped);
    } catch (err) {
      const e = toJuneError(err);
      const cancelled = ctx.signal.aborted || e.code === 'cancelled';
      const retried = !cancelled && ctx.willRetry(e);
      if (!retried) await status.finish(planFinalLine({ status: cancelled ? 'cancelled' : 'failed' }));
      if (!retried && !cancelled && channel)
        await ctx
          .once('plan:deliver:error', () =>
            sendWithRetry(() => channel.sendText(target, e.userMessage), opts),
          )
          .catch((sendErr: unknown) =>
            ctx.logger.warn({ err: String(sendErr) }, 'could not tell the user the plan failed'),
          );
      throw err;
    }
    // a cancelled tree says so in its status line; it sends nothing more
    if (ctx.signal.aborted) {
      await status.finish(planFinalLine({ status: 'cancelled', subtasks: result.subtasks }));
      throw new CancelledError('the plan was cancelled');
    }
    await status.finish(planFinalLine(result));
    if (channel) await deliverPlanResult(channel, target, ctx, result, cost, deps, opts);
    if (deps.conversations) {
      const conversations = deps.conversations;
      await ctx.once('plan:conversation', async () => {
        conversations.appendMessages(
          { channel: target.channel, chatId: target.chatId, userId: target.userId },
          ctx.task.id,
          planConversationMessages(ctx.task.payload, result, cost),
        );
        return true;
      });
    }
    return result;
  };
}

async function deliverPlanResult(
  channel: ChannelAdapter,
  target: ReplyTarget,
  ctx: HandlerContext<PlanRunPayload>,
  result: PlanRunResult,
  cost: PlanProgressData['cost'] | undefined,
  deps: PlanDeliveryDeps,
  opts: DeliveryOptions,
): Promise<void> {
  const once = ctx.once;
  if (result.status === 'awaiting-approval' && result.plan) {
    const text = planApprovalText(result.plan, cost);
    if (channel.sendChoice) {
      const choices = [{ label: APPROVE_BUTTON_LABEL, data: `${APPROVE_DATA_PREFIX}${ctx.task.id}` }];
      await once('plan:deliver:approval', () =>
        sendWithRetry(() => channel.sendChoice!(target, text, choices), opts),
      );
    } else {
      await deliverReply(channel, target, { text }, { ...opts, once: (s, fn) => once(`plan:${s}`, fn) });
    }
    return;
  }
  const { spoke, language } = ctx.task.payload;
  let voice: VoiceNote | undefined;
  const summary = result.summary?.trim() || spokenSummary({ status: 'completed', answer: result.answer });
  if (spoke && deps.speak && summary) {
    voice = await deps
      .speak(summary, { ...(language ? { language } : {}), signal: ctx.signal })
      .catch((err: unknown) => {
        ctx.logger.warn({ err: String(err) }, 'could not speak the plan summary; sending text only');
        return undefined;
      });
    // the voice note carries the summary; the full answer follows as text
    if (voice)
      await once('plan:deliver:voice', () => sendWithRetry(() => channel.sendVoice(target, voice!), opts));
  }
  const answer = result.answer?.trim() || summary || planFinalLine(result);
  await deliverReply(channel, target, { text: answer }, { ...opts, once: (s, fn) => once(`plan:${s}`, fn) });
  for (const [i, file] of (result.files ?? []).entries()) await sendFile(channel, target, file, i, ctx, opts);
}

async function sendFile(
  channel: ChannelAdapter,
  target: ReplyTarget,
  file: SubtaskFile,
  i: number,
  ctx: HandlerContext<PlanRunPayload>,
  opts: DeliveryOptions,
): Promise<void> {
  const name = path.basename(file.name || file.path);
  await ctx.once(`plan:deliver:file:${i}`, async () => {
    const data = await fs.readFile(file.path).catch(() => undefined);
    if (!data)
      return sendWithRetry(() => channel.sendText(target, `(The file ${name} is no longer there.)`), opts);
    if (!channel.sendDocument || data.length > MAX_FILE_BYTES)
      return sendWithRetry(
        () => channel.sendText(target, `(The file ${name} could not be sent here: ${data.length} bytes.)`),
        opts,
      );
    const doc = {
      data,
      fileName: name,
      mimeType: MIME[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
    };
    return sendWithRetry(() => channel.sendDocument!(target, doc), opts);
  });
}
