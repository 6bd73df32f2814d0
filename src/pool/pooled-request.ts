/**
 * One request of the pool's dispatcher (dispatcher.ts), from `dispatch()` to its last callback:
 * a lease, the request on the lease's connection, the caller's handler told as it goes.
 *
 * ```
 *  start ---- caller.onConnect(abort) ---- acquire (a free slot at once, else wait: acquireTimeout)
 *    |                                       | granted                      | refused (ACQUIRE_TIMEOUT, POOL_CLOSED)
 *    |                                       v                              v
 *    |            the connection closing? -> unsent ----------------> caller.onError(coded error)
 *    |            sign, spend (governor) --> refused: a pause -> acquire again; else onError
 *    |                                       | no: Client.dispatch (its headersTimeout, bodyTimeout)
 *    |                                       v
 *    |   onHeaders, onData ------------> caller (pause/resume go straight to the socket)
 *    |   onComplete -------------------> lease released, then caller.onComplete
 *    |   onError, nothing yet told ----> resend (unsent) / replay (stale race, idempotent, body replayable):
 *    |                                    lease released (connection retired), acquire again
 *    |   onError otherwise ------------> lease released (connection retired), caller.onError
 *  caller's abort: while waiting, cancels the wait; in flight, aborts the request (the connection is retired)
 * ```
 *
 * The caller's `onConnect` comes at once, before the wait, so that its abort (fetch's signal)
 * reaches a request still waiting for a slot; the slot's Client calls this object's own
 * `onConnect`, once per attempt, and that one is not passed on. A resend or a replay happens
 * only while the caller has been told nothing else, so it is invisible to the caller.
 */
import type { Dispatcher } from 'undici';
import { LifelineError } from '../errors.js';
import { poisonsConnection, requestError } from '../transport/error-map.js';
import type { PoolConnection } from '../transport/pool-connection.js';
import { Lease, leaseConnection, outcomeOf, releaseLease, stampRequestError, takeHeld } from './lease.js';
import { nextRequestId, ownError, stampFacts, StepTimes, wallNow, type Attempt, type AttemptInfo } from './request-trace.js';
import type { PoolObserver } from './observer.js';
import { overLimit, readHead } from './request.js';
import { ResponseHead } from './response.js';
import { replayable } from './request-body.js';
import { nextAttempt, repeatBudget, UNSENT_ATTEMPTS, type RepeatBudget } from './retry.js';
import { ASKED_MOST, leaseAnswers, SILENT_CHECKS } from './replay-target.js';
import type { CallbackHandler } from './handler-api.js';
import type { WaitSignal } from './acquire.js';
import type { Governor, Ticket } from './governor/governor.js';
import type { BudgetFields, SignFields } from './governor/request-fields.js';
import { gateSend } from './governor/send-gate.js';
import type { SignHook } from './governor/sign.js';

/** What a dispatcher request needs of its pool. */
export interface DispatchOwner {
  /** The pool's `maxBodySize` (0: none), on the bytes as they come (the dispatcher decodes nothing). */
  readonly maxBodySize: number;
  /** The pool's `replay` option. */
  readonly replay: boolean;
  /** The pool's connections (slots): how many GOAWAYs a request's stream may be refused by (retry.ts). */
  readonly connections: number;
  readonly metrics: PoolObserver;
  /** The pool's request budget, if any: a request takes weight 1 (priority normal) with its lease and spends it at its send. */
  readonly governor: Governor | undefined;
  /** The pool's signer, if any: it signs each attempt at its send. */
  readonly sign: SignHook | undefined;
  /**
   * A lease at once if a slot is free, else a promise of one (acquireTimeout; `signal` cancels it);
   * with a governor, weight 1 first, held by the lease. Throws POOL_CLOSED. `avoid`: a slot not to
   * grant while another has room (the HTTP/2 connection that refused the last attempt's stream), or -1.
   */
  acquire(signal: WaitSignal, avoid: number): Lease | Promise<Lease>;
  /** A request was sent again: counted in `pool.stats()`. */
  repeated(attempt: 'resend' | 'replay'): void;
}

/**
 * The cancel of one wait for a slot: a `WaitSignal` (what `Acquirer.wait` reads of an AbortSignal:
 * `aborted`, one `abort` listener), without making an AbortSignal. A real AbortController, its signal and the listener cost
 * a dispatcher request about 13 us of CPU in Node 20 (measured: a third of what the pool added to
 * an undici.request), and most requests wait when callers outnumber connections.
 */
