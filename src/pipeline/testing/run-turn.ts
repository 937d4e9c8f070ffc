/**
 * One voice turn on scripted engines, the way a pipeline test wants it: the pipeline, its engines, the
 * events it emitted and a fresh metrics registry, so each test reads its own counts.
 */
import { Registry } from 'prom-client';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { voiceMetrics } from '../../observability/metrics.js';
import type { TurnEvent, TurnInput, TurnResult } from '../types.js';
import { VoicePipeline } from '../voice-pipeline.js';
import { ScriptedLanguageModel } from './scripted-llm.js';
import { ScriptedSpeechToText } from './scripted-stt.js';
import { ScriptedTextToSpeech } from './scripted-tts.js';

export interface ScriptedEngines {
  stt: ScriptedSpeechToText;
  llm: ScriptedLanguageModel;
  tts: ScriptedTextToSpeech;
}

export interface ScriptedPipeline extends ScriptedEngines {
  pipeline: VoicePipeline;
  registry: Registry;
  events: TurnEvent[];
  /** Runs a turn, recording its events in `events`. */
  run(input: TurnInput): Promise<TurnResult>;
}

export function scriptedPipeline(
  engines: Partial<ScriptedEngines> = {},
  config: Record<string, unknown> = {},
): ScriptedPipeline {
  const stt = engines.stt ?? new ScriptedSpeechToText();
  const llm = engines.llm ?? new ScriptedLanguageModel();
  const tts = engines.tts ?? new ScriptedTextToSpeech();
  const registry = new Registry();
  const pipeline = new VoicePipeline({
    stt,
    llm,
    tts,
    config: loadConfig({ env: {}, overrides: config }),
    logger: createLogger('silent'),
    metrics: voiceMetrics(registry),
  });
  const events: TurnEvent[] = [];
  return {
    stt,
    llm,
    tts,
    pipeline,
    registry,
    events,
    run: (input) =>
      pipeline.run({
        ...input,
        onEvent: (e) => {
          events.push(e);
          input.onEvent?.(e);
        },
      }),
  };
}
