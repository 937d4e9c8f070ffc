/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * The HTTP API against a real running June: SQLite queue, channel runtime, in-process workers, pocketsphinx
 * and espeak-ng, and the fake OpenAI-compatible server (echo mode) as the LLM.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobeBuffer, spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { apiClient, bearer as as, jsonHeaders as json, named, notAudio } from './web-client.js';
import { readSse, startJune, waitForTask, type RunningJune } from './web-harness.js';

const USER = 'user-token-aaaaaaaaaaaaaaaa';
const OTHER = 'other-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccc';
const AUDIO_MAX = 300_000;

let june: RunningJune;
let question: Buffer;

beforeAll(async () => {
  june = await startJune({ apiTokens: [USER, OTHER, `admin:${ADMIN}`], audioMaxBytes: AUDIO_MAX });
  question = await spokenVoiceNote(june.dir, 'what is the weather like in paris today');
});

afterAll(async () => {
  await june?.stop();
});

const { send, upload, getJson } = apiClient(() => june.base);

describe('messages and tasks', () => {
  it('answers a text message through a durable task, visible only to its sender', async () => {
    const accepted = await send(USER, { text: 'my name is Ada', conversation: 'intro' });
    expect(accepted.status).toBe(202);
    expect(accepted.body.taskId).toMatch(/^chat-/);
    expect(accepted.body.links).toMatchObject({
      self: `/v1/tasks/${accepted.body.taskId}`,
      events: `/v1/tasks/${accepted.body.taskId}/events`,
    });

    const task = await waitForTask(june.base, accepted.body.taskId, as(USER));
    expect(task.state).toBe('completed');
    expect(task.kind).toBe('channel.text');
    expect(task.message).toMatchObject({
      channel: 'web',
      conversation: 'intro',
      text: 'my name is Ada',
      audio: false,
    });
    expect((task.result as any).text).toContain('You said: my name is Ada');
    expect((task.attemptLog as any[])[0].outcome).toBe('completed');

    // the second turn of the conversation carries the first as history
    const second = await send(USER, { text: 'what is my name', conversation: 'intro' });
    await waitForTask(june.base, second.body.taskId, as(USER));
    const sent = june.llm
      .chatRequests()
      .at(-1)!
      .body!.messages!.map((m) => m.content);
    expect(sent).toContain('my name is Ada');

    // tasks and conversations of one token are invisible to another
    expect((await getJson(`/v1/tasks/${accepted.body.taskId}`, OTHER)).status).toBe(404);
    const mine = await getJson('/v1/tasks?limit=10', USER);
    expect(mine.body.tasks.map((t: any) => t.id)).toContain(accepted.body.taskId);
    const theirs = await getJson('/v1/tasks', OTHER);
    expect(theirs.body.tasks.map((t: any) => t.id)).not.toContain(accepted.body.taskId);
    const admin = await getJson('/v1/tasks?state=completed&capability=chat', ADMIN);
    expect(admin.body.tasks.map((t: any) => t.id)).toContain(accepted.body.taskId);

    const convs = await getJson('/v1/conversations', USER);
    const intro = convs.body.conversations.find((c: any) => c.conversation === 'intro');
    expect(intro).toMatchObject({ channel: 'web', messages: 4 });
    expect((await getJson('/v1/conversations', OTHER)).body.conversations).toEqual([]);
    const notYours = await fetch(`${june.base}/v1/conversations/${encodeURIComponent(intro.id)}/reset`, {
      method: 'POST',
      headers: as(OTHER),
    });
    expect(notYours.status).toBe(404);

    // reset: the next turn goes to the LLM without the earlier ones
    const reset = await fetch(`${june.base}/v1/conversations/${encodeURIComponent(intro.id)}/reset`, {
      method: 'POST',
      headers: as(USER),
    });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ id: intro.id, reset: true });
    const third = await send(USER, { text: 'who am i', conversation: 'intro' });
    await waitForTask(june.base, third.body.taskId, as(USER));
    const after = june.llm
      .chatRequests()
      .at(-1)!
      .body!.messages!.map((m) => m.content);
    expect(after).not.toContain('my name is Ada');
    expect((await getJson('/v1/conversations', ADMIN)).body.conversations.length).toBeGreaterThanOrEqual(1);
  });

  it('replays a finished task to a late subscriber, then ends the stream', async () => {
    const accepted = await send(USER, { text: 'tell me something nice' });
    await waitForTask(june.base, accepted.body.taskId, as(USER));
    const read = await readSse(`${june.base}${accepted.body.links.events}`, as(USER));
    expect(read.ended).toBe(true);
    expect(read.events[0]!.event).toBe('state');
    expect((read.events[0]!.data as any).state).toBe('completed');
    const sentences = named(read.events, 'sentence').map((s) => s.text);
    expect(sentences.join(' ')).toBe(
      'You said: tell me something nice. That is a fine thing to say. Is there anything else?',
    );
    expect(named(read.events, 'stage').map((s) => s.stage)).toContain('llm');
    expect(read.events.at(-1)!.event).toBe('completed');
    expect((read.events.at(-1)!.data as any).result.text).toContain('something nice');
  });

  it('answers chat commands at once and deduplicates by Idempotency-Key', async () => {
    const cmd = await send(USER, { text: '/voice always', conversation: 'cmds' });
    expect(cmd.status).toBe(200);
    expect(cmd.body.reply).toMatch(/Voice replies: always/);

    const a = await send(USER, { text: 'only once please' }, { 'idempotency-key': 'k-1' });
    const b = await send(USER, { text: 'only once please' }, { 'idempotency-key': 'k-1' });
    const c = await send(OTHER, { text: 'only once please' }, { 'idempotency-key': 'k-1' });
    expect(a.status).toBe(202);
    expect(b.body.taskId).toBe(a.body.taskId);
    expect(c.body.taskId).not.toBe(a.body.taskId);
  });

  it('follows a spoken message live: stages, transcript, sentences, then the reply audio', async () => {
    const accepted = await upload(USER, question, { conversation: 'voice' });
    expect(accepted.status).toBe(202);
    expect(accepted.body.taskId).toMatch(/^voice-/);
    const read = await readSse(`${june.base}${accepted.body.links.events}`, as(USER), { timeoutMs: 45_000 });
    expect(read.ended).toBe(true);
    const names = read.events.map((e) => e.event);
    expect(names[0]).toBe('state');
    const transcript = named(read.events, 'transcript')[0];
    expect(transcript.text).toMatch(/^what is the weather like/);
    const stages = named(read.events, 'stage');
    for (const s of ['decode', 'vad', 'stt', 'llm', 'encode'])
      expect(stages.find((x) => x.stage === s)?.durationMs, s).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('transcript')).toBeLessThan(names.indexOf('sentence'));
    expect(named(read.events, 'sentence').length).toBeGreaterThan(1);
    const done = named(read.events, 'completed')[0];
    expect(done.result.transcript).toBe(transcript.text);
    for (const k of ['decodeMs', 'sttMs', 'llmTotalMs', 'ttsTotalMs', 'encodeMs'])
      expect(done.result.timings[k], k).toBeGreaterThan(0);
    expect(done.audioUrl).toBe(`/v1/audio/${accepted.body.taskId}`);

    const ogg = await fetch(`${june.base}${done.audioUrl}`, { headers: as(USER) });
    expect(ogg.status).toBe(200);
    expect(ogg.headers.get('content-type')).toBe('audio/ogg');
    const oggProbe = await ffprobeBuffer(june.dir, Buffer.from(await ogg.arrayBuffer()), 'reply.ogg');
    expect(oggProbe).toMatchObject({ format: 'ogg', codec: 'opus' });
    expect(oggProbe.duration).toBeGreaterThan(1);

    const mp3 = await fetch(`${june.base}${done.audioUrl}?format=mp3`, { headers: as(USER) });
    expect(mp3.headers.get('content-type')).toBe('audio/mpeg');
    const mp3Probe = await ffprobeBuffer(june.dir, Buffer.from(await mp3.arrayBuffer()), 'reply.mp3');
    expect(mp3Probe).toMatchObject({ format: 'mp3', codec: 'mp3' });
    expect(Math.abs(mp3Probe.duration - oggProbe.duration)).toBeLessThan(0.5);
    const wav = await fetch(`${june.base}${done.audioUrl}?format=wav`, { method: 'HEAD', headers: as(USER) });
    expect(wav.status).toBe(200);
    expect(wav.headers.get('content-type')).toBe('audio/wav');

    // someone else's audio, unknown ids and paths out of the audio folder are all just "not found"
    expect((await fetch(`${june.base}${done.audioUrl}`, { headers: as(OTHER) })).status).toBe(404);
    expect((await getJson('/v1/audio/voice-doesnotexist', ADMIN)).body.error.code).toBe('not_found');
    for (const evil of ['..%2F..%2Fchannels.db', '..%2Ftasks.db', '%2Fetc%2Fpasswd'])
      expect((await fetch(`${june.base}/v1/audio/${evil}`, { headers: as(ADMIN) })).status, evil).toBe(404);
    expect((await getJson(`${done.audioUrl}?format=flac`, USER)).body.error.field).toBe('query.format');

    // the recording is kept only until its task has completed
    await expect.poll(() => fs.readdir(path.join(june.dir, 'uploads')), { timeout: 5000 }).toEqual([]);
  });
});

