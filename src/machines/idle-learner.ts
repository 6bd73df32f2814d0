/**
 * Learns a server's idle timeout from the connections it closes.
 *
 * Most servers close idle keep-alive connections after a fixed time and never
 * say so (nginx's default `keepalive_timeout 75s`, Node's 5 s, many balancers).
 * A request sent as that close crosses it dies unanswered: the stale race.
 * Announced timeouts (`Keep-Alive: timeout=N`) are honoured as they come; this
 * learns the silent ones, so the pool recycles an idle connection before the
 * server drops it, as it does for an announced one.
 *
 * A sample is the idle time after which the server closed a connection that had
 * served a response (the connection measures it). The limit is learned once
 * `LEARN_SAMPLES` samples in a row lie within `LEARN_TOLERANCE` of each other:
 * the server's timer, not chance. Guards:
 * - a close of every connection at once (within `RESTART_WINDOW`) is a restart or
 *   a reload, not a timeout: those samples are dropped;
 * - a sample under `LEARN_FLOOR` is not a timeout worth learning (a server that
 *   closes that fast closes on purpose, and recycling faster would churn);
 * - the limit is forgotten when a connection outlives it (the pool keeps one idle
 *   connection past the limit, unused, as a probe: see the ledger's sweep).
 *
 * Pure bookkeeping, no timers: times are passed in.
 */

/** Samples in a row, within `LEARN_TOLERANCE` of each other, that make a limit. */
export const LEARN_SAMPLES = 3;
/** How far apart (as a fraction of the smallest) the samples may lie. */
export const LEARN_TOLERANCE = 0.1;
/** Idle times below this are not learned (ms). */
export const LEARN_FLOOR = 250;
/** Closes of every connection within this long are a restart, not a timeout (ms). */
export const RESTART_WINDOW = 100;

export class IdleLearner {
  /** The server's idle timeout as learned (ms), or Infinity while none is. */
  limit = Infinity;
  /** Samples accepted so far, the newest last (at most `LEARN_SAMPLES`). */
  readonly #samples: number[] = [];
  /** Idle closes not yet confirmed: a restart may still turn out to have caused them. */
  readonly #pending: { idle: number; at: number }[] = [];
  /** When each recent connection end happened (any end: a restart ends busy connections too). */
  readonly #ends: number[] = [];
  readonly #connections: number;

  constructor(connections: number) {
    this.#connections = connections;
  }

  /** A connection ended at `at`; `idleFor` >= 0 when the server closed it idle after serving. */
  observe(at: number, idleFor: number): void {
    this.confirm(at);
    this.#ends.push(at);
    while (this.#ends.length > 0 && at - this.#ends[0]! > RESTART_WINDOW) this.#ends.shift();
    if (this.#connections >= 2 && this.#ends.length >= this.#connections) {
      // Every connection ended at once: whatever was pending in the window was a restart.
      this.#pending.length = 0;
      return;
    }
    if (idleFor >= 0) this.#pending.push({ idle: idleFor, at });
  }

  /** Whether samples wait for `confirm`. */
  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Accepts the pending samples old enough that no restart can still claim them. */
  confirm(now: number): void {
    while (this.#pending.length > 0 && now - this.#pending[0]!.at > RESTART_WINDOW) this.#accept(this.#pending.shift()!.idle);
  }

  /** A connection stayed open, idle, past the limit: the server's timeout is not (or no longer) what was learned. */
  forget(): void {
    this.limit = Infinity;
    this.#samples.length = 0;
  }

  #accept(idle: number): void {
    if (idle < LEARN_FLOOR) return;
    const samples = this.#samples;
    samples.push(idle);
    if (samples.length > LEARN_SAMPLES) samples.shift();
    if (samples.length < LEARN_SAMPLES) return;
    const low = Math.min(...samples);
    // The server's timer fires at or after its timeout: the shortest idle time seen is the closest to it.
    if (Math.max(...samples) <= low * (1 + LEARN_TOLERANCE)) this.limit = low;
  }
}
