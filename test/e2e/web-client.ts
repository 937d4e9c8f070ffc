/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/** Small HTTP helpers for the web API tests. */
import http from 'node:http';
import type { SseEvent } from './web-harness.js';

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const jsonHeaders = (token: string) => ({ ...bearer(token), 'content-type': 'application/json' });

export interface JsonResponse {
  status: number;
  body: Record<string, any>;
}

/** Requests against one server; `base()` is read at call time (the server starts in beforeAll). */
export function apiClient(base: () => string) {
  return {
    async send(token: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
      const res = await fetch(`${base()}/v1/messages`, {
        method: 'POST',
        headers: { ...jsonHeaders(token), ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async upload(token: string, audio: Buffer, fields: Record<string, string> = {}): Promise<JsonResponse> {
      const form = new FormData();
      form.set('audio', new Blob([new Uint8Array(audio)], { type: 'audio/ogg' }), 'note.ogg');
      for (const [k, v] of Object.entries(fields)) form.set(k, v);
      const res = await fetch(`${base()}/v1/messages`, {
        method: 'POST',
        headers: bearer(token),
        body: form,
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async getJson(url: string, token?: string): Promise<JsonResponse> {
      const res = await fetch(`${base()}${url}`, { headers: token ? bearer(token) : {} });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
  };
}

/** A request with headers fetch() will not send (Host). */
export function rawRequest(base: string, method: string, urlPath: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(new URL(urlPath, base), { method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The data of the events with this name. */
export const named = (events: SseEvent[], name: string) =>
  events.filter((e) => e.event === name).map((e) => e.data as any);

/** Bytes no decoder takes for audio. */
export const notAudio = (length = 4096, step = 7919) =>
  Buffer.from(Array.from({ length }, (_, i) => (i * step) % 256));