class WaitCancel implements WaitSignal {
  aborted = false;
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(): void {
    this.#listener = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

/** What the send gate reads of a dispatcher request: nothing of its own, so weight 1, priority normal and the pool's signer. */
const DISPATCH_FIELDS: BudgetFields & SignFields = Object.freeze({});

export class PooledRequest implements CallbackHandler {
  readonly #owner: DispatchOwner;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #caller: CallbackHandler;
  #budget: RepeatBudget | undefined;
  #attempt: Attempt = 'first';
  /** The request's id (one for every attempt), and the number of the current attempt. */
  readonly #id = nextRequestId();
  #attempts = 0;
  /** When the current attempt began waiting for a slot, while requests are watched; else -1. */
  #queued = -1;
  #info: AttemptInfo | undefined;
  /** The error the last attempt settled with: an abort told to the caller after it takes its facts. */
  #lastError: LifelineError | undefined;
  #steps: StepTimes | undefined;
  /** The caller heard its last callback (onComplete or onError), or must hear none. */
  #done = false;
  /** The caller's abort: what it passed (or REQUEST_ABORTED); the request stops wherever it is. */
  #abortReason: Error | undefined;
  /** Cancels the wait for a slot, while there is one. */
  #waiting: WaitCancel | undefined;
  // The current attempt: its lease and connection, and what undici has reported of it.
  #lease: Lease | undefined;
  #connection: PoolConnection | undefined;
  #abort: ((reason?: Error) => void) | undefined;
  #started = false;
  #status = 0;
  #size = 0;
  #keepAlive = -1;
  /** Handed to the slot's Client (a connection found closing never is). */
  #dispatched = false;
  #sentAt = -1;
  /** The weight this attempt spent at its send (with a governor), settled with its outcome. */
  #ticket: Ticket | undefined;
  /** The final response head, kept for the governor while it has a ticket to settle (the venue's word). */
  #head: ResponseHead | undefined;
  /** Times a pause that began after the acquire refused the send (acquire again, as pool.request does). */
  #paused = 0;
  /** A replay after a lost HTTP/2 connection: its lease's connection must answer first (replay-target.ts); silent ones found so far. */
  #afterLoss = false;
  #silent = 0;
  #asked = 0;
  /** The slot whose HTTP/2 server refused the last attempt's stream: its resend goes to another with room, if one has. */
  #avoid = -1;

  constructor(owner: DispatchOwner, options: Dispatcher.DispatchOptions, caller: CallbackHandler) {
    this.#owner = owner;
    this.#options = options;
    this.#caller = caller;
  }

  /** undici took the current attempt to write it: from then on the server may see it. */
  get started(): boolean {
    return this.#started;
  }

  /** A response head came for the current attempt. */
  get answered(): boolean {
    return this.#status > 0;
  }

  start(): void {
    this.#caller.onConnect?.((reason) => this.#callerAbort(reason));
    // Aborted inside its own onConnect (fetch does, when its signal fired before).
    if (this.#abortReason) this.#fail(this.#abortReason);
    else this.#acquire();
  }

  /** `again`: the lease taken for this attempt was given back (its connection did not answer), not a new attempt. */
  #acquire(again = false): void {
    if (!again) this.#attempts++;
    this.#queued = this.#owner.metrics.observesRequests ? wallNow() : -1;
    let acquired: Lease | Promise<Lease>;
    const waiting = new WaitCancel();
    try {
      acquired = this.#owner.acquire(waiting, this.#avoid);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    if (acquired instanceof Lease) {
      this.#send(acquired);
      return;
    }
    this.#waiting = waiting;
    acquired.then(
      (lease) => {
        this.#waiting = undefined;
        this.#send(lease);
      },
      (error: Error) => {
        this.#waiting = undefined;
        this.#fail(this.#abortReason ?? error);
      },
    );
  }

  #send(lease: Lease): void {
    if (this.#abortReason) {
      // Granted as the caller gave up: the slot goes straight back, untouched.
      lease.release();
      this.#fail(this.#abortReason);
      return;
    }
    if (this.#afterLoss && this.#silent < SILENT_CHECKS && this.#asked < ASKED_MOST) {
      const answered = leaseAnswers(lease);
      if (answered !== undefined) {
        this.#asked++;
        void answered.then((found) => {
          if (found === 'answered' || this.#abortReason) {
            this.#afterLoss = false;
            this.#send(lease);
            return;
          }
          if (found === 'silent') this.#silent++;
          lease.release();
          this.#acquire(true);
        });
        return;
      }
    }
    this.#afterLoss = false;
    const connection = leaseConnection(lease);
    this.#lease = lease;
    this.#connection = connection;
    this.#abort = undefined;
    this.#started = false;
    this.#status = 0;
    this.#size = 0;
    this.#keepAlive = -1;
    this.#dispatched = false;
    this.#sentAt = this.#owner.metrics.observesRequests ? performance.now() : -1;
    const info = { id: this.#id, attempt: this.#attempts, repeat: this.#attempt, queued: this.#queued, acquired: this.#sentAt >= 0 ? wallNow() : -1 };
    this.#info = info;
    this.#steps = this.#sentAt >= 0 ? new StepTimes(info) : undefined;
    if (!connection.usable) {
      // Ended, or a response on it said `Connection: close`: never sent on it (lease.ts does the same).
      this.onError(new LifelineError('CONNECTION_LOST', 'the connection closed before the request was sent'));
      return;
    }
    let dispatch = this.#options;
    const owner = this.#owner;
    if (owner.governor !== undefined || owner.sign !== undefined) {
      // Signed and spent in the same turn as the write: nothing goes out into a pause that began since the acquire.
      const gated = gateSend(owner.governor, owner.sign, takeHeld(lease), DISPATCH_FIELDS, dispatch, this.#attempt);
      if (gated instanceof LifelineError) {
        this.#refused(gated);
        return;
      }
      dispatch = gated.dispatch;
      this.#ticket = gated.ticket;
    }
    connection.begin();
    this.#dispatched = true;
    connection.client.dispatch(dispatch, this);
  }

  /**
   * The send gate said no (SIGN_FAILED, or RATE_LIMITED: a pause began since the acquire): nothing
   * touched the connection, so the slot goes back as it was. A pause is waited out by acquiring
   * again (within acquireTimeout), as `pool.request` does; anything else goes to the caller.
   */
  #refused(error: LifelineError): void {
    const lease = this.#lease!;
    error.reused = this.#connection!.reused;
    this.#lease = undefined;
    this.#connection = undefined;
    stampRequestError(error, this.#info!, lease.slot, this.#owner, this);
    this.#lastError = error;
    releaseLease(lease, false, -1);
    if (error.code === 'RATE_LIMITED' && this.#paused++ < UNSENT_ATTEMPTS) this.#acquire();
    else this.#fail(error);
  }

  #callerAbort(reason: Error | undefined): void {
    if (this.#done || this.#abortReason) return;
    this.#abortReason = reason ?? new LifelineError('REQUEST_ABORTED', 'the request was aborted');
    if (this.#waiting) this.#waiting.abort();
    // In flight: undici aborts it (destroying the socket if it was written); onError settles it.
    // Dispatched but not yet taken by undici: onConnect aborts it before the write.
    else if (this.#abort) this.#abort(new LifelineError('REQUEST_ABORTED', 'the request was aborted while in flight', { cause: reason }));
  }

  // The slot's Client calls these (the callback API), once per attempt.

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    if (this.#abortReason) {
      abort(new LifelineError('REQUEST_ABORTED', 'the request was aborted before it was sent', { cause: this.#abortReason }));
      return;
    }
    this.#started = true;
  }

  /** undici handed the whole request to the socket. */
  onRequestSent(): void {
    if (this.#steps) this.#steps.written = wallNow();
  }

  onResponseStarted(): void {
    try {
      this.#caller.onResponseStarted?.();
    } catch (error) {
      this.#callerAbort(error as Error);
    }
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.#steps && this.#steps.headers < 0) this.#steps.headers = wallNow();
    this.#status = status;
    // 1xx: not the response yet; undici reports it and the final head comes after.
    if (status >= 200) {
      const facts = readHead(rawHeaders, this.#connection!);
      this.#keepAlive = facts.keepAlive;
      if (this.#ticket) this.#head = new ResponseHead(status, statusText, rawHeaders);
      const refused = overLimit(facts.contentLength, this.#owner.maxBodySize);
      if (refused) {
        this.#abort!(refused);
        return false;
      }
    }
    try {
      return this.#caller.onHeaders?.(status, rawHeaders, resume, statusText) ?? true;
    } catch (error) {
      // undici aborts a request whose handler throws, with what it threw; so does the pool, retiring the
      // connection as after any abort (the caller's fault is not the connection's).
      this.#callerAbort(error as Error);
      return false;
    }
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    const refused = overLimit(this.#size, this.#owner.maxBodySize);
    if (refused) {
      this.#abort!(refused);
      return false;
    }
    try {
      // false: the caller's buffer is full; undici stops reading the socket until it calls resume.
      return this.#caller.onData?.(chunk) ?? true;
    } catch (error) {
      this.#callerAbort(error as Error);
      return false;
    }
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    this.#settle(undefined);
    this.#done = true;
    try {
      this.#caller.onComplete?.(trailers);
    } catch (error) {
      // As undici: what onComplete throws goes to the handler's onError (the retry interceptor
      // throws there to ask for a retry, after reading a 503 to its end).
      this.#caller.onError?.(error as Error);
    }
  }

  onError(cause: Error): void {
    // Settled already: undici has nothing more to say about this attempt.
    if (this.#lease === undefined) return;
    let error: LifelineError;
    if (this.#abortReason) error = cause instanceof LifelineError && cause.code === 'REQUEST_ABORTED' ? cause : new LifelineError('REQUEST_ABORTED', 'the request was aborted', { cause });
    else error = requestError(cause, this.#status > 0);
    error = ownError(error, this.#id);
    const multiplexed = this.#connection?.multiplexed === true;
    this.#avoid = error.code === 'STREAM_REFUSED' ? this.#lease.slot : -1;
    this.#settle(error);
    if (!this.#abortReason && this.#repeat(error, multiplexed)) return;
    this.#fail(this.#abortReason ?? error);
  }

  /** The attempt is over: the connection judges its end, the lease goes back (retiring the connection after an error). */
  #settle(error: LifelineError | undefined): void {
    const lease = this.#lease!;
    const connection = this.#connection!;
    this.#lease = undefined;
    this.#connection = undefined;
    // The error learns how far it got either way; a connection found closing has nothing to finish.
    const outcome = outcomeOf(error, this, connection.reused);
    if (this.#dispatched) connection.finish(outcome, error);
    if (error) {
      stampRequestError(error, this.#info!, lease.slot, this.#owner, this);
      this.#lastError = error;
    }
    const ticket = this.#ticket;
    if (ticket) {
      this.#ticket = undefined;
      // A request that never left gets its weight back; the venue's answer corrects the count, and may pause every pool.
      this.#owner.governor!.settle(ticket, error, this.#head);
      this.#head = undefined;
    }
    releaseLease(lease, error !== undefined && poisonsConnection(error), this.#keepAlive);
    if (this.#steps) {
      const status = error ? undefined : { status: this.#status };
      this.#owner.metrics.requested(lease.slot, this.#options.method, this.#options.path, this.#sentAt, this.#info!, this.#steps, error, status);
    }
  }

  /**
   * Sends again on another connection, if the caller has been told nothing and the rules allow it
   * (retry.ts). A replay after an HTTP/2 connection died goes on one that answers a PING, as
   * pool.request's does (replay-target.ts).
   */
  #repeat(error: LifelineError, multiplexed: boolean): boolean {
    if (this.#status > 0) return false;
    const options = this.#options;
    // A body that cannot be sent twice is never replayed; one never read (unsent) may still be resent.
    this.#budget ??= repeatBudget(options.method, replayable(options.body) ? options.idempotent : false, 0, this.#owner.replay, this.#owner.connections);
    const next = nextAttempt(this.#budget, error, true);
    if (next !== 'resend' && next !== 'replay') return false;
    this.#attempt = next;
    this.#owner.repeated(next);
    this.#afterLoss = next === 'replay' && multiplexed;
    this.#silent = this.#asked = 0;
    this.#acquire();
    return true;
  }

  /** Tells the caller, once. */
  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (error instanceof LifelineError && error.requestId === undefined) {
      const last = this.#lastError;
      // The caller's abort of an attempt in flight: the facts of that attempt. Else refused before
      // any connection (ACQUIRE_TIMEOUT, POOL_CLOSED, an abort while waiting): nothing left.
      if (last) stampFacts(error, { id: last.requestId!, attempt: last.attempt!, repeat: this.#attempt, queued: -1, acquired: -1 }, last.slot, last.origin!, last.sent!);
      else stampFacts(error, { id: this.#id, attempt: this.#attempts, repeat: this.#attempt, queued: -1, acquired: -1 }, undefined, this.#owner.metrics.origin, 'never-left');
    }
    const caller = this.#caller;
    // After a response head, on a later turn. fetch hears of its body's failure only once its own
    // dispatch promise has settled, microtasks after the head: an error in the same parser pass (a
    // body found too large in the read that brought the head) would never reach the caller's body,
    // and its read would hang. undici's Client fails a response asynchronously too (on the close).
    if (this.#status > 0) setImmediate(() => caller.onError?.(error));
    else caller.onError?.(error);
  }
}
