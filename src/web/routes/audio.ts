/**
 * GET /v1/audio/:id — a reply's audio, as stored (OGG/Opus unless replyFormat says otherwise) or converted
 * with ?format=mp3|wav. A conversion is kept next to the original, so it is made once. Ids are task ids:
 * the audio store refuses anything else, so no path can be reached through them.
 * GET /v1/audio/:id/sentences/:index — one spoken sentence of a web reply, ready before the whole reply
 * is (see channels/sentence-audio.ts), so the page can play the answer while it is still being written.
 * POST /v1/speech — any text spoken with June's voice (the page's "Read aloud" on a typed answer).
 */
import { decodeAudio, encodeAudio, mimeTypeFor, type EncodeFormat } from '../../audio/index.js';
import type { StoredFormat } from '../../channels/audio-store.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { Caller } from '../auth.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { sentenceClipId } from '../../channels/sentence-audio.js';
import { AudioParams, AudioQuery, SentenceAudioParams, SpeechRequest } from '../schemas.js';
import { canSee } from '../task-view.js';

const FORMATS: StoredFormat[] = ['ogg', 'mp3', 'wav'];

export function audioRoutes(deps: WebDeps): AnyRoute[] {
  const store = deps.runtime.audio;

  const load = async (id: string, wanted: EncodeFormat | undefined) => {
    if (wanted) {
      const direct = await store.read(id, wanted);
      if (direct) return { data: direct, format: wanted };
    }
    for (const f of FORMATS) {
      const data = await store.read(id, f);
      if (!data) continue;
      if (!wanted || wanted === f) return { data, format: f };
      const decoded = await decodeAudio(data, { maxBytes: Number.MAX_SAFE_INTEGER, maxSeconds: 3600 });
      const converted = await encodeAudio(decoded.pcm, wanted);
      await store.save(id, converted, wanted).catch(() => undefined);
      return { data: converted, format: wanted };
    }
    return undefined;
  };

  /** The audio id of a task the caller may hear: a user hears their own tasks only. */
  const allowed = async (id: string, caller: Caller) => {
    if (caller.scope === 'admin') return;
    const task = (await deps.queue.get(id).catch(() => undefined))?.task;
    if (!task || !canSee(caller, task)) throw new ApiError('not_found', `No audio ${id}.`);
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/audio/:id',
      tag: 'audio',
      auth: 'user',
      summary: 'The reply audio of a task',
      description: 'OGG/Opus by default; ?format=mp3 or ?format=wav converts it. HEAD works too.',
      params: AudioParams,
      query: AudioQuery,
      responses: {
        200: { description: 'The audio (audio/ogg, audio/mpeg or audio/wav)', contentType: 'audio/ogg' },
        404: { description: 'not_found' },
      },
      async handler({ params, query, caller, reply }) {
        // the audio id is the task id: a user may fetch the audio of their own tasks only
        await allowed(params.id, caller);
        const audio = await load(params.id, query.format);
        if (!audio) throw new ApiError('not_found', `No audio ${params.id}.`);
        return reply
          .header('content-type', mimeTypeFor(audio.format))
          .header('cache-control', 'private, max-age=86400')
          .header('content-disposition', `inline; filename="${params.id}.${audio.format}"`)
          .send(audio.data);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audio/:id/sentences/:index',
      tag: 'audio',
      auth: 'user',
      summary: 'One spoken sentence of a reply, as soon as it is synthesised',
      description:
        'The task event stream announces each clip with an `audio` event {index, durationSec, url}. ' +
        'OGG/Opus by default; ?format=wav converts it (for browsers that cannot decode Opus).',
      params: SentenceAudioParams,
      query: AudioQuery,
      responses: {
        200: { description: 'The clip (audio/ogg or audio/wav)', contentType: 'audio/ogg' },
        404: { description: 'not_found' },
      },
      async handler({ params, query, caller, reply }) {
        await allowed(params.id, caller);
        const id = sentenceClipId(params.id, params.index);
        const audio = await load(id, query.format === 'mp3' ? 'wav' : query.format);
        if (!audio) throw new ApiError('not_found', `No audio for sentence ${params.index} of ${params.id}.`);
        return reply
          .header('content-type', mimeTypeFor(audio.format))
          .header('cache-control', 'private, max-age=3600')
          .send(audio.data);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/speech',
      tag: 'audio',
      auth: 'user',
      summary: "Speak a text with June's voice",
      description:
        'JSON {text, language?}: the text is split into sentences and synthesised with the same voice and ' +
        'encoder as the replies. Answers the audio itself (OGG/Opus by default; ?format=mp3|wav).',
      body: SpeechRequest,
      query: AudioQuery,
      responses: {
        200: { description: 'The audio (audio/ogg, audio/mpeg or audio/wav)', contentType: 'audio/ogg' },
        400: { description: 'invalid_request: no text, or more than 8000 characters' },
        503: { description: "not_ready: June's voice could not say it now" },
      },
      async handler({ body, query, reply }) {
        const pipeline = await deps.runtime.pipeline.get();
        const audio = await pipeline.speakText(body.text, {
          ...(body.language ? { language: body.language } : {}),
          format: query.format ?? deps.config.replyFormat,
        });
        if (!audio) throw new ApiError('not_ready', "June's voice could not say that text just now.");
        return reply
          .header('content-type', audio.mimeType)
          .header('cache-control', 'no-store')
          .send(audio.data);
      },
    }),
  ];
}