describe('bad input', () => {
  it('refuses oversize bodies with 413 and other content types with 415', async () => {
    const big = await upload(USER, Buffer.alloc(AUDIO_MAX + 100_000, 1));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    // just over the limit: caught while the file streams in
    const over = await upload(USER, Buffer.alloc(AUDIO_MAX + 1000, 1));
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('payload_too_large');
    const longJson = await send(USER, { text: 'x'.repeat(1_100_000) });
    expect(longJson.status).toBe(413);

    const plain = await fetch(`${june.base}/v1/messages`, {
      method: 'POST',
      headers: { ...as(USER), 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as any).error.code).toBe('unsupported_media_type');
    expect(await fs.readdir(path.join(june.dir, 'uploads')).catch(() => [])).toEqual([]);
  });

  it('names the field at fault', async () => {
    const empty = await send(USER, { text: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'invalid_request', field: 'body.text' });
    const badName = await send(USER, { text: 'hi', conversation: '../etc' });
    expect(badName.body.error).toMatchObject({ code: 'invalid_request', field: 'body.conversation' });
    const noFile = new FormData();
    noFile.set('conversation', 'x');
    const res = await fetch(`${june.base}/v1/messages`, { method: 'POST', headers: as(USER), body: noFile });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.field).toBe('body.audio');
    const limit = await getJson('/v1/tasks?limit=100000', USER);
    expect(limit.body.error).toMatchObject({ code: 'invalid_request', field: 'query.limit' });
    const broken = await fetch(`${june.base}/v1/messages`, {
      method: 'POST',
      headers: json(USER),
      body: '{"text": ',
    });
    expect(broken.status).toBe(400);
  });

  it('reports undecodable audio as a dead task with its audio_* code, in GET and in the events', async () => {
    const junk = await upload(USER, notAudio());
    expect(junk.status).toBe(202);
    const read = await readSse(`${june.base}${junk.body.links.events}`, as(USER));
    const dead = named(read.events, 'dead')[0];
    expect(dead.error).toMatchObject({ code: 'audio_not_audio', retryable: false });
    expect(dead.error.userMessage).toBeTruthy();
    const task = await getJson(`/v1/tasks/${junk.body.taskId}`, USER);
    expect(task.body).toMatchObject({ state: 'dead', error: { code: 'audio_not_audio' } });
    expect(task.body.attempts).toBe(1);

    const truncated = await upload(USER, question.subarray(0, Math.floor(question.length * 0.4)));
    const cut = await waitForTask(june.base, truncated.body.taskId, as(USER));
    expect(cut).toMatchObject({ state: 'dead', error: { code: 'audio_corrupt' } });
    // dead recordings stay on disk so a redrive can run them again
    expect((await fs.readdir(path.join(june.dir, 'uploads'))).length).toBeGreaterThanOrEqual(2);
  });
});

