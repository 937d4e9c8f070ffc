/**
 * One runner for every stage of a turn, as a processor base class gives each processor the same frame:
 * `runStage` names the stage (for error metrics), emits its start and end events, opens its span under the
 * turn's root, applies its time limit, records its busy interval (June's own overhead is what lies outside
 * them) and observes its duration metric once it has succeeded.
 */
import type { Attributes, Span } from '@opentelemetry/api';
import { inSpan } from '../observability/tracing.js';
import { withStageSignal } from '../util/abort.js';
import type { TurnFrame } from './turn-context.js';
import type { Stage } from './types.js';

export interface StageOptions {
  stage: Stage;
  /** The span's name (e.g. "stt.transcribe"); none when absent. */
  span?: string;
  attributes?: Attributes;
  /** The stage's time limit; a StageTimeoutError names the stage. None when absent or 0. */
  timeoutMs?: number;
  /** Observes the stage's duration, in seconds, when it succeeded. */
  metric?: (seconds: number) => void;
}

export interface StageRun {
  /** Aborts on the caller's cancel or the stage's time limit. */
  signal: AbortSignal;
  /** The stage's span, for attributes; undefined when the stage has none. */
  span: Span | undefined;
}

export async function runStage<T>(
  turn: TurnFrame,
  options: StageOptions,
  fn: (run: StageRun) => Promise<T>,
): Promise<{ value: T; ms: number }> {
  turn.stage = options.stage;
  const limited = (span: Span | undefined) =>
    withStageSignal(options.stage, options.timeoutMs, turn.signal, (signal) => fn({ signal, span }));
  const result = await turn.clock.stage(options.stage, () =>
    options.span ? inSpan(options.span, turn.root, options.attributes ?? {}, limited) : limited(undefined),
  );
  options.metric?.(result.ms / 1000);
  return result;
}
