import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { espeakVoiceFor, parseEspeakVoiceList } from './espeak-voices.js';
import { cleanSpeechText, isUnspeakable } from './speech-text.js';

const installed = parseEspeakVoiceList(execFileSync('espeak-ng', ['--voices']).toString('utf8'));

describe('espeak-ng voice choice', () => {
  it('reads the installed voice list', () => {
    expect(installed.has('en-us')).toBe(true);
    expect(installed.has('fr-fr')).toBe(true);
    expect(installed.size).toBeGreaterThan(50);
  });

  it('maps languages onto voices, with region subtags and fallbacks', () => {
    const voice = (lang: string | undefined) => espeakVoiceFor(lang, installed);
    expect(voice(undefined)).toEqual({ voice: 'en-us', fallback: false });
    expect(voice('auto').voice).toBe('en-us');
    expect(voice('en').voice).toBe('en-us');
    expect(voice('en-GB').voice).toBe('en-gb');
    expect(voice('en_US').voice).toBe('en-us');
    expect(voice('fr').voice).toBe('fr-fr');
    expect(voice('de').voice).toBe('de');
    expect(voice('es').voice).toBe('es');
    expect(voice('pt-BR').voice).toBe('pt-br');
    expect(voice('pt').voice).toBe('pt');
    expect(voice('zh').voice).toBe('cmn');
    expect(voice('no').voice).toBe('nb');
    expect(voice('de-AT').voice).toBe('de');
    expect(voice('tlh')).toEqual({ voice: 'en-us', fallback: true });
  });
});

describe('speech text cleaning', () => {
  it('removes tags, decodes entities, drops control characters', () => {
    expect(cleanSpeechText('<speak>Hi <break time="1s"/> there</speak>')).toBe('Hi there');
    expect(cleanSpeechText('Fish &amp; chips &lt;3 &#233;t&#xE9;')).toBe('Fish & chips <3 été');
    expect(cleanSpeechText('a\u0000b\nc\td')).toBe('a b c d');
    expect(cleanSpeechText('3 < 4 and 5 > 2')).toBe('3 < 4 and 5 > 2');
    expect(cleanSpeechText('“Quotes” — and ‘more’ 😀')).toBe('“Quotes” — and ‘more’ 😀');
  });

  it('knows when nothing is left to say', () => {
    expect(isUnspeakable('')).toBe(true);
    expect(isUnspeakable('... !?')).toBe(true);
    expect(isUnspeakable('42')).toBe(false);
    expect(isUnspeakable('é')).toBe(false);
    expect(isUnspeakable('🍕')).toBe(false);
  });
});
