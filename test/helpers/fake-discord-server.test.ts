/**
 * The fake Discord speaks Discord's protocols: discord.js logs in to it and stays connected, a raw
 * WebSocket client sees the gateway's opcodes, close codes and sequence numbers, and the REST API answers
 * with Discord's status codes, error codes and rate-limit headers.
 */
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { IntentBits } from './fake-discord-objects.js';
import { startFakeDiscordServer, type FakeDiscordServer } from './fake-discord-server.js';

let fake: FakeDiscordServer;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  fake = await startFakeDiscordServer({ heartbeatIntervalMs: 150 });
});
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
  fake.reset();
});
afterAll(async () => {
  await fake?.close();
});

interface Frame {
  op: number;
  t?: string;
  s?: number;
  d?: Record<string, unknown>;
}

/** A raw gateway client: connects, collects frames, and remembers how it was closed. */
async function rawGateway() {
  const ws = new WebSocket(`${fake.gatewayUrl}?v=10&encoding=json`);
  sockets.push(ws);
  const frames: Frame[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.on('message', (raw) => frames.push(JSON.parse(String(raw)) as Frame));
  ws.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  await once(ws, 'open');
  return {
    ws,
    frames,
    closed: () => closed,
    send: (frame: Frame) => ws.send(JSON.stringify(frame)),
    identify: (token: string, intents: number) =>
      ws.send(
        JSON.stringify({
          op: 2,
          d: { token, intents, properties: { os: 'linux', browser: 't', device: 't' } },
        }),
      ),
  };
}

const rest = (path: string, init: RequestInit = {}, auth = true) =>
  fetch(`${fake.apiBase}/v10${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: `Bot ${fake.token}` } : {}),
      ...(init.headers as Record<string, string> | undefined),
    },
  });

describe('gateway', () => {
  it('lets discord.js log in, sends READY and the guilds, and acknowledges heartbeats', async () => {
    const { Client, Events, GatewayIntentBits } = await import('discord.js');
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiBase } });
    try {
      const ready = once(client, Events.ClientReady);
      await client.login(fake.token);
      await ready;
      expect(client.user?.id).toBe(fake.bot.id);
      expect(client.application?.id).toBe(fake.applicationId);
      const guild = client.guilds.cache.get(fake.guilds[0]!.id)!;
      expect(guild.channels.cache.map((c) => c.name).sort()).toEqual(['general', 'random']);
      await fake.waitFor(() => fake.gateway.heartbeats >= 2, { what: 'two heartbeats' });
      // discord.js measured a round trip, so it saw the ACKs
      await fake.waitFor(() => client.ws.ping >= 0, { what: 'a heartbeat ACK' });
      expect(fake.gateway.connections[0]).toBe('?v=10&encoding=json');
    } finally {
      await client.destroy();
    }
  });

  it('speaks the raw protocol: HELLO, sequence numbers, channel_type on MESSAGE_CREATE', async () => {
    const g = await rawGateway();
    await fake.waitFor(() => g.frames[0]);
    expect(g.frames[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 150 } });
    g.send({ op: 1 });
    await fake.waitFor(() => g.frames.find((f) => f.op === 11), { what: 'HEARTBEAT_ACK' });

    g.identify(fake.token, IntentBits.Guilds | IntentBits.DirectMessages);
    await fake.waitFor(() => g.frames.find((f) => f.t === 'GUILD_CREATE'));
    const alice = fake.user('alice');
    fake.sendDm(alice, 'hi');
    const msg = await fake.waitFor(() => g.frames.find((f) => f.t === 'MESSAGE_CREATE'));
    expect(g.frames.filter((f) => f.op === 0).map((f) => [f.t, f.s])).toEqual([
      ['READY', 1],
      ['GUILD_CREATE', 2],
      ['MESSAGE_CREATE', 3],
    ]);
    expect(msg.d).toMatchObject({ content: 'hi', channel_type: 1, author: { id: alice.id } });
    expect(g.frames.find((f) => f.t === 'READY')!.d).toMatchObject({
      user: { id: fake.bot.id },
      application: { id: fake.applicationId },
    });
  });

  it('closes with 4004 for a bad token and 4003 for anything before IDENTIFY', async () => {
    const bad = await rawGateway();
    bad.identify('not-the-token', IntentBits.Guilds);
    expect(await fake.waitFor(() => bad.closed())).toEqual({ code: 4004, reason: 'Authentication failed.' });
    const early = await rawGateway();
    early.send({ op: 3, d: {} });
    expect((await fake.waitFor(() => early.closed())).code).toBe(4003);
  });

  it('sends guild message content only with MESSAGE_CONTENT or a mention, as Discord does', async () => {
    const g = await rawGateway();
    g.identify(fake.token, IntentBits.Guilds | IntentBits.GuildMessages);
    await fake.waitFor(() => g.frames.find((f) => f.t === 'READY'));
    const bob = fake.user('bob');
    const channelId = fake.guilds[0]!.channels[0]!.id;
    fake.sendGuildMessage({ user: bob, channelId, content: 'secret plans' });
    fake.sendGuildMessage({ user: bob, channelId, content: 'hello bot', mentionBot: true });
    fake.sendDm(bob, 'no DM intent, no DM');
    await fake.waitFor(() => g.frames.filter((f) => f.t === 'MESSAGE_CREATE').length >= 2);
    await new Promise((r) => setTimeout(r, 50));
    const contents = g.frames.filter((f) => f.t === 'MESSAGE_CREATE').map((f) => f.d!.content);
    expect(contents).toEqual(['', `<@${fake.bot.id}> hello bot`]);
  });
});

describe('REST', () => {
  it('wants the bot token', async () => {
    const res = await rest('/users/@me', {}, false);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    expect(await (await rest('/users/@me')).json()).toMatchObject({ id: fake.bot.id, bot: true });
  });

  it('rate limits with retry_after and the X-RateLimit headers that discord.js waits out', async () => {
    const chatId = fake.dmChannelId(fake.user('carol'));
    fake.rateLimit({ method: 'POST', path: /\/messages$/, retryAfterSec: 1 });
    const raw = await rest(`/channels/${chatId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: 'x' }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(raw.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(raw.headers.get('x-ratelimit-reset-after')).toBe('1');
    expect(await raw.json()).toMatchObject({ retry_after: 1, global: false });

    // discord.js's REST, left to its defaults, sleeps on the 429 and retries by itself
    const { REST, Routes } = await import('discord.js');
    const client = new REST({ api: fake.apiBase }).setToken(fake.token);
    fake.rateLimit({ method: 'POST', path: /\/messages$/, retryAfterSec: 1 });
    const t0 = Date.now();
    await client.post(Routes.channelMessages(chatId), { body: { content: 'eventually' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(fake.sent(chatId).map((m) => m.content)).toEqual(['eventually']);
  });

  it('checks messages the way Discord does', async () => {
    const chatId = fake.dmChannelId(fake.user('dave'));
    const post = async (body: unknown) => {
      const res = await rest(`/channels/${chatId}/messages`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, code: ((await res.json()) as { code: number }).code };
    };
    expect(await post({ content: 'x'.repeat(2001) })).toEqual({ status: 400, code: 50035 });
    expect(await post({})).toEqual({ status: 400, code: 50006 });
    expect(await post({ content: 'hi', message_reference: { message_id: '1234567890123456789' } })).toEqual({
      status: 400,
      code: 50035,
    });

    const voice = async (payload: Record<string, unknown>, files: { name: string; type: string }[]) => {
      const form = new FormData();
      form.append('payload_json', JSON.stringify({ flags: 1 << 13, ...payload }));
      files.forEach((f, i) =>
        form.append(`files[${i}]`, new Blob([Buffer.alloc(100)], { type: f.type }), f.name),
      );
      const res = await fetch(`${fake.apiBase}/v10/channels/${chatId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${fake.token}` },
        body: form,
      });
      return { status: res.status, code: ((await res.json()) as { code?: number }).code };
    };
    const ogg = [{ name: 'voice-message.ogg', type: 'audio/ogg' }];
    const meta = {
      attachments: [{ id: 0, filename: 'voice-message.ogg', duration_secs: 1.5, waveform: 'AAAA' }],
    };
    expect(await voice({ ...meta, content: 'text' }, ogg)).toEqual({ status: 400, code: 50159 });
    expect(await voice(meta, [])).toEqual({ status: 400, code: 50006 });
    expect(await voice({ attachments: [{ id: 0 }] }, ogg)).toEqual({ status: 400, code: 50161 });
    expect((await voice(meta, ogg)).status).toBe(200);
    const [sent] = fake.sent(chatId);
    expect(sent).toMatchObject({ flags: 1 << 13, attachments: [{ duration_secs: 1.5, waveform: 'AAAA' }] });
  });

  it('takes one callback per interaction, then follow-ups', async () => {
    fake.state.setCommands([{ name: 'new', description: 'New conversation' }]);
    const erin = fake.user('erin');
    const i = fake.slashCommand(erin, 'new');
    const callback = (token: string) =>
      rest(
        `/interactions/${i.id}/${token}/callback`,
        {
          method: 'POST',
          body: JSON.stringify({ type: 4, data: { content: 'done' } }),
        },
        false,
      );
    expect((await callback('wrong-token')).status).toBe(404);
    expect((await callback(i.token)).status).toBe(204);
    const again = await callback(i.token);
    expect([again.status, ((await again.json()) as { code: number }).code]).toEqual([400, 40060]);
    const followUp = await rest(
      `/webhooks/${fake.applicationId}/${i.token}`,
      {
        method: 'POST',
        body: JSON.stringify({ content: 'more' }),
      },
      false,
    );
    expect(followUp.status).toBe(200);
    expect(fake.sent().map((m) => [m.via, m.content])).toEqual([
      ['interaction', 'done'],
      ['followup', 'more'],
    ]);
    expect(() => fake.slashCommand(erin, 'unknown')).toThrow(/not a registered/);
  });

  it('serves attachments from signed URLs that expire and can be refreshed', async () => {
    const msg = fake.sendDm(fake.user('frank'), '', [
      { filename: 'a.ogg', contentType: 'audio/ogg', data: Buffer.from('OggS-data') },
    ]);
    const url = (msg.attachments as { url: string }[])[0]!.url;
    expect(url).toMatch(/\/attachments\/\d+\/\d+\/a\.ogg\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+&$/);
    expect(await (await fetch(url)).text()).toBe('OggS-data');
    fake.expireAttachmentUrls();
    expect((await fetch(url)).status).toBe(404);
    const refreshed = (await (
      await rest('/attachments/refresh-urls', {
        method: 'POST',
        body: JSON.stringify({ attachment_urls: [url] }),
      })
    ).json()) as { refreshed_urls: { refreshed: string }[] };
    expect(await (await fetch(refreshed.refreshed_urls[0]!.refreshed)).text()).toBe('OggS-data');
  });
});
