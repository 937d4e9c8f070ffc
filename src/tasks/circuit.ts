/**
 * Circuit breakers, one per provider (e.g. "openai-llm"): while a provider's server is down (connection
 * refused, 5xx, a stream cut off), the capabilities whose tasks need it are paused in this worker, so
 * queued tasks wait instead of burning their attempts against a server that is restarting.
 *
 * - closed: tasks run.
 * - open: a task failed because the provider is down; its capability is not claimed until `openUntil`.
 *   The task itself goes back to the queue without losing an attempt.
 * - half-open: the pause is over; one task (the probe) runs. Success closes the circuit; another outage
 *   opens it again for twice as long, up to `maxOpenMs`.
 *
 * A provider that stays down longer than `outageMaxMs` is no longer waited for: its tasks fail as usual
 * and end in the dead-letter queue after their attempts, from where they can be redriven.
 */

export interface CircuitSettings {
  /** First pause after an outage is seen. */
  openMs: number;
  /** Longest pause; the pause doubles on each failed probe up to this. */
  maxOpenMs: number;
  /** How long tasks wait for a provider that is down before they fail as usual. */
  outageMaxMs: number;
}

export type CircuitStatus = 'closed' | 'open' | 'half-open';

/** A circuit as shown by `june workers ls`, the admin API and metrics. */
export interface CircuitState {
  provider: string;
  state: CircuitStatus;
  /** When the outage began (the first failure since the circuit was last closed). */
  since: number;
  /** While open: when the next probe may run. */
  openUntil?: number;
  /** Outage failures seen since the circuit opened. */
  failures: number;
  /** Capabilities paused while it is open. */
  capabilities: string[];
}

interface Circuit {
  provider: string;
  state: CircuitStatus;
  since: number;
  openUntil: number;
  pauseMs: number;
  failures: number;
  capabilities: Set<string>;
  /** A half-open circuit lets one task through; this is set while it runs. */
  probing: boolean;
}

export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly settings: CircuitSettings,
    /** Called when a circuit opens or closes (metrics, the worker registry). */
    private readonly onChange: (state: CircuitState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The capabilities a slot may claim now, in the order given. A half-open circuit admits one probe: the
   * caller must report what it claimed with `claimed`, which frees the probe when the claim got nothing.
   */
  claimable(capabilities: readonly string[]): string[] {
    const now = this.now();
    return capabilities.filter((cap) => {
      for (const c of this.circuits.values()) {
        if (c.state === 'closed' || !c.capabilities.has(cap)) continue;
        if (c.state === 'open' && now < c.openUntil) return false;
        if (c.state === 'open') this.change(c, 'half-open');
        if (c.probing) return false;
        c.probing = true;
      }
      return true;
    });
  }

  /** After a claim over `offered` (what `claimable` returned): frees the probes no task was claimed for. */
  claimed(offered: readonly string[], capability: string | undefined): void {
    for (const c of this.circuits.values()) {
      if (c.state !== 'half-open' || !c.probing) continue;
      const probed = capability !== undefined && c.capabilities.has(capability);
      if (!probed && offered.some((cap) => c.capabilities.has(cap))) c.probing = false;
    }
  }

  /** Whether a capability is paused (no next task is claimed for it on completion). */
  paused(capability: string): boolean {
    for (const c of this.circuits.values())
      if (c.state !== 'closed' && c.capabilities.has(capability)) return true;
    return false;
  }

  /** How long until a paused capability may be probed; undefined when nothing is open. */
  nextProbeInMs(): number | undefined {
    let next: number | undefined;
    for (const c of this.circuits.values())
      if (c.state === 'open') next = Math.min(next ?? Infinity, Math.max(0, c.openUntil - this.now()));
    return next;
  }

  /**
   * A task of `capability` failed because `provider` is down: opens its circuit (or opens it again, for
   * longer). Returns true while the task should wait for the provider, false once the outage has lasted
   * longer than `outageMaxMs` (the task then fails as usual).
   */
  outage(provider: string, capability: string): boolean {
    const now = this.now();
    let c = this.circuits.get(provider);
    if (!c) {
      c = {
        provider,
        state: 'closed',
        since: now,
        openUntil: now,
        pauseMs: 0,
        failures: 0,
        capabilities: new Set(),
        probing: false,
      };
      this.circuits.set(provider, c);
    }
    c.capabilities.add(capability);
    if (c.state === 'closed') {
      c.since = now;
      c.failures = 0;
      c.pauseMs = this.settings.openMs;
    } else if (c.state === 'half-open') {
      c.pauseMs = Math.min(this.settings.maxOpenMs, c.pauseMs * 2);
    }
    c.failures++;
    c.probing = false;
    c.openUntil = now + c.pauseMs;
    if (c.state !== 'open') this.change(c, 'open');
    return now - c.since <= this.settings.outageMaxMs;
  }

  /** A task of `capability` succeeded: the providers it needs work again. */
  succeeded(capability: string): void {
    for (const c of this.circuits.values()) {
      if (c.state === 'closed' || !c.capabilities.has(capability)) continue;
      c.probing = false;
      this.change(c, 'closed');
    }
  }

  /** A task of `capability` ended some other way: a probe it was is over, the circuit stays as it is. */
  settled(capability: string): void {
    for (const c of this.circuits.values()) if (c.capabilities.has(capability)) c.probing = false;
  }

  states(): CircuitState[] {
    return [...this.circuits.values()].map((c) => this.stateOf(c));
  }

  private stateOf(c: Circuit): CircuitState {
    return {
      provider: c.provider,
      state: c.state,
      since: c.since,
      ...(c.state === 'open' ? { openUntil: c.openUntil } : {}),
      failures: c.failures,
      capabilities: [...c.capabilities],
    };
  }

  private change(c: Circuit, state: CircuitStatus): void {
    c.state = state;
    this.onChange(this.stateOf(c));
  }
}
