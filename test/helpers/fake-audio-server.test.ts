import { describe, expect, it } from 'vitest';
import { parseMultipart } from './fake-audio-server.js';

describe('fake audio server multipart parsing', () => {
  it('reads the fields and file of a body encoded by fetch', async () => {
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([Buffer.from('RIFF\r\n--x\r\nbinary')], { type: 'audio/wav' }), 'a.wav');
    const request = new Request('http://localhost/', { method: 'POST', body: form });
    const boundary = /boundary=(.+)$/.exec(request.headers.get('content-type') ?? '')![1]!;
    const parts = parseMultipart(Buffer.from(await request.arrayBuffer()), boundary);
    expect(parts.map((p) => p.name)).toEqual(['model', 'file']);
    expect(parts[0]!.data.toString()).toBe('whisper-1');
    expect(parts[1]).toMatchObject({ filename: 'a.wav', contentType: 'audio/wav' });
    expect(parts[1]!.data.toString()).toBe('RIFF\r\n--x\r\nbinary');
  });

  it('refuses a truncated body', () => {
    const body = Buffer.from('--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper');
    expect(() => parseMultipart(body, 'b')).toThrow(/truncated/);
  });
});
