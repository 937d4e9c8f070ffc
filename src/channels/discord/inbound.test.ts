import { describe, expect, it } from 'vitest';
import { attachmentKind, attachmentMime } from './inbound.js';

describe('Discord attachments', () => {
  it('uses the declared content type, without parameters', () => {
    expect(attachmentMime({ contentType: 'audio/ogg; codecs=opus', name: 'x.bin' })).toBe('audio/ogg');
    expect(attachmentMime({ contentType: 'image/PNG', name: 'x.png' })).toBe('image/png');
  });

  it('guesses audio types from the file name when Discord gave none', () => {
    expect(attachmentMime({ contentType: null, name: 'memo.M4A' })).toBe('audio/mp4');
    expect(attachmentMime({ contentType: null, name: 'voice.opus' })).toBe('audio/ogg');
    expect(attachmentMime({ contentType: null, name: 'notes.txt' })).toBeUndefined();
  });

  it('classifies voice messages, audio files and the rest', () => {
    expect(attachmentKind('audio/ogg', true)).toBe('voice');
    // a voice message whose type Discord left out is still a voice message
    expect(attachmentKind(undefined, true)).toBe('voice');
    expect(attachmentKind('audio/mpeg', false)).toBe('audio');
    expect(attachmentKind('image/jpeg', false)).toBe('image');
    expect(attachmentKind('video/mp4', false)).toBe('video');
    expect(attachmentKind('application/pdf', false)).toBe('other');
    expect(attachmentKind(undefined, false)).toBe('other');
  });
});
