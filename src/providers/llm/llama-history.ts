/**
 * Translates June's chat request into node-llama-cpp's terms: the message list into its chat history, and
 * tool definitions into its function definitions.
 *
 * Tool calls differ in shape: June (like the OpenAI API) sends a tool result as its own "tool" message that
 * names the call it answers; node-llama-cpp keeps the result inside the function-call item of the model's
 * response. Results are matched to calls by `toolCallId`.
 */
import type {
  ChatHistoryItem,
  ChatModelFunctionCall,
  ChatModelFunctions,
  ChatModelResponse,
  GbnfJsonSchema,
} from 'node-llama-cpp';

import type { ChatMessage, ToolDefinition } from '../types.js';

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * June messages → node-llama-cpp history, ending with the model response that generation fills in: a new
 * empty one after a user turn, or the last model response itself when the request ends with tool results
 * (the model then continues its own turn after the calls, as the chat template expects).
 */
export function toLlamaHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const openCalls = new Map<string, ChatModelFunctionCall>();
  let continuesModelTurn = false;

  for (const message of messages) {
    continuesModelTurn = false;
    if (message.role === 'system') {
      history.push({ type: 'system', text: message.content });
    } else if (message.role === 'user') {
      history.push({ type: 'user', text: message.content });
    } else if (message.role === 'assistant') {
      const response: ChatModelResponse['response'] = message.content ? [message.content] : [];
      for (const call of message.toolCalls ?? []) {
        const item: ChatModelFunctionCall = {
          type: 'functionCall',
          name: call.name,
          params: parseJsonOr(call.arguments),
          result: undefined,
        };
        openCalls.set(call.id, item);
        response.push(item);
      }
      history.push({ type: 'model', response });
    } else {
      const call = message.toolCallId === undefined ? undefined : openCalls.get(message.toolCallId);
      if (call) {
        call.result = parseJsonOr(message.content);
        continuesModelTurn = history.at(-1)?.type === 'model';
      } else {
        // A result whose call is not in the history (trimmed away): still tell the model what came back.
        history.push({ type: 'user', text: `Result of ${message.name ?? 'a tool'}: ${message.content}` });
      }
    }
  }
  if (!continuesModelTurn) history.push({ type: 'model', response: [] });
  return history;
}

const STRING_FORMATS = new Set(['date-time', 'time', 'date']);
const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Stands in for a schema the grammar cannot express: any JSON scalar is accepted there. */
const ANY_SCALAR: GbnfJsonSchema = { type: ['string', 'number', 'boolean', 'null'] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reduces a JSON Schema to the subset node-llama-cpp turns into a sampling grammar (it throws on anything
 * else). Unsupported keywords are dropped, so the grammar is at most looser than the schema, never stricter;
 * `anyOf` is read as `oneOf`, and `$ref`s are not followed.
 */
export function toGbnfSchema(schema: unknown): GbnfJsonSchema {
  if (!isRecord(schema)) return ANY_SCALAR;
  const description = typeof schema.description === 'string' ? { description: schema.description } : {};
  if ('const' in schema) return { const: schema.const as string, ...description };
  if (Array.isArray(schema.enum)) return { enum: schema.enum as string[], ...description };
  const variants = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(variants)) return { oneOf: variants.map(toGbnfSchema), ...description };

  // A schema with properties but no type is an object schema in practice.
  const type = schema.type ?? (isRecord(schema.properties) ? 'object' : undefined);
  if (type === 'object') {
    const properties = isRecord(schema.properties)
      ? Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, toGbnfSchema(v)]))
      : undefined;
    const required = Array.isArray(schema.required)
      ? schema.required.filter((k) => typeof k === 'string')
      : [];
    const extra = schema.additionalProperties;
    return {
      type: 'object',
      ...(properties ? { properties } : {}),
      ...(properties ? { required } : {}),
      // Without declared properties the object is free-form; otherwise only its declared keys are allowed.
      additionalProperties: isRecord(extra)
        ? toGbnfSchema(extra)
        : properties === undefined || extra === true,
      ...description,
    } as GbnfJsonSchema;
  }
  if (type === 'array') {
    return {
      type: 'array',
      ...(schema.items === undefined ? {} : { items: toGbnfSchema(schema.items) }),
      ...(typeof schema.minItems === 'number' ? { minItems: schema.minItems } : {}),
      ...(typeof schema.maxItems === 'number' ? { maxItems: schema.maxItems } : {}),
      ...description,
    };
  }
  if (type === 'string') {
    if (typeof schema.format === 'string' && STRING_FORMATS.has(schema.format)) {
      return { type: 'string', format: schema.format as 'date', ...description };
    }
    return {
      type: 'string',
      ...(typeof schema.minLength === 'number' ? { minLength: schema.minLength } : {}),
      ...(typeof schema.maxLength === 'number' ? { maxLength: schema.maxLength } : {}),
      ...description,
    };
  }
  if (typeof type === 'string' && PRIMITIVES.has(type)) return { type: type as 'number', ...description };
  if (Array.isArray(type) && type.every((t) => typeof t === 'string' && PRIMITIVES.has(t))) {
    return { type: type as 'number'[], ...description };
  }
  return ANY_SCALAR;
}

/**
 * June tool definitions → node-llama-cpp functions (undefined when there are none). Arguments are always an
 * object, as in the OpenAI API, even when a tool's schema leaves out `type` (or is empty).
 */
export function toLlamaFunctions(
  tools: readonly ToolDefinition[] | undefined,
): ChatModelFunctions | undefined {
  if (!tools?.length) return undefined;
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      { description: tool.description, params: toGbnfSchema({ type: 'object', ...tool.parameters }) },
    ]),
  );
}
