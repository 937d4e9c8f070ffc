/**
 * Just enough spectral analysis for the speech gate: a radix-2 FFT and spectral flatness.
 */

/** In-place iterative radix-2 FFT. `re.length` must be a power of two. */
export function fftInPlace(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const angle = (-2 * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/**
 * Computes spectral flatness (geometric / arithmetic mean of the power spectrum) of frames within a
 * frequency band. Near 1 for white noise, near 0 for voiced speech (energy piled into harmonics and
 * formants) and for tones. Reuses its buffers across calls.
 */
export class FlatnessMeter {
  private readonly size: number;
  private readonly window: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly loBin: number;
  private readonly hiBin: number;

  constructor(frameLength: number, sampleRate: number, loHz: number, hiHz: number) {
    this.size = nextPowerOfTwo(frameLength);
    this.window = new Float64Array(frameLength);
    for (let i = 0; i < frameLength; i++)
      this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frameLength - 1));
    this.re = new Float64Array(this.size);
    this.im = new Float64Array(this.size);
    const binHz = sampleRate / this.size;
    this.loBin = Math.max(1, Math.round(loHz / binHz));
    this.hiBin = Math.min(this.size / 2 - 1, Math.round(Math.min(hiHz, sampleRate / 2) / binHz));
  }

  measure(samples: Float32Array, start: number): number {
    const { re, im, window } = this;
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < window.length; i++) re[i] = (samples[start + i] ?? 0) * window[i]!;
    fftInPlace(re, im);
    let logSum = 0;
    let sum = 0;
    const count = this.hiBin - this.loBin + 1;
    for (let k = this.loBin; k <= this.hiBin; k++) {
      const power = re[k]! * re[k]! + im[k]! * im[k]! + 1e-20;
      logSum += Math.log(power);
      sum += power;
    }
    return Math.exp(logSum / count) / (sum / count);
  }
}
