/**
 * GET /v1/conversations and POST /v1/conversations/:id/reset. A user token sees and resets only its own
 * web conversations; admin sees every channel's. Reset starts afresh (old messages stay on disk but are no
 * longer sent to the LLM), like /new in a chat.
 */
import type { ConversationRef } from '../../channels/store/conversations.js';
import { conversationKey } from '../../channels/store/conversations.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { Caller } from '../auth.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { ConversationIdParams, ConversationList, ConversationReset } from '../schemas.js';
import { WEB_CHANNEL } from '../web-adapter.js';

const SCAN = 10_000;

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
  const resolve = (caller: Caller, id: string): ConversationRef | undefined => {
    const known = visible(caller).find(
      (c) => c.key === id || (c.channel === WEB_CHANNEL && c.chatId === id && c.userId === caller.userId),
    );
    return known ? { channel: known.channel, chatId: known.chatId, userId: known.userId } : undefined;
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/conversations',
      tag: 'conversations',
      auth: 'user',
      summary: 'Conversations, most recent first',
      responses: { 200: { description: 'The conversations', schema: ConversationList } },
      async handler({ caller }) {
        return {
          conversations: visible(caller)
            .slice(0, 500)
            .map((c) => ({
              id: c.key,
              channel: c.channel,
              conversation: c.chatId,
              userId: c.userId,
              updatedAt: c.updatedAt,
              messages: c.messages,
            })),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/conversations/:id/reset',
      tag: 'conversations',
      auth: 'user',
      summary: 'Start a conversation afresh',
      params: ConversationIdParams,
      responses: {
        200: { description: 'Reset', schema: ConversationReset },
        404: { description: 'not_found (also for conversations of other users)' },
      },
      async handler({ params, caller }) {
        const ref = resolve(caller, params.id);
        if (!ref) throw new ApiError('not_found', `No conversation ${params.id}.`);
        store.reset(ref);
        return { id: conversationKey(ref), reset: true as const };
      },
    }),
  ];
}
