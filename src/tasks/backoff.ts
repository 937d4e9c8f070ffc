/**
 * Retry delays: exponential with "equal jitter". Attempt n waits between half and all of
 * base·2^(n-1), capped at max. The ranges of consecutive attempts touch ([b/2, b], [b, 2b], …), so a later
 * delay is never shorter than an earlier one, while the jitter still spreads a burst of failures.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
