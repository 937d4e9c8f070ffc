/**
 * Prometheus metrics for the voice pipeline, on prom-client's registry (the default one unless a caller
 * passes its own, e.g. a test that wants a clean slate). Created once per registry.
 */
import { Counter, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120];

export interface VoiceMetrics {
  registry: Registry;
  messagesProcessed: Counter<'platform' | 'status'>;
  voiceProcessingDuration: Histogram<'platform'>;
  timeToFirstAudio: Histogram<'platform'>;
  sttDuration: Histogram<'provider'>;
  llmDuration: Histogram<'provider'>;
  llmTimeToFirstToken: Histogram<'provider'>;
  ttsDuration: Histogram<'provider'>;
  errors: Counter<'service' | 'error_type'>;
}

const cache = new WeakMap<Registry, VoiceMetrics>();

export function voiceMetrics(registry: Registry = defaultRegistry): VoiceMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: VoiceMetrics = {
    registry,
    messagesProcessed: new Counter({
      name: 'voice_messages_processed_total',
      help: 'Voice and text turns processed, by platform and final status',
      labelNames: ['platform', 'status'],
      registers,
    }),
    voiceProcessingDuration: new Histogram({
      name: 'voice_processing_duration_seconds',
      help: 'Whole turn duration, from input received to reply ready',
      labelNames: ['platform'],
      buckets: latencyBuckets,
      registers,
    }),
    timeToFirstAudio: new Histogram({
      name: 'voice_time_to_first_audio_seconds',
      help: 'Time from input received to the first spoken sentence ready (voice replies only)',
      labelNames: ['platform'],
      buckets: latencyBuckets,
      registers,
    }),
    sttDuration: new Histogram({
      name: 'stt_transcription_duration_seconds',
      help: 'Speech-to-text duration per turn',
      labelNames: ['provider'],
      buckets: latencyBuckets,
      registers,
    }),
    llmDuration: new Histogram({
      name: 'llm_generation_duration_seconds',
      help: 'LLM generation duration per turn (whole stream)',
      labelNames: ['provider'],
      buckets: latencyBuckets,
      registers,
    }),
    llmTimeToFirstToken: new Histogram({
      name: 'llm_time_to_first_token_seconds',
      help: 'Time from request to the first streamed token (reasoning included)',
      labelNames: ['provider'],
      buckets: latencyBuckets,
      registers,
    }),
    ttsDuration: new Histogram({
      name: 'tts_synthesis_duration_seconds',
      help: 'Text-to-speech duration per sentence',
      labelNames: ['provider'],
      buckets: latencyBuckets,
      registers,
    }),
    errors: new Counter({
      name: 'errors_total',
      help: 'Errors by service and error type (stable error code)',
      labelNames: ['service', 'error_type'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
