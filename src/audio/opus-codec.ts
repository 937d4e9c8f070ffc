/**
 * libopus in-process, through the WebAssembly build of `@evan/opus` (MIT; libopus is BSD-licensed).
 *
 * The WASM build is loaded on purpose even where the package also ships a native addon: it behaves the
 * same on every platform, and a fault inside it is a JavaScript exception rather than a crashed server.
 * It is loaded on first use (compiling it takes a few milliseconds) and shared by every call.
 */

/** The libopus calls June uses, as the package's WASM entry point exposes them. */
export interface WasmOpusEncoder {
  ctl(request: number, value?: number): number;
  /** Interleaved 16-bit PCM, one frame; returns the packet (a copy). */
  encode(pcm: ArrayBufferView): Uint8Array;
  drop(): void;
}

export interface WasmOpusDecoder {
  ctl(request: number, value?: number): number;
  /** One packet; returns interleaved 16-bit little-endian PCM bytes (a copy). */
  decode(packet: ArrayBufferView): Uint8Array;
  drop(): void;
}

export interface OpusWasmModule {
  Encoder: new (options: {
    channels: 1 | 2;
    sample_rate: number;
    application: 'voip' | 'audio' | 'restricted_lowdelay';
  }) => WasmOpusEncoder;
  Decoder: new (options: { channels: 1 | 2; sample_rate: number }) => WasmOpusDecoder;
}

/** Rates libopus encodes from and decodes to. */
export const OPUS_NATIVE_RATES = [8000, 12000, 16000, 24000, 48000] as const;

/** libopus request codes (opus_defines.h). */
export const OPUS_CTL = {
  setBitrate: 4002,
  setComplexity: 4010,
  setSignal: 4024,
  getLookahead: 4027,
} as const;
export const OPUS_SIGNAL_VOICE = 3001;

/** The codec could not be loaded here: nothing to do with the audio, so callers fall back to ffmpeg. */
export class OpusCodecUnavailable extends Error {
  override readonly name = 'OpusCodecUnavailable';
}

// A variable, so the compiler does not look for type declarations the package does not ship for it.
const WASM_ENTRY = '@evan/opus/wasm/index.js';
let loading: Promise<OpusWasmModule> | undefined;

export function loadOpusWasm(): Promise<OpusWasmModule> {
  loading ??= import(WASM_ENTRY).then(
    (mod: Partial<OpusWasmModule> & { default?: OpusWasmModule }) => {
      const api = mod.Encoder && mod.Decoder ? (mod as OpusWasmModule) : mod.default;
      if (!api?.Encoder || !api.Decoder)
        throw new OpusCodecUnavailable(`${WASM_ENTRY} has no Encoder/Decoder`);
      return api;
    },
    (err: unknown) => {
      loading = undefined; // let a later call try again
      throw new OpusCodecUnavailable(
        `cannot load ${WASM_ENTRY}: ${err instanceof Error ? err.message : err}`,
      );
    },
  );
  return loading;
}

/** libopus reports a packet it cannot parse as "corrupted stream" (OPUS_INVALID_PACKET). */
export function isCorruptPacketError(err: unknown): boolean {
  return err instanceof Error && /corrupted stream/.test(err.message);
}

/**
 * Loads the codec ahead of the first voice note (for a service's warm-up). Never throws: if it cannot
 * load, OGG/Opus simply goes through ffmpeg.
 */
export async function preloadOpusCodec(): Promise<boolean> {
  return loadOpusWasm().then(
    () => true,
    () => false,
  );
}
