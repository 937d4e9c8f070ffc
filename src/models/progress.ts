/**
 * Download progress on stderr (stdout stays clean for command output).
 *
 * On a terminal one line is redrawn in place: bar, percent, MB done/total, speed, time left. Anywhere else
 * (systemd journal, docker logs, CI) a redrawn line would be garbage, so a plain line is written at every
 * 10 % step instead, or every 50 MB when the total size is unknown.
 */
import type { DownloadProgress } from './download.js';

/** The part of a stream this needs; process.stderr fits, and so does any Writable with `isTTY` set. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  /** What is downloading, e.g. the model id. */
  label: string;
  stream?: ProgressStream;
}

export interface ProgressBar {
  update(p: DownloadProgress): void;
  /** Ends the redrawn line so later output starts on a fresh one. */
  done(): void;
}

const REDRAW_INTERVAL_MS = 100;
const UNKNOWN_TOTAL_STEP = 50_000_000;

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  return stream.isTTY ? terminalBar(options.label, stream) : stepLogger(options.label, stream);
}

function terminalBar(label: string, stream: ProgressStream): ProgressBar {
  let last: DownloadProgress | undefined;
  let drawnAt = 0;
  const draw = (p: DownloadProgress) => {
    drawnAt = Date.now();
    const width = Math.max(40, Math.min(stream.columns ?? 80, 120));
    const text = formatProgress(label, p);
    const barWidth = Math.max(0, width - text.length - 4);
    const bar = p.total && barWidth >= 10 ? ` [${barFill(p.received / p.total, barWidth)}]` : '';
    // \r back to column 0, \x1b[K clears what a longer previous line left behind.
    stream.write(`\r${text}${bar}\x1b[K`);
  };
  return {
    update(p) {
      last = p;
      const finished = p.total !== undefined && p.received >= p.total;
      if (finished || Date.now() - drawnAt >= REDRAW_INTERVAL_MS) draw(p);
    },
    done() {
      if (!last) return;
      draw(last);
      stream.write('\n');
      last = undefined;
    },
  };
}

function stepLogger(label: string, stream: ProgressStream): ProgressBar {
  let nextStep = 0;
  return {
    update(p) {
      const step = p.total
        ? Math.floor((p.received / p.total) * 10)
        : Math.floor(p.received / UNKNOWN_TOTAL_STEP);
      if (step < nextStep) return;
      nextStep = step + 1;
      stream.write(formatProgress(label, p) + '\n');
    },
    done() {},
  };
}

/** "base.en  42%  61.2/141.1 MB  5.3 MB/s  ETA 0:15" (percent and ETA only when the total is known). */
export function formatProgress(label: string, p: DownloadProgress): string {
  const parts = [label];
  if (p.total) {
    const percent = Math.min(100, Math.floor((p.received / p.total) * 100));
    parts.push(`${String(percent).padStart(3)}%`, `${megabytes(p.received)}/${megabytes(p.total)} MB`);
  } else {
    parts.push(`${megabytes(p.received)} MB`);
  }
  parts.push(`${megabytes(p.bytesPerSec)} MB/s`);
  if (p.total) {
    const left = p.total - p.received;
    parts.push(`ETA ${left <= 0 ? '0:00' : p.bytesPerSec > 0 ? duration(left / p.bytesPerSec) : '--:--'}`);
  }
  return parts.join('  ');
}

function megabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function barFill(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '#'.repeat(filled) + '-'.repeat(width - filled);
}
