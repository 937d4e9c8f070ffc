import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startFakeAudioServer,
  TRANSCRIPTIONS_PATH,
  type FakeAudioServer,
} from '../../../test/helpers/fake-audio-server.js';
import { wavToPcm } from '../../audio/index.js';
import { ProviderError, ProviderUnavailableError } from '../../util/errors.js';
import { OpenAiSpeechToText, parseTranscription } from './openai-stt.js';
import { describeSpeechToTextBehaviour, spokenFixture } from './stt.behaviour.js';

const quick = { retryDelayMs: 10 };

describeSpeechToTextBehaviour(
  'openai-stt against a local OpenAI-compatible server (pocketsphinx inside)',
  async () => {
    const server = await startFakeAudioServer();
    return {
      stt: new OpenAiSpeechToText({ baseUrl: server.url, model: 'whisper-1', ...quick }),
      cleanup: () => server.close(),
    };
  },
);

describe('OpenAiSpeechToText', () => {
  let server: FakeAudioServer;
  const sentence = 'What is the weather like today?';
  beforeAll(async () => {
    server = await startFakeAudioServer({ apiKey: 'sk-test' });
  });
  afterAll(() => server.close());

  const client = (extra: Partial<ConstructorParameters<typeof OpenAiSpeechToText>[0]> = {}) =>
    new OpenAiSpeechToText({
      baseUrl: server.url,
      model: 'whisper-1',
      apiKey: 'sk-test',
      ...quick,
      ...extra,
    });

  it('uploads a 16 kHz WAV with model, verbose_json and the language, and reads the language back', async () => {
    const speech = await spokenFixture(sentence);
    const transcript = await client().transcribe(speech, { language: 'en-US' });
    expect(transcript.text).toMatch(/weather/);
    expect(transcript.language).toBe('en'); // the server said "english"
    expect(transcript.confidence).toBeGreaterThan(0);
    expect(transcript.segments?.[0]?.text).toBe(transcript.text);
    const req = server.requests.at(-1)!;
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(req.fields).toEqual({ model: 'whisper-1', response_format: 'verbose_json', language: 'en' });
    expect(req.file?.contentType).toBe('audio/wav');
    const uploaded = wavToPcm(req.file!.bytes);
    expect(uploaded.sampleRate).toBe(16_000);
    expect(uploaded.samples.length).toBe(speech.samples.length);
  });

  it('sends no language for "auto", letting the server detect it', async () => {
    await client({ language: 'auto' }).transcribe(await spokenFixture(sentence));
    expect(server.requests.at(-1)!.fields).not.toHaveProperty('language');
  });

  it('retries 5xx answers and dropped connections, then succeeds', async () => {
    server.script(
      TRANSCRIPTIONS_PATH,
      { status: 503, body: { error: { message: 'warming up' } } },
      { dropMidBody: true },
    );
    const before = server.requests.length;
    const transcript = await client().transcribe(await spokenFixture(sentence));
    expect(transcript.text).toMatch(/weather/);
    expect(server.requests.length - before).toBe(3);
  });

  it('gives up after two retries with the status and the server message', async () => {
    server.script(
      TRANSCRIPTIONS_PATH,
      ...Array.from({ length: 3 }, () => ({
        status: 500,
        body: { error: { message: 'CUDA out of memory' } },
      })),
    );
    const err = await client()
      .transcribe(await spokenFixture(sentence))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 500, retryable: true });
    expect((err as Error).message).toMatch(/CUDA out of memory/);
  });

  it('does not retry a 4xx, and reports it with the server message', async () => {
    const before = server.requests.length;
    const err = await client({ apiKey: 'wrong' })
      .transcribe(await spokenFixture(sentence))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, code: 'speech_server_unauthorized' });
    expect((err as Error).message).toMatch(/Incorrect API key/);
    expect(server.requests.length - before).toBe(1);
  });

  it('retries a hang-up before any answer', async () => {
    server.script(TRANSCRIPTIONS_PATH, { hangUp: true });
    expect((await client().transcribe(await spokenFixture(sentence))).text).toMatch(/weather/);
  });

  it('reports an unreachable server as ProviderUnavailableError with a speech-specific message', async () => {
    const closed = await startFakeAudioServer();
    const url = closed.url;
    await closed.close();
    const err = await new OpenAiSpeechToText({ baseUrl: url, model: 'm', ...quick })
      .transcribe(await spokenFixture(sentence))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as ProviderUnavailableError).userMessage).toMatch(/speech recognition server/);
  });

  it('reads servers that answer with only {"text"}, keeping the requested language', async () => {
    const minimal = await startFakeAudioServer({ textOnly: true });
    try {
      const stt = new OpenAiSpeechToText({ baseUrl: minimal.url, model: 'm', ...quick });
      const transcript = await stt.transcribe(await spokenFixture(sentence), { language: 'en' });
      expect(transcript.text).toMatch(/weather/);
      expect(transcript.language).toBe('en');
      expect(transcript.segments).toBeUndefined();
      expect((await stt.transcribe(await spokenFixture(sentence))).language).toBeUndefined();
    } finally {
      await minimal.close();
    }
  });
});

describe('parseTranscription', () => {
  it('reads plain text, json, and verbose_json with language names or codes', () => {
    expect(parseTranscription(' hello there \n', 'text/plain')).toEqual({ text: 'hello there' });
    expect(parseTranscription('{"text":" hi "}', 'application/json')).toEqual({ text: 'hi' });
    const verbose = parseTranscription(
      JSON.stringify({
        text: 'Bonjour',
        language: 'french',
        segments: [{ start: 0, end: 1.5, text: ' Bonjour', avg_logprob: -0.1 }],
      }),
      'application/json',
    );
    expect(verbose).toMatchObject({
      text: 'Bonjour',
      language: 'fr',
      segments: [{ startSec: 0, endSec: 1.5, text: 'Bonjour' }],
    });
    expect(verbose.confidence).toBeCloseTo(Math.exp(-0.1));
    expect(parseTranscription('{"text":"x","language":"pt-BR"}', null).language).toBe('pt');
  });

  it('rejects answers that are JSON without text', () => {
    expect(() => parseTranscription('{"error":"nope"}', 'application/json')).toThrow(/no "text"/);
    expect(() => parseTranscription('{not json', 'application/json')).toThrow(/not valid JSON/);
  });
});
