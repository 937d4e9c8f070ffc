/** A description of the machine a benchmark ran on, written next to its results. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  ffmpeg: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  let ffmpeg = 'not found';
  try {
    ffmpeg = execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0] ?? ffmpeg;
  } catch {
    // reported as not found
  }
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    ffmpeg,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function machineMarkdown(m: MachineInfo): string {
  return [
    `- date: ${m.date}`,
    `- cpu: ${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB RAM`,
    `- os: ${m.os}; node ${m.node}; ${m.ffmpeg}`,
    `- load average at start: ${m.loadAverage.join(', ')}`,
  ].join('\n');
}

/** Nearest-rank percentile of `values` (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
