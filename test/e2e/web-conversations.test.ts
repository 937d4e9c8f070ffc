/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * The conversation routes against a real June (SQLite, workers, espeak-ng and pocketsphinx, the fake
 * OpenAI-compatible server): new conversations, titles from the first message, renaming kept as typed,
 * the turns read back with audio links and timings, deletion, and one user never reaching another's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { apiClient, bearer as as, jsonHeaders as json } from './web-client.js';
import { startJune, waitForTask, type RunningJune } from './web-harness.js';

const USER = 'conv-user-token-aaaaaaaaaaaa';
const OTHER = 'conv-other-token-bbbbbbbbbbb';

let june: RunningJune;
let voiceNote: Buffer;

beforeAll(async () => {
  june = await startJune({ apiTokens: [USER, OTHER] });
  voiceNote = await spokenVoiceNote(june.dir, 'what is the weather like in paris today');
});

afterAll(async () => {
  await june?.stop();
});

const { send, upload, getJson } = apiClient(() => june.base);

async function post(url: string, token: string, body?: unknown) {
  const res = await fetch(`${june.base}${url}`, {
    method: 'POST',
    headers: body === undefined ? as(token) : json(token),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('conversations', () => {
  it('creates, titles, reads back, renames and deletes a conversation', async () => {
    const created = await post('/v1/conversations', USER, {});
    expect(created.status).toBe(201);
    const { id, conversation } = created.body;
    expect(created.body).toMatchObject({
      channel: 'web',
      title: 'New chat',
      titled: false,
      mine: true,
      messages: 0,
    });
    expect(conversation).toMatch(/^c-[A-Za-z0-9_-]+$/);
    expect((await getJson('/v1/conversations', USER)).body.conversations.map((c: any) => c.id)).toContain(id);

    const first = await send(USER, {
      text: 'Please plan   a three day trip to Lisbon with museums, food and a day at the beach',
      conversation,
    });
    await waitForTask(june.base, first.body.taskId, as(USER));
    const spoken = await upload(USER, voiceNote, { conversation });
    await waitForTask(june.base, spoken.body.taskId, as(USER), 60_000);

    const listed = (await getJson('/v1/conversations', USER)).body.conversations.find(
      (c: any) => c.id === id,
    );
    expect(listed.title).toBe('Please plan a three day trip to Lisbon with museums, food…');
    expect(listed.messages).toBe(4);
    expect(listed.lastMessageAt).toBeGreaterThanOrEqual(listed.updatedAt - 60_000);

    const read = await getJson(`/v1/conversations/${encodeURIComponent(id)}/messages`, USER);
    expect(read.status).toBe(200);
    expect(read.body.turns).toHaveLength(2);
    const [typed, voice] = read.body.turns;
    expect(typed).toMatchObject({ taskId: first.body.taskId, voice: false });
    expect(typed.user).toContain('three day trip');
    expect(typed.reply).toContain('You said: Please plan');
    expect(typed.timings.llmTotalMs).toBeGreaterThan(0);
    expect(voice).toMatchObject({ taskId: spoken.body.taskId, voice: true });
    expect(voice.user).toMatch(/weather/);
    expect(voice.audio).toBe(`/v1/audio/${spoken.body.taskId}`);
    expect(typeof voice.timings.sttMs).toBe('number');
    const audio = await fetch(`${june.base}${voice.audio}`, { headers: as(USER) });
    expect(audio.status).toBe(200);
    // the conversation's name works as well as its id
    expect((await getJson(`/v1/conversations/${conversation}/messages`, USER)).body.turns).toHaveLength(2);

    // a title is kept exactly as typed
    const renamed = await post(`/v1/conversations/${encodeURIComponent(id)}/rename`, USER, {
      title: '  my work notes!  ',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, title: 'my work notes!', titled: true });
    const bad = await post(`/v1/conversations/${encodeURIComponent(id)}/rename`, USER, { title: 'a\nb' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'body.title' });
    expect((await post(`/v1/conversations/${conversation}/rename`, USER, { title: ' ' })).status).toBe(400);

    // another user can neither read, rename nor delete it
    expect((await getJson(`/v1/conversations/${encodeURIComponent(id)}/messages`, OTHER)).status).toBe(404);
    expect(
      (await post(`/v1/conversations/${encodeURIComponent(id)}/rename`, OTHER, { title: 'x' })).status,
    ).toBe(404);
    expect((await post(`/v1/conversations/${encodeURIComponent(id)}/delete`, OTHER)).status).toBe(404);

    const deleted = await post(`/v1/conversations/${encodeURIComponent(id)}/delete`, USER);
    expect(deleted.body).toEqual({ id, deleted: true });
    expect((await getJson('/v1/conversations', USER)).body.conversations.map((c: any) => c.id)).not.toContain(
      id,
    );
    expect((await getJson(`/v1/conversations/${encodeURIComponent(id)}/messages`, USER)).status).toBe(404);
  }, 120_000);

  it('describes the new routes in /openapi.json', async () => {
    const doc = (await getJson('/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/conversations',
        '/v1/conversations/{id}/messages',
        '/v1/conversations/{id}/rename',
        '/v1/conversations/{id}/delete',
      ]),
    );
    const turns = JSON.stringify(doc.paths['/v1/conversations/{id}/messages']);
    expect(turns).toContain('timings');
    expect(turns).toContain('audio');
    expect(doc.paths['/v1/conversations'].post).toBeDefined();
  });
});
