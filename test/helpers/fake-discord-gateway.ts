/**
 * The gateway half of the fake Discord server: Discord's WebSocket protocol (JSON encoding) as discord.js
 * speaks it. HELLO (op 10) on connect; IDENTIFY (op 2) checks the token (close 4004) and the privileged
 * MESSAGE_CONTENT intent (close 4014 when the portal has not enabled it), then READY and one GUILD_CREATE
 * per guild; HEARTBEAT (op 1) is acknowledged (op 11); RESUME (op 6) replays what the session missed, then
 * RESUMED. Dispatches carry increasing sequence numbers per session and are kept for replay.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { IntentBits, type Json } from './fake-discord-objects.js';

export const GatewayOps = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  Resume: 6,
  Reconnect: 7,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export interface GatewaySession {
  id: string;
  intents: number;
  seq: number;
  /** Every dispatch of this session, for RESUME. */
  events: { s: number; t: string; d: unknown }[];
  socket: WebSocket | undefined;
}

export interface GatewayHost {
  token(): string;
  heartbeatIntervalMs: number;
  /** Whether the application's MESSAGE_CONTENT intent is enabled in the developer portal. */
  messageContentIntent: boolean;
  resumeUrl(): string;
  /** READY's payload (without session fields) and the GUILD_CREATE payloads that follow it. */
  readyPayload(): { ready: Json; guilds: Json[] };
  /** Called for every gateway frame received, for tests to inspect. */
  onFrame(frame: { op: number; d: unknown }): void;
}

export class FakeDiscordGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  readonly sessions = new Map<string, GatewaySession>();
  /** Query strings of every connection (discord.js asks for v=10&encoding=json). */
  readonly connections: string[] = [];
  heartbeats = 0;

  constructor(private readonly host: GatewayHost) {
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** Sends an event to every identified session (queued for replay while a session is disconnected). */
  dispatch(t: string, d: Json, shape?: (session: GatewaySession, d: Json) => Json | undefined): void {
    for (const session of this.sessions.values()) {
      const payload = shape ? shape(session, d) : d;
      if (payload) this.send(session, t, payload);
    }
  }

  /** Closes every connection with `code` (4000 and the like are resumable), as a network blip would. */
  drop(code = 4000): void {
    for (const session of this.sessions.values()) {
      session.socket?.close(code, 'Fake gateway dropped the connection');
      session.socket = undefined;
    }
  }

  liveSessions(): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => s.socket !== undefined);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private send(session: GatewaySession, t: string, d: unknown): void {
    const s = ++session.seq;
    session.events.push({ s, t, d });
    session.socket?.send(JSON.stringify({ op: GatewayOps.Dispatch, t, s, d }));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    this.connections.push(new URL(req.url ?? '/', 'http://x').search);
    let session: GatewaySession | undefined;
    ws.send(
      JSON.stringify({
        op: GatewayOps.Hello,
        d: { heartbeat_interval: this.host.heartbeatIntervalMs, _trace: ['fake-gateway'] },
      }),
    );
    ws.on('message', (raw) => {
      let frame: { op: number; d: unknown };
      try {
        frame = JSON.parse(String(raw)) as { op: number; d: unknown };
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      this.host.onFrame(frame);
      switch (frame.op) {
        case GatewayOps.Heartbeat:
          this.heartbeats++;
          ws.send(JSON.stringify({ op: GatewayOps.HeartbeatAck }));
          return;
        case GatewayOps.Identify:
          session = this.identify(ws, frame.d as { token?: string; intents?: number });
          return;
        case GatewayOps.Resume:
          session = this.resume(ws, frame.d as { token?: string; session_id?: string; seq?: number });
          return;
        default:
          if (!session) ws.close(4003, 'Not authenticated.');
      }
    });
    ws.on('close', () => {
      if (session?.socket === ws) session.socket = undefined;
    });
  }

  private identify(ws: WebSocket, d: { token?: string; intents?: number }): GatewaySession | undefined {
    if (d.token !== this.host.token()) {
      ws.close(4004, 'Authentication failed.');
      return undefined;
    }
    const intents = d.intents ?? 0;
    if (intents & IntentBits.MessageContent && !this.host.messageContentIntent) {
      ws.close(4014, 'Disallowed intent(s).');
      return undefined;
    }
    const session: GatewaySession = {
      id: randomBytes(16).toString('hex'),
      intents,
      seq: 0,
      events: [],
      socket: ws,
    };
    this.sessions.set(session.id, session);
    const { ready, guilds } = this.host.readyPayload();
    this.send(session, 'READY', {
      v: 10,
      ...ready,
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.host.resumeUrl(),
      shard: [0, 1],
    });
    for (const g of guilds) this.send(session, 'GUILD_CREATE', g);
    return session;
  }

  private resume(
    ws: WebSocket,
    d: { token?: string; session_id?: string; seq?: number },
  ): GatewaySession | undefined {
    const session = d.session_id ? this.sessions.get(d.session_id) : undefined;
    if (!session || d.token !== this.host.token()) {
      ws.send(JSON.stringify({ op: GatewayOps.InvalidSession, d: false }));
      return undefined;
    }
    session.socket = ws;
    for (const e of session.events) {
      if (e.s > (d.seq ?? 0)) ws.send(JSON.stringify({ op: GatewayOps.Dispatch, t: e.t, s: e.s, d: e.d }));
    }
    this.send(session, 'RESUMED', { _trace: ['fake-gateway'] });
    return session;
  }
}
