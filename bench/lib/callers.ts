/**
 * Callers that count failures instead of failing the run: for clients that are expected to do badly
 * (lifeline before issue 14) against servers that end connections. Two shapes:
 *
 * - closed loop: each caller sends its next request as soon as the previous one settled, until the
 *   round's end;
 * - sparse: each caller waits a gap drawn by `gap()` (seeded: every contender sees the same gaps)
 *   before each request.
 *
 * Every wait is bounded: a request still pending `grace` ms after the round's end is counted as failed
 * (`UNFINISHED`) and left to the client's close(), so a client that hangs costs the run time, never
 * the run.
 */
import { isLifelineError } from '../../src/index.js';
import { seededRandom } from '../../src/testing/index.js';
import { percentile } from './stats.js';
import { sleep, within } from './wait.js';

/** A request's failure: lifeline's code (with its `sent` and its cause's code), Node's or undici's code, else the message. */
export function failureReason(error: unknown): string {
  if (isLifelineError(error)) {
    // Where it failed and on what, so a rare loss can be told apart after the run: a write after
    // the server's FIN not yet read is not the same loss as a reset after the request went out.
    const cause = (error.cause as { code?: unknown } | null | undefined)?.code;
    const facts = [error.sent, typeof cause === 'string' ? cause : undefined].filter((fact) => fact !== undefined);
    return facts.length > 0 ? `${error.code} (${facts.join(', ')})` : error.code;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

export interface Tally {
  /** Requests started. */
  requests: number;
  failed: number;
  reasons: Map<string, number>;
  /** ms from send to settling, failed requests included (a wait that ends in ACQUIRE_TIMEOUT is a wait). */
  latencies: number[];
  /** Wall-clock seconds from the first send until every caller was done (or the grace ran out). */
  seconds: number;
}

export interface Drive {
  callers: number;
  durationMs: number;
  /** ms to wait before each request; none: a closed loop. */
  gap?: (random: () => number) => number;
  /** How long a request may still run after the round's end before it counts as failed. */
  grace: number;
}

export const UNFINISHED = 'UNFINISHED';

export function newTally(): Tally {
  return { requests: 0, failed: 0, reasons: new Map(), latencies: [], seconds: 0 };
}

function fail(tally: Tally, reason: string): void {
  tally.failed++;
  tally.reasons.set(reason, (tally.reasons.get(reason) ?? 0) + 1);
}

/** Runs `send(caller)` from `callers` callers; a rejection is a failed request, never a failed run. */
export async function drive(send: (caller: number) => Promise<void>, options: Drive): Promise<Tally> {
  const tally = newTally();
  let pending = 0;
  let over = false;
  const start = performance.now();
  const stopAt = start + options.durationMs;
  const caller = async (index: number) => {
    const random = seededRandom(1 + index);
    for (;;) {
      if (options.gap) await sleep(options.gap(random));
      if (performance.now() >= stopAt) return;
      tally.requests++;
      pending++;
      const sent = performance.now();
      let failure: string | undefined;
      try {
        await send(index);
      } catch (error) {
        failure = failureReason(error);
      }
      // Settled after the grace: already counted as UNFINISHED.
      if (over) return;
      pending--;
      tally.latencies.push(performance.now() - sent);
      if (failure !== undefined) fail(tally, failure);
    }
  };
  const done = Promise.all(Array.from({ length: options.callers }, (_, i) => caller(i)));
  const late = !(await within(done, options.durationMs + options.grace));
  over = true;
  tally.seconds = (performance.now() - start) / 1e3;
  if (late) for (let i = 0; i < pending; i++) fail(tally, UNFINISHED);
  return tally;
}

/** Requests that completed per second. */
export function rateOf(tally: Tally): number {
  return (tally.requests - tally.failed) / tally.seconds;
}

/** Adds `from` into `into` (rounds of one contender). */
export function addTally(into: Tally, from: Tally): void {
  into.requests += from.requests;
  into.failed += from.failed;
  for (const [reason, n] of from.reasons) into.reasons.set(reason, (into.reasons.get(reason) ?? 0) + n);
  into.latencies.push(...from.latencies);
  into.seconds += from.seconds;
}

/** The figures every lifecycle table shows. */
export function tallyFigures(tally: Tally) {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return {
    requests: tally.requests,
    failed: tally.failed,
    p50: percentile(sorted, 50),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    why: [...tally.reasons].map(([reason, n]) => `${reason} ${n}`).join(', ') || '-',
  };
}
