/**
 * The HTTP API's error format and limits, on raw sockets where fetch cannot send the request: every error
 * body is {error: {code, message}}, Fastify's and Node's own included; messages name the limit that
 * applies; slow clients are cut off after the configured time limits; one client address cannot hold more
 * than its share of connections. Against a real running June (see web-harness.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponse, RawConnection, rawExchange } from '../helpers/raw-http.js';
import { startJune, type RunningJune } from './web-harness.js';

const TOKEN = 'user-token-hhhhhhhhhhhhhhhh';
const auth = `Authorization: Bearer ${TOKEN}\r\n`;

const portOf = (june: RunningJune) => Number(new URL(june.base).port);

/** The first response on the wire, which must carry the API's error body. */
function apiError(text: string): { status: number; code: string; message: string } {
  const res = parseResponse(text);
  expect(res, text.slice(0, 300)).toBeDefined();
  const body = JSON.parse(res!.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.message).toBe('string');
  return { status: res!.status, code: body.error.code, message: body.error.message };
}

describe('error bodies', () => {
  let june: RunningJune;
  let logFile: string;
  let port: number;

  beforeAll(async () => {
    logFile = path.join(fs.mkdtempSync('/tmp/june-http-log-'), 'june.log');
    june = await startJune({ apiTokens: [TOKEN] }, { logFile });
    port = portOf(june);
  });
  afterAll(async () => {
    await june?.stop();
  });

  it('answers Fastify and Node parser errors with the API error body', async () => {
    const get = (target: string, extra = '') =>
      `GET ${target} HTTP/1.1\r\nHost: x\r\n${auth}${extra}Connection: close\r\n\r\n`;
    const cases: Array<[string, string, number, string]> = [
      ['a path segment over the limit', get(`/v1/tasks/${'a'.repeat(5000)}`), 414, 'uri_too_long'],
      ['a bad %-encoding', get('/v1/tasks/%E0%A4%A'), 400, 'invalid_request'],
      ['an unknown route', get('/v1/nothing'), 404, 'not_found'],
      ['a route under another method', get('/v1/messages'), 405, 'method_not_allowed'],
      ['headers over 16 KB', get('/health', `X-Big: ${'b'.repeat(20_000)}\r\n`), 431, 'headers_too_large'],
      ['not HTTP at all', 'HELLO THERE\r\n\r\n', 400, 'invalid_request'],
      [
        'a Content-Length smaller than the body',
        `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n` +
          'Content-Length: 5\r\n\r\n{"text":"hello there"}',
        400,
        'invalid_request',
      ],
    ];
    for (const [what, request, status, code] of cases) {
      const err = apiError(await rawExchange(port, request));
      expect({ what, status: err.status, code: err.code }).toEqual({ what, status, code });
    }
    const notAllowed = parseResponse(await rawExchange(port, get('/v1/messages')))!;
    expect(notAllowed.headers.allow).toBe('POST');
  });

  it('tells a JSON body over its limit about the JSON limit, not the audio one', async () => {
    const body = JSON.stringify({ text: 'x'.repeat(2 * 1024 * 1024) });
    const err = apiError(
      await rawExchange(
        port,
        `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ),
    );
    expect(err).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(err.message).toMatch(/JSON body .*limit is 1 MB/);
  });

  it('answers a malformed multipart body 400, logged as the client error it is', async () => {
    const form =
      '--XX\r\nContent-Disposition: form-data; name="audio"; filename="a.ogg"\r\n' +
      'Content-Type: audio/ogg\r\n\r\nOggS and then the form just stops';
    const err = apiError(
      await rawExchange(
        port,
        `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: multipart/form-data; boundary=XX\r\n` +
          `Content-Length: ${form.length}\r\nConnection: close\r\n\r\n${form}`,
      ),
    );
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(err.message).toMatch(/multipart body cannot be read/);
    const log = fs.readFileSync(logFile, 'utf8');
    expect(log).toMatch(/request refused: The multipart body cannot be read/);
    expect(log).not.toMatch(/web API request failed/);
  });

  it('answers 404 for resetting a conversation that was never used, and creates nothing', async () => {
    const reset = await fetch(`${june.base}/v1/conversations/never-used/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(reset.status).toBe(404);
    expect(await reset.json()).toEqual({
      error: { code: 'not_found', message: 'No conversation never-used.' },
    });
    const list = await fetch(`${june.base}/v1/conversations`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { conversations } = (await list.json()) as { conversations: Array<{ conversation: string }> };
    expect(conversations.map((c) => c.conversation)).not.toContain('never-used');
  });
});

describe('slow clients', () => {
  let june: RunningJune;
  let port: number;

  beforeAll(async () => {
    june = await startJune({ apiTokens: [TOKEN], httpHeadersTimeoutMs: 500, httpRequestTimeoutMs: 1000 });
    port = portOf(june);
  });
  afterAll(async () => {
    await june?.stop();
  });

  it('closes a connection whose headers never end, with 408', async () => {
    const c = new RawConnection(port);
    c.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n');
    await c.closed;
    expect(apiError(c.received)).toMatchObject({ status: 408, code: 'request_timeout' });
  });

  it('closes a connection whose body never ends, with 408', async () => {
    const c = new RawConnection(port);
    c.write(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n` +
        'Content-Length: 1000\r\n\r\n{"text":',
    );
    await c.closed;
    expect(apiError(c.received)).toMatchObject({ status: 408, code: 'request_timeout' });
  });
});

describe('connections per client', () => {
  const CAP = 5;
  let june: RunningJune;
  let port: number;

  beforeAll(async () => {
    june = await startJune({ apiTokens: [TOKEN], httpMaxConnectionsPerClient: CAP });
    port = portOf(june);
  });
  afterAll(async () => {
    await june?.stop();
  });

  /** A request whose body is still to come; the server's 100 Continue says it holds the connection. */
  const openSlow = async (): Promise<{ c: RawConnection; first: string }> => {
    const c = new RawConnection(port);
    c.write(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n` +
        'Expect: 100-continue\r\nContent-Length: 32\r\n\r\n',
    );
    return { c, first: await c.firstData() };
  };

  it('refuses connections over the cap with 429, and serves the others to the end', async () => {
    const held: RawConnection[] = [];
    const refused: string[] = [];
    for (let i = 0; i < CAP + 3; i++) {
      const { c, first } = await openSlow();
      if (first.startsWith('HTTP/1.1 100')) held.push(c);
      else {
        await c.closed;
        refused.push(c.received);
      }
    }
    expect(held).toHaveLength(CAP);
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(apiError(r)).toMatchObject({ status: 429, code: 'too_many_connections' });

    // the held connections finish their requests normally
    const body = JSON.stringify({ text: 'hi' }).padEnd(32, ' ');
    for (const c of held) {
      c.write(body);
      const text = await c.until((t) => /HTTP\/1\.1 [2-5]\d\d [^\r]*\r\n[\s\S]*\r\n\r\n\{.*\}$/.test(t));
      expect(text, text).toMatch(/HTTP\/1\.1 202 /);
      c.close();
      await c.closed;
    }
    // closed connections free their places
    const again = await openSlow();
    expect(again.first).toMatch(/^HTTP\/1\.1 100/);
    again.c.close();
  });
});
