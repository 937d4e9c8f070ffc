/**
 * Band-limited sample-rate conversion in pure TypeScript: a polyphase FIR with Kaiser-windowed sinc
 * taps, for rational ratios (every pair of integer rates is one: 22050 → 24000 is 160/147).
 *
 * Why not linear interpolation (resamplePcm): it neither removes the images an upsampler creates nor
 * the content above the new Nyquist a downsampler folds back, and both are audible in speech and hurt
 * a codec. Here the cutoff sits just below the lower of the two Nyquist frequencies with ~80 dB
 * stopband, over a transition about 10 % of the lower rate wide — the trade libsamplerate's and
 * speexdsp's "medium quality" make, at a cost of ~50 multiply-adds per output sample when upsampling.
 */

/** Half the filter length, in periods of the lower of the two rates. */
const HALF_WIDTH = 24;
/** Cutoff as a fraction of the lower Nyquist frequency. */
const ROLLOFF = 0.95;
/** Kaiser β for about 80 dB of stopband attenuation: 0.1102 · (80 − 8.7). */
const KAISER_BETA = 7.857;
/**
 * Phase tables larger than this (1 MB) are not built: every pair of common rates needs far less
 * (44100 → 48000: 160 phases), while an odd rate such as 44101 Hz would need 48000 phases. Callers
 * hand such audio to ffmpeg instead.
 */
const MAX_TABLE_ENTRIES = 1 << 18;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** A converter between two integer rates; build once per pair, reuse for every signal. */
export class SincResampler {
  /** Output samples per `down` input samples, in lowest terms. */
  readonly up: number;
  readonly down: number;
  /** Taps per output sample. */
  readonly taps: number;
  /** `up` phases × `taps` coefficients, each phase normalised to unit gain at DC. */
  private readonly table: Float32Array;
  /** Input samples before the output instant that the first tap reaches back to, minus one. */
  private readonly reach: number;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
      throw new RangeError(`SincResampler: rates must be positive integers (${fromRate} → ${toRate})`);
    }
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    // In input-sample units: the cutoff (cycles per sample) and how far the windowed sinc reaches.
    const scale = Math.min(1, toRate / fromRate);
    const cutoff = 0.5 * scale * ROLLOFF;
    const halfLength = HALF_WIDTH / scale;
    this.reach = Math.ceil(halfLength) - 1;
    // Rounded up to a multiple of 4 for the unrolled inner loop; the extra taps weigh 0.
    this.taps = 4 * Math.ceil(Math.ceil(halfLength) / 2);
    if (this.up * this.taps > MAX_TABLE_ENTRIES) {
      throw new RangeError(`SincResampler: ${fromRate} → ${toRate} needs too large a filter table`);
    }
    this.table = new Float32Array(this.up * this.taps);
    const i0Beta = besselI0(KAISER_BETA);
    for (let p = 0; p < this.up; p++) {
      const frac = p / this.up;
      let sum = 0;
      const row = new Float64Array(this.taps);
      for (let k = 0; k < this.taps; k++) {
        // Distance from the output instant back to input sample (base − reach + k).
        const d = frac + this.reach - k;
        const r = d / halfLength;
        if (Math.abs(r) >= 1) continue;
        const x = 2 * cutoff * d;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const window = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
        row[k] = sinc * window;
        sum += row[k]!;
      }
      for (let k = 0; k < this.taps; k++) this.table[p * this.taps + k] = row[k]! / sum;
    }
  }

  /** Output length for `inputLength` samples: the same duration, rounded to the nearest sample. */
  outputLength(inputLength: number): number {
    return Math.round((inputLength * this.up) / this.down);
  }

  /**
   * Writes output samples [start, end) of the converted `input` into `out` at the same indices.
   * Lets callers convert long signals in slices between event-loop turns.
   */
  processRange(input: Float32Array, out: Float32Array, start: number, end: number): void {
    const { up, down, taps, table, reach } = this;
    const n = input.length;
    // Output j sits at input position j·down/up: sample `base` plus phase/up.
    let base = Math.floor((start * down) / up);
    let phase = (start * down) % up;
    const whole = Math.floor(down / up);
    const rest = down % up;
    for (let j = start; j < end; j++) {
      const first = base - reach;
      const row = phase * taps;
      let acc = 0;
      if (first >= 0 && first + taps <= n) {
        // Four partial sums: independent additions the CPU can overlap (~1.5× faster here).
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let k = 0; k < taps; k += 4) {
          acc += table[row + k]! * input[first + k]!;
          a1 += table[row + k + 1]! * input[first + k + 1]!;
          a2 += table[row + k + 2]! * input[first + k + 2]!;
          a3 += table[row + k + 3]! * input[first + k + 3]!;
        }
        acc += a1 + a2 + a3;
      } else {
        // Near the edges: samples outside the signal are silence.
        const lo = Math.max(0, -first);
        const hi = Math.min(taps, n - first);
        for (let k = lo; k < hi; k++) acc += table[row + k]! * input[first + k]!;
      }
      out[j] = acc;
      base += whole;
      phase += rest;
      if (phase >= up) {
        phase -= up;
        base += 1;
      }
    }
  }

  /** The whole signal at once. */
  process(input: Float32Array): Float32Array {
    if (this.up === this.down) return input.slice();
    const out = new Float32Array(this.outputLength(input.length));
    this.processRange(input, out, 0, out.length);
    return out;
  }
}

const cache = new Map<string, SincResampler>();

/** A shared resampler for the pair (filter tables are worth keeping: rates repeat). */
export function sincResamplerFor(fromRate: number, toRate: number): SincResampler {
  const key = `${fromRate}:${toRate}`;
  let r = cache.get(key);
  if (!r) {
    r = new SincResampler(fromRate, toRate);
    if (cache.size >= 16) cache.delete(cache.keys().next().value!);
    cache.set(key, r);
  }
  return r;
}
