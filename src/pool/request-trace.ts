/**
 * A request's identity and the facts it carries: an id, the attempt, and, when someone
 * watches (a `lifeline:pool:request` subscriber, a meter, the `requestLog` ring), the times
 * of its steps.
 *
 * Ids are a process-wide counter: unique across pools, and one increment per request, so a
 * request nobody watches pays nothing else. Times are taken only while watched.
 *
 * ```
 *  queued ---acquire---> acquired ---undici writes---> written ---head---> headers ---> done
 *  (pool.request, dispatcher)  (the lease granted)   (handed to the socket)
 * ```
 */
import { LifelineError, type Sent } from '../errors.js';
import { refusedWrite } from '../transport/error-map.js';
import type { RequestTimes } from '../telemetry/request-record.js';

/** Which send of a request this is: the first, or sent again as `pool.request` does (see retry.ts). */
export type Attempt = 'first' | 'resend' | 'replay' | 'retry';

let lastId = 0;

/** A new request id: 1, 2, 3... across every pool of the process. */
export function nextRequestId(): number {
  return ++lastId;
}

/** High-resolution wall-clock time (ms since the epoch, fractional): the times of a request's steps. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** One send of a request on a lease. */
export interface AttemptInfo {
  readonly id: number;
  /** 1 for the first send, then 2, 3... */
  readonly attempt: number;
  readonly repeat: Attempt;
  /** When this send began waiting for a connection (`wallNow()`), or -1: unknown (`lease.request`) or not watched. */
  readonly queued: number;
  /** When its lease was granted, or -1: not watched. */
  readonly acquired: number;
}

/** A first send: what `lease.request` makes for each call. */
export function firstAttempt(acquired: number): AttemptInfo {
  return { id: nextRequestId(), attempt: 1, repeat: 'first', queued: -1, acquired };
}

/** Whether the server may have seen a failed request (see `Sent`): `started`, undici took it to write; `answered`, a response head came. */
export function sentOf(error: LifelineError, started: boolean, answered: boolean): Sent {
  if (answered) return 'partial-response';
  // An HTTP/2 stream the server refused unprocessed (REFUSED_STREAM, GOAWAY) is as good as never sent.
  if (!started || refusedWrite(error) || error.code === 'STREAM_REFUSED') return 'never-left';
  return 'written-no-response';
}

/**
 * `error` if it is this request's own (or no request's yet), else a copy: an error object undici
 * handed to two requests (one a module keeps, say) must not carry one request's facts to the other.
 */
export function ownError(error: LifelineError, id: number): LifelineError {
  if (error.requestId === undefined || error.requestId === id) return error;
  return new LifelineError(error.code, error.message, { cause: error.cause });
}

/** Stamps a request's error with its facts (README, "Errors"), once: an error passed up again keeps the first. */
export function stampFacts(error: LifelineError, info: AttemptInfo, slot: number | undefined, origin: string, sent: Sent): void {
  if (error.requestId !== undefined) return;
  error.requestId = info.id;
  error.attempt = info.attempt;
  error.slot = slot;
  error.origin = origin;
  error.sent = sent;
}

/** The step times of one watched send, filled in as it goes; -1 until a step is reached. */
export class StepTimes {
  written = -1;
  headers = -1;
  readonly #info: AttemptInfo;

  constructor(info: AttemptInfo) {
    this.#info = info;
  }

  /** The times as the channel and the ring carry them, the request done at `done`. */
  toTimes(done: number): RequestTimes {
    const info = this.#info;
    return {
      queued: info.queued >= 0 ? info.queued : undefined,
      acquired: info.acquired >= 0 ? info.acquired : undefined,
      written: this.written >= 0 ? this.written : undefined,
      headers: this.headers >= 0 ? this.headers : undefined,
      done,
    };
  }
}
