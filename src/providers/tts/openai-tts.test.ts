import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SPEECH_PATH,
  startFakeAudioServer,
  type FakeAudioServer,
} from '../../../test/helpers/fake-audio-server.js';
import { CancelledError, ProviderError, ProviderUnavailableError } from '../../util/errors.js';
import { OPENAI_PCM_RATE, OpenAiTextToSpeech } from './openai-tts.js';
import { describeTextToSpeechBehaviour } from './tts.behaviour.js';

const quick = { retryDelayMs: 10 };

describeTextToSpeechBehaviour(
  'openai-tts against a local OpenAI-compatible server (espeak-ng inside)',
  async () => {
    const server = await startFakeAudioServer();
    return {
      tts: new OpenAiTextToSpeech({ baseUrl: server.url, model: 'tts-1', ...quick }),
      cleanup: () => server.close(),
    };
  },
);

describe('OpenAiTextToSpeech', () => {
  let server: FakeAudioServer;
  beforeAll(async () => {
    server = await startFakeAudioServer({ apiKey: 'sk-tts' });
  });
  afterAll(() => server.close());

  const client = (extra: Partial<ConstructorParameters<typeof OpenAiTextToSpeech>[0]> = {}) =>
    new OpenAiTextToSpeech({ baseUrl: server.url, model: 'tts-1', apiKey: 'sk-tts', ...quick, ...extra });

  it('posts model, cleaned input, voice and response_format wav, and decodes the WAV', async () => {
    const pcm = await client({ voice: 'en-gb' }).synthesize('<speak>Good morning.</speak>');
    expect(pcm.sampleRate).toBe(22_050); // espeak-ng's rate, carried in the WAV header
    expect(pcm.samples.length / pcm.sampleRate).toBeGreaterThan(0.4);
    const req = server.requests.at(-1)!;
    expect(req.json).toEqual({
      model: 'tts-1',
      input: 'Good morning.',
      voice: 'en-gb',
      response_format: 'wav',
    });
    expect(req.headers.authorization).toBe('Bearer sk-tts');
  });

  it('chooses a Kokoro voice by language for a Kokoro model, "alloy" otherwise, and a per-call voice wins', async () => {
    await client({ model: 'kokoro' }).synthesize('Bonjour.', { language: 'fr' });
    expect(server.requests.at(-1)!.json?.voice).toBe('ff_siwis');
    await client({ model: 'kokoro' }).synthesize('Hello.', { language: 'en-US' });
    expect(server.requests.at(-1)!.json?.voice).toBe('af_heart');
    await client().synthesize('Hello.', { language: 'fr' });
    expect(server.requests.at(-1)!.json?.voice).toBe('alloy');
    await client({ voice: 'nova' }).synthesize('Hello.', { voice: 'de' });
    expect(server.requests.at(-1)!.json?.voice).toBe('de');
  });

  it('reads raw 24 kHz PCM from a server that answers with pcm', async () => {
    const pcmServer = await startFakeAudioServer({ forceSpeechFormat: 'pcm' });
    try {
      const viaPcm = await new OpenAiTextToSpeech({
        baseUrl: pcmServer.url,
        model: 'm',
        voice: 'en-us',
      }).synthesize('Good morning everybody.');
      const viaWav = await client({ voice: 'en-us' }).synthesize('Good morning everybody.');
      expect(viaPcm.sampleRate).toBe(OPENAI_PCM_RATE);
      // The same espeak-ng speech, so the same duration within a few milliseconds.
      expect(
        Math.abs(viaPcm.samples.length / viaPcm.sampleRate - viaWav.samples.length / viaWav.sampleRate),
      ).toBeLessThan(0.02);
    } finally {
      await pcmServer.close();
    }
  });

  it('decodes MP3 from a server that ignores response_format', async () => {
    const mp3Server = await startFakeAudioServer({ forceSpeechFormat: 'mp3' });
    try {
      const pcm = await new OpenAiTextToSpeech({ baseUrl: mp3Server.url, model: 'm' }).synthesize(
        'Good morning.',
      );
      expect(pcm.samples.length / pcm.sampleRate).toBeGreaterThan(0.4);
      expect(Math.max(...pcm.samples.map(Math.abs))).toBeGreaterThan(0.05);
    } finally {
      await mp3Server.close();
    }
  });

  it('retries 5xx and dropped connections; gives up with status and message; never retries 4xx', async () => {
    server.script(SPEECH_PATH, { status: 502, body: 'Bad Gateway' }, { hangUp: true });
    expect((await client().synthesize('Hello.')).samples.length).toBeGreaterThan(0);

    server.script(
      SPEECH_PATH,
      ...Array.from({ length: 3 }, () => ({ status: 500, body: { detail: 'voice model crashed' } })),
    );
    const err = await client()
      .synthesize('Hello.')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 500 });
    expect((err as Error).message).toMatch(/voice model crashed/);

    const before = server.requests.length;
    server.script(SPEECH_PATH, { status: 400, body: { error: { message: "Invalid voice 'x'" } } });
    const bad = await client()
      .synthesize('Hello.')
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, retryable: false });
    expect((bad as Error).message).toMatch(/Invalid voice 'x'/);
    expect(server.requests.length - before).toBe(1);
  });

  it('reports an unreachable server as ProviderUnavailableError', async () => {
    const gone = await startFakeAudioServer();
    await gone.close();
    const err = await new OpenAiTextToSpeech({ baseUrl: gone.url, model: 'm', ...quick })
      .synthesize('Hello.')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).userMessage).toMatch(/speech server/);
  });

  it('cancels a slow request, and the server sees the client go away', async () => {
    server.script(SPEECH_PATH, { delayMs: 2000 });
    const controller = new AbortController();
    const pending = client().synthesize('Hello.', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    // Without the abort the server would answer after 2 s and the request would succeed.
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await expect.poll(() => server.requests.at(-1)?.clientClosed, { timeout: 10_000 }).toBe(true);
  });
});
