/**
 * The conversation routes: list, create, read back, rename, reset and delete. A user token sees only its
 * own web conversations; admin sees every channel's. The page uses them to show the history after a
 * reload and to keep a list of chats. Titles are kept exactly as typed (the conversation's id is a separate
 * generated name), and an untitled conversation is called by the start of its first message until the page
 * asks for a title from the model (POST …/title, after the first answer; a title the user gave wins).
 * A coding run kept in a conversation (its request, its outcome) is a turn with `code` set, so the page
 * can show the run again after a reload; a plan's turn has `plan` set, for the same reason.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { CODE_TASK_KIND, type CodeTaskPayload } from '../../agent/code-contract.js';
import type { ChannelTurnPayload } from '../../channels/turn-task.js';
import type {
  ConversationRef,
  ConversationSummary as StoredSummary,
  StoredMessage,
} from '../../channels/store/conversations.js';
import { conversationKey } from '../../channels/store/conversations.js';
import { askTitle } from '../../channels/conversation-title.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { Caller } from '../auth.js';
import { codeLinks } from '../code-view.js';
import { PLAN_RUN_KIND } from '../../planner/contract.js';
import { planLinks } from './plans.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import {
  ConversationCreate,
  ConversationDeleted,
  ConversationIdParams,
  ConversationList,
  ConversationMessages,
  ConversationMessagesQuery,
  ConversationRename,
  ConversationReset,
  ConversationSummary,
  type ConversationTurn,
} from '../schemas.js';
import { canSee, resultAudioId, taskLinks } from '../task-view.js';
import { WEB_CHANNEL } from '../web-adapter.js';

const SCAN = 10_000;
const TITLE_CHARS = 60;
const UNTITLED = 'New chat';
const TITLE_TIMEOUT_MS = 30_000;

/** The start of the first message, cut at a word, as an untitled conversation's name. */
export function titleFromText(text: string | undefined): string | undefined {
  const flat = text?.replace(/\s+/g, ' ').trim();
  if (!flat) return undefined;
  if (flat.length <= TITLE_CHARS) return flat;
  const cut = flat.slice(0, TITLE_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${(space > TITLE_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function summaryView(c: StoredSummary, caller: Caller): z.output<typeof ConversationSummary> {
  return {
    id: c.key,
    channel: c.channel,
    conversation: c.chatId,
    userId: c.userId,
    title: c.title ?? titleFromText(c.firstMessage) ?? UNTITLED,
    titled: c.title !== undefined,
    mine: c.channel === WEB_CHANNEL && c.userId === caller.userId,
    updatedAt: c.updatedAt,
    ...(c.lastMessageAt !== undefined ? { lastMessageAt: c.lastMessageAt } : {}),
    messages: c.messages,
  };
}

export function conversationRoutes(deps: WebDeps): AnyRoute[] {
  const store = deps.runtime.conversations;
  const visible = (caller: Caller) =>
    caller.scope === 'admin'
      ? store.list({ limit: SCAN })
      : store.list({ channel: WEB_CHANNEL, limit: SCAN }).filter((c) => c.userId === caller.userId);

  /**
   * An existing conversation the caller may see: by its full id (channel:chat:user) from the list, or by
   * the name of one of the caller's own web conversations. A name never used is no conversation.
   */
  const find = (caller: Caller, id: string): StoredSummary => {
    const known = visible(caller).find(
      (c) => c.key === id || (c.channel === WEB_CHANNEL && c.chatId === id && c.userId === caller.userId),
    );
    if (!known) throw new ApiError('not_found', `No conversation ${id}.`);
    return known;
  };
  const refOf = (c: StoredSummary): ConversationRef => ({
    channel: c.channel,
    chatId: c.chatId,
    userId: c.userId,
  });

  /** The stored messages as turns (a question and its answer share a task id), with audio and timings. */
  const turnsOf = async (caller: Caller, messages: StoredMessage[]) => {
    const turns: Array<z.output<typeof ConversationTurn>> = [];
    const byTask = new Map<string, z.output<typeof ConversationTurn>>();
    for (const m of messages) {
      let turn = m.taskId ? byTask.get(m.taskId) : undefined;
      if (!turn) {
        turn = { ...(m.taskId ? { taskId: m.taskId } : {}), at: m.createdAt, voice: false };
        turns.push(turn);
        if (m.taskId) byTask.set(m.taskId, turn);
      }
      if (m.role === 'user') turn.user = m.content;
      else if (m.role === 'assistant') turn.reply = m.content;
    }
    for (const [taskId, turn] of byTask) {
      const task = (await deps.queue.get(taskId).catch(() => undefined))?.task;
      if (!task || !canSee(caller, task)) continue;
      if (task.kind === PLAN_RUN_KIND) {
        // a plan: the page shows it again from the plan's own view (status, plan, approval, answer, files)
        turn.plan = { state: task.state, links: planLinks(taskId) };
        continue;
      }
      if (task.kind === CODE_TASK_KIND) {
        // a coding run: the page shows it again from the run itself (steps, answer, the changes)
        const request = (task.payload as Partial<CodeTaskPayload> | undefined)?.task;
        turn.code = {
          task: typeof request === 'string' ? request : '',
          state: task.state,
          links: codeLinks(taskId),
        };
        continue;
      }
      turn.voice = (task.payload as Partial<ChannelTurnPayload> | undefined)?.attachment !== undefined;
      if (resultAudioId(task)) turn.audio = taskLinks(taskId, true).audio!;
      const timings = (task.result as { timings?: Record<string, unknown> } | undefined)?.timings;
      if (timings) {
        const numbers = Object.entries(timings).filter(
          (e): e is [string, number] => typeof e[1] === 'number',
        );
        if (numbers.length) turn.timings = Object.fromEntries(numbers);
      }
    }
    return turns;
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/conversations',
      tag: 'conversations',
      auth: 'user',
      summary: 'Conversations, most recent first',
      description: 'Each with its title and the time of its last message.',
      responses: { 200: { description: 'The conversations', schema: ConversationList } },
      async handler({ caller }) {
        return {
          conversations: visible(caller)
            .slice(0, 500)
            .map((c) => summaryView(c, caller)),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/conversations',
      tag: 'conversations',
      auth: 'user',
      summary: 'Start a new web conversation',
      description:
        'Makes a conversation with a fresh name (send messages with `conversation` set to it) and an ' +
        'optional title. Without a title it is named by its first message.',
      body: ConversationCreate,
      responses: {
        201: { description: 'The new conversation', schema: ConversationSummary },
        400: { description: 'invalid_request: a bad title' },
      },
      async handler({ body, caller, reply }) {
        const ref = {
          channel: WEB_CHANNEL,
          chatId: `c-${randomBytes(9).toString('base64url')}`,
          userId: caller.userId,
        };
        store.ensure(ref);
        if (body.title !== undefined) store.setTitle(ref, body.title);
        const created = find(caller, conversationKey(ref));
        deps.logger.info({ conversation: created.key }, 'conversation created');
        return reply.status(201).send(summaryView(created, caller));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/conversations/:id/messages',
      tag: 'conversations',
      auth: 'user',
      summary: 'The turns of a conversation',
      description:
        'Since its last reset, oldest first: what the user said, the reply text, a link to the voice ' +
        'reply and the stage timings.',
      params: ConversationIdParams,
      query: ConversationMessagesQuery,
      responses: {
        200: { description: 'The turns', schema: ConversationMessages },
        404: { description: 'not_found (also for conversations of other users)' },
      },
      async handler({ params, query, caller }) {
        const c = find(caller, params.id);
        const turns = await turnsOf(caller, store.messages(refOf(c), query.limit));
        return { id: c.key, title: summaryView(c, caller).title, turns };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/conversations/:id/rename',
      tag: 'conversations',
      auth: 'user',
      summary: 'Give a conversation a title',
      description: 'The title is kept exactly as sent (trimmed); punctuation and spaces stay.',
      params: ConversationIdParams,
      body: ConversationRename,
      responses: {
        200: { description: 'The renamed conversation', schema: ConversationSummary },
        400: { description: 'invalid_request: an empty or too long title, or control characters' },
        404: { description: 'not_found (also for conversations of other users)' },
      },
      async handler({ params, body, caller }) {
        const c = find(caller, params.id);
        store.setTitle(refOf(c), body.title);
        return summaryView(find(caller, c.key), caller);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/conversations/:id/title',
      tag: 'conversations',
      auth: 'user',
      summary: 'Have the model title a conversation',
      description:
        'Asks the language model for a short title from the first message (one small request, made ' +
        'after the answer, never during a turn) and keeps it only while the conversation has no title: ' +
        'a title the user gave first, or meanwhile, stays. Answers the conversation as it is then; ' +
        'without a loaded model it stays named by its first message.',
      params: ConversationIdParams,
      responses: {
        200: { description: 'The conversation', schema: ConversationSummary },
        404: { description: 'not_found (also for conversations of other users)' },
      },
      async handler({ params, caller }) {
        const c = find(caller, params.id);
        const llm = deps.runtime.pipeline.languageModel?.();
        if (c.title === undefined && c.firstMessage && llm) {
          const title = await askTitle(llm, c.firstMessage, AbortSignal.timeout(TITLE_TIMEOUT_MS)).catch(
            (err: unknown) => {
              deps.logger.info({ err: String(err), conversation: c.key }, 'no title from the model');
              return undefined;
            },
          );
          if (title) store.suggestTitle(refOf(c), title);
        }
        return summaryView(find(caller, c.key), caller);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/conversations/:id/reset',
      tag: 'conversations',
      auth: 'user',
      summary: 'Start a conversation afresh',
      description: 'Old messages stay on disk but are no longer sent to the LLM, like /new in a chat.',
      params: ConversationIdParams,
      responses: {
        200: { description: 'Reset', schema: ConversationReset },
        404: { description: 'not_found (also for conversations of other users)' },
      },
      async handler({ params, caller }) {
        const ref = refOf(find(caller, params.id));
        store.reset(ref);
        return { id: conversationKey(ref), reset: true as const };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/conversations/:id/delete',
      tag: 'conversations',
      auth: 'user',
      summary: 'Delete a conversation',
      description:
        'Removes its messages (of every reset), its title and its settings. The tasks that answered ' +
        'stay in the task history until they are pruned.',
      params: ConversationIdParams,
      responses: {
        200: { description: 'Deleted', schema: ConversationDeleted },
        404: { description: 'not_found (also for conversations of other users)' },
      },
      async handler({ params, caller }) {
        const c = find(caller, params.id);
        store.remove(refOf(c));
        deps.logger.info({ conversation: c.key }, 'conversation deleted');
        return { id: c.key, deleted: true as const };
      },
    }),
  ];
}