describe('live task list', () => {
  it("streams a snapshot, then every change to the caller's tasks, with heartbeats", async () => {
    let subscribed = () => {};
    const heartbeat = new Promise<void>((resolve) => (subscribed = resolve));
    const reading = readSse(`${june.base}/v1/tasks/events`, as(USER), {
      until: (events, read) => {
        // the opening comment and one heartbeat after the snapshot
        if (events.some((e) => e.event === 'snapshot') && read.comments >= 2) subscribed();
        return events.some((e) => e.event === 'task' && (e.data as any).task.state === 'completed');
      },
    });
    // Sent once the stream is open and has had a heartbeat, so every change after it must follow.
    await Promise.race([heartbeat, reading]);
    const other = await send(OTHER, { text: 'not for your eyes' });
    const accepted = await send(USER, { text: 'watch me' });
    const read = await reading;
    expect(read.events[0]!.event).toBe('snapshot');
    const updates = named(read.events, 'task');
    expect(updates.every((u) => u.task.id === accepted.body.taskId)).toBe(true);
    expect(updates.map((u) => u.event.type)).toEqual(
      expect.arrayContaining(['queued', 'active', 'completed']),
    );
    expect(updates.some((u) => u.task.id === other.body.taskId)).toBe(false);
    expect(read.comments).toBeGreaterThanOrEqual(2); // the opening comment and at least one heartbeat
  });
});
