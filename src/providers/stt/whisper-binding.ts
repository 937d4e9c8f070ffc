/**
 * The slice of @fugood/whisper.node (whisper.cpp for Node) that June uses, loaded lazily.
 *
 * The package ships TypeScript sources instead of declarations, and those do not compile under June's
 * settings (verbatimModuleSyntax with a CommonJS package), so its types are restated here and the module
 * is imported through a variable specifier, which TypeScript does not try to resolve.
 */

export interface WhisperTranscribeOptions {
  /** Language code, or "auto" to detect it (multilingual models only). */
  language?: string;
  maxThreads?: number;
  /** Temperature increment for whisper.cpp's fallback re-decoding; 0 turns the fallback off. */
  temperatureInc?: number;
  temperature?: number;
  beamSize?: number;
  bestOf?: number;
}

export interface WhisperTranscribeResult {
  /** The language whisper.cpp ended up with (detected, or the forced one). */
  language?: string;
  result: string;
  /** t0/t1 in milliseconds. */
  segments: Array<{ text: string; t0: number; t1: number }>;
  isAborted: boolean;
}

export interface WhisperNativeContext {
  /**
   * Transcribes 16 kHz mono signed 16-bit little-endian PCM. `stop()` is deliberately absent: in
   * whisper.node 1.1.3 a stopped job's promise never settles (the native error callback passes one
   * argument where the JS side waits for two), so June never calls it.
   */
  transcribeData(
    pcm16: ArrayBuffer,
    options?: WhisperTranscribeOptions,
  ): { promise: Promise<WhisperTranscribeResult> };
  release(): Promise<void>;
}

interface WhisperNativeModule {
  /** Constructing loads the model synchronously and throws if whisper.cpp rejects the file. */
  WhisperContext: new (options: { filePath: string; useGpu?: boolean }) => WhisperNativeContext;
}

interface WhisperNodePackage {
  loadWhisperModule(): Promise<WhisperNativeModule>;
  toggleNativeLog(enable: boolean): Promise<void>;
  addNativeLogListener(listener: (level: string, text: string) => void): { remove: () => void };
}

const PACKAGE = '@fugood/whisper.node';

let binding: Promise<WhisperNodePackage> | undefined;

/** Imports the package once; a failed import is retried on the next call. */
export function loadWhisperBinding(): Promise<WhisperNodePackage> {
  binding ??= (import(PACKAGE) as Promise<WhisperNodePackage>).catch((err: unknown) => {
    binding = undefined;
    throw err;
  });
  return binding;
}

// ------------------------------------------------------------------------------------------ native log

export type NativeLogHandler = (level: string, text: string) => void;

const handlers = new Set<NativeLogHandler>();
let listening = false;
let users = 0;

/**
 * Routes whisper.cpp's log (otherwise printed straight to stderr, where it would break June's JSON log
 * lines) to `handler` until the returned function is called.
 *
 * Only enabled while someone needs it: the binding's log bridge is a thread-safe function that keeps
 * Node's event loop alive, so leaving it on would stop the process from exiting. Lines arrive
 * asynchronously, so callers give the event loop a moment before releasing (see `drainNativeLog`).
 */
export function captureNativeLog(pkg: WhisperNodePackage, handler: NativeLogHandler): () => void {
  if (!listening) {
    pkg.addNativeLogListener((level, text) => {
      for (const h of handlers) h(level, text);
    });
    listening = true;
  }
  handlers.add(handler);
  if (users++ === 0) void pkg.toggleNativeLog(true);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    handlers.delete(handler);
    if (--users === 0) void pkg.toggleNativeLog(false);
  };
}

/** Lets log lines queued by native threads reach their JS handlers (they are delivered on a later tick). */
export function drainNativeLog(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}
