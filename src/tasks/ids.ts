/**
 * Task ids and name rules. An id starts with its capability ("chat-…") so either backend finds a task's
 * queue from its id alone. With an idempotency key the id is derived from it, so enqueueing the same
 * request twice names the same task and the backend's primary key does the deduplication.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidTaskError } from './errors.js';
import type { TaskSpec } from './types.js';

const CAPABILITY = /^[a-z][a-z0-9_]{0,31}$/;
const KIND = /^[A-Za-z0-9_.:/-]{1,64}$/;

export function isValidCapability(name: string): boolean {
  return CAPABILITY.test(name);
}

// random per process, then a counter: unique across processes without a random draw per id
const processTag = randomBytes(6).toString('base64url');
let counter = 0;

/** A unique token (lease tokens, ids): a per-process random tag and a counter. */
export function uniqueToken(): string {
  return `${processTag}${(counter++).toString(36)}`;
}

export function newTaskId(capability: string, idempotencyKey?: string): string {
  if (idempotencyKey !== undefined) {
    const digest = createHash('sha256').update(`${capability}\0${idempotencyKey}`).digest('base64url');
    return `${capability}-${digest.slice(0, 22)}`;
  }
  // time first so ids sort roughly by creation
  return `${capability}-${Date.now().toString(36)}${uniqueToken()}`;
}

/** Children are named after their parent so re-adding the same parent names the same children. */
export function childTaskId(parentId: string, childCapability: string, index: number): string {
  return `${childCapability}-${parentId.slice(parentId.indexOf('-') + 1)}.${index}`;
}

export function capabilityOf(taskId: string): string {
  const i = taskId.indexOf('-');
  const cap = i > 0 ? taskId.slice(0, i) : '';
  if (!CAPABILITY.test(cap)) throw new InvalidTaskError(`not a task id: ${taskId}`);
  return cap;
}

export function isTaskId(value: string): boolean {
  const i = value.indexOf('-');
  return i > 0 && CAPABILITY.test(value.slice(0, i)) && i < value.length - 1 && !value.includes(':');
}

/** Throws InvalidTaskError naming the first problem. */
/** A W3C trace context `traceparent` (version, trace id, parent span id, flags), lowercase hex. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function validateSpec(spec: TaskSpec, isChild = false): void {
  if (!KIND.test(spec.kind)) throw new InvalidTaskError(`invalid task kind "${spec.kind}"`);
  if (!CAPABILITY.test(spec.capability))
    throw new InvalidTaskError(
      `invalid capability "${spec.capability}" (lowercase letters, digits and _; starts with a letter)`,
    );
  if (spec.maxAttempts !== undefined && (!Number.isInteger(spec.maxAttempts) || spec.maxAttempts < 1))
    throw new InvalidTaskError('maxAttempts must be a positive integer');
  if (spec.delayMs !== undefined && (!Number.isFinite(spec.delayMs) || spec.delayMs < 0))
    throw new InvalidTaskError('delayMs must be a non-negative number');
  if (spec.traceparent !== undefined && !TRACEPARENT.test(spec.traceparent))
    throw new InvalidTaskError(
      `invalid traceparent "${spec.traceparent.slice(0, 80)}" (W3C trace context: 00-<32 hex>-<16 hex>-<2 hex>)`,
    );
  if (spec.children?.length) {
    if (isChild) throw new InvalidTaskError('a child task cannot have children of its own');
    for (const child of spec.children) validateSpec(child, true);
  }
}
