/**
 * A lease: one connection, held by one caller, until `release()`.
 *
 * One request at a time (HTTP/1.1 without pipelining). A transport error, an
 * oversized body, or an abort marks the connection for recycling: on release
 * the slot dials a new one in the background instead of freeing it. A response
 * that says `Connection: close` tells the slot at once, so its replacement is
 * dialed while the caller still reads.
 *
 * ```ts
 * using lease = pool.tryAcquire() ?? (await pool.acquire({ timeout: 50 }));
 * const res = await lease.request({ method: 'POST', path: '/order', body });
 * ```
 */
import type { Dispatcher } from 'undici';
import { LifelineError, type ErrorCode } from '../errors.js';
import type { Clock } from '../clock.js';
import type { RequestOutcome } from '../transport/http-connection.js';
import type { PoolConnection } from '../transport/pool-connection.js';
import type { PoolObserver } from './observer.js';
import { deadlineExceeded, remainingUntil } from './deadline.js';
import { buildDispatch, CollectHandler, type CheckedRequest, type RequestDefaults, type RequestOptions } from './request.js';
import { readRequest } from './request-options.js';
import type { LifelineResponse, ResponseHead } from './response.js';
import { StreamHandler, type StreamLimits } from './stream-handler.js';
import type { StreamedResponse } from './streamed-response.js';
import { DEFAULT_READ_TIMEOUT, STREAM_KEYS, type StreamOptions } from './stream-options.js';
import { firstAttempt, ownError, sentOf, stampFacts, StepTimes, wallNow, type AttemptInfo } from './request-trace.js';
import { Ticket, type Governor } from './governor/governor.js';
import type { Priority } from './governor/governor-options.js';
import type { SignHook } from './governor/sign.js';
import { gateSend } from './governor/send-gate.js';

export type { Attempt } from './request-trace.js';

/** What a lease needs from its pool. */
export interface LeaseOwner {
  readonly requestDefaults: RequestDefaults;
  /** Runs request deadlines. */
  readonly clock: Clock;
  /** Request metrics and diagnostics. */
  readonly metrics: PoolObserver;
  /**
   * Hands the slot back to the supervisor; `recycle` retires its connection instead of
   * freeing it; `keepAlive` is the server's announced idle timeout (ms), or -1.
   */
  returnSlot(slot: number, lease: number, recycle: boolean, keepAlive: number, connection: PoolConnection): void;
  /** The pool's request budget, if any: each send spends from it (governor/send-gate.ts). */
  readonly governor?: Governor | undefined;
  /** The pool's signer, if any. */
  readonly sign?: SignHook | undefined;
}

/** Errors of lifeline's own making on a request: the connection is retired, not failed. */
const RETIRING: ReadonlySet<ErrorCode> = new Set(['REQUEST_ABORTED', 'DEADLINE_EXCEEDED', 'LEASE_RELEASED', 'BODY_TOO_LARGE', 'BODY_DECODE_FAILED', 'READ_TIMEOUT']);

/** How far a request got: undici took it to write (`started`), a response head came (`answered`). */
export interface RequestProgress {
  readonly started: boolean;
  readonly answered: boolean;
}

/** A request in flight on a lease, whichever way its response is read (request.ts, stream-handler.ts). */
interface InFlight extends RequestProgress, Dispatcher.DispatchHandler {
  /** The idle timeout its response announced (ms), or -1. */
  readonly keepAlive: number;
  abort(error: LifelineError): void;
}

/** A request is over: its handler, its error or none, whether its connection must go, and the whole response if there is one. */
type Settle<T> = (handler: InFlight, error: LifelineError | undefined, recycle: boolean, response: T | undefined) => void;

/** How a request settled, for the connection's verdict on its own end; the error learns how far it got. */
export function outcomeOf(error: LifelineError | undefined, handler: RequestProgress, reused: boolean): RequestOutcome {
  if (!error) return 'ok';
  error.reused = reused;
  // An HTTP/2 stream the server refused (REFUSED_STREAM, or above its GOAWAY's last id) was not processed: as good as unsent.
  if (!handler.started || error.code === 'STREAM_REFUSED') {
    error.delivery = 'unsent';
    // Given up on before it was written: lifeline still retires the connection (undici aborts
    // a request it then takes by destroying the socket), but nothing reached the server.
    return RETIRING.has(error.code) ? 'retired' : 'unsent';
  }
  error.delivery = handler.answered ? 'partial' : 'unanswered';
  if (RETIRING.has(error.code)) return 'retired';
  return error.code === 'CONNECTION_LOST' && !handler.answered ? 'unanswered' : 'failed';
}

/** Set by the class: a lease is made by its pool only, and `pool.request` sends through a lease's private `#send`. */
let grant: (owner: LeaseOwner, slot: number, lease: number, connection: PoolConnection) => Lease;
let sendChecked: (lease: Lease, options: CheckedRequest, info: AttemptInfo) => Promise<LifelineResponse>;
let streamChecked: (lease: Lease, options: CheckedRequest<StreamOptions>, info: AttemptInfo) => Promise<StreamedResponse>;
let connectionOf: (lease: Lease) => PoolConnection;
let releaseWith: (lease: Lease, recycle: boolean, keepAlive: number) => void;
let holdWith: (lease: Lease, ticket: Ticket) => void;
let holdWeightWith: (lease: Lease, weight: number, priority: Priority) => void;
let heldOf: (lease: Lease) => Ticket | undefined;

/** @internal A lease of `slot` (lease number `lease`) on `connection`, handed back to `owner` on release. */
export function newLease(owner: LeaseOwner, slot: number, lease: number, connection: PoolConnection): Lease {
  return grant(owner, slot, lease, connection);
}

/** @internal The connection of `lease`: the pool's dispatcher runs its own requests on it (dispatcher.ts). */
export function leaseConnection(lease: Lease): PoolConnection {
  return connectionOf(lease);
}

/**
 * @internal Releases `lease` after a dispatcher request settled on it: `recycle` retires the
 * connection; `keepAlive` is the idle timeout its last response announced (ms), or -1.
 */
export function releaseLease(lease: Lease, recycle: boolean, keepAlive: number): void {
  releaseWith(lease, recycle, keepAlive);
}

/** @internal `lease.stream` for options already read once: what `pool.stream` sends, as its attempt `info`; the lease is released when the request is over. */
export function streamOnLease(lease: Lease, options: CheckedRequest<StreamOptions>, info: AttemptInfo): Promise<StreamedResponse> {
  return streamChecked(lease, options, info);
}

/** @internal `lease` holds `ticket` (the governor's weight taken at acquire) until its send spends it, or its release gives it back. */
export function holdTicket(lease: Lease, ticket: Ticket): void {
  holdWith(lease, ticket);
}

/**
 * @internal `lease` holds `weight` at `priority` that `governor.hold` took from its own count: a
 * ticket without the object (tryAcquire's hot path allocates none); its send makes the ticket,
 * its release gives the weight back with `unhold`.
 */
export function holdWeight(lease: Lease, weight: number, priority: Priority): void {
  holdWeightWith(lease, weight, priority);
}

/** @internal The weight `lease` holds, as a ticket to send with, and no longer the lease's: the pool's dispatcher spends it (pooled-request.ts). */
export function takeHeld(lease: Lease): Ticket | undefined {
  return heldOf(lease);
}

/** @internal `lease.request` for options already read once (`readRequest`): what `pool.request` sends, as its attempt `info`. */
export function sendOnLease(lease: Lease, options: CheckedRequest, info: AttemptInfo): Promise<LifelineResponse> {
  return sendChecked(lease, options, info);
}

/**
 * @internal Gives a request's error its facts (README, "Errors"): its request, attempt, slot and
 * origin, and whether it reached the server. The pool's dispatcher stamps its errors the same way.
 */
export function stampRequestError(error: LifelineError, info: AttemptInfo, slot: number, owner: Pick<LeaseOwner, 'metrics'>, handler: RequestProgress): void {
  stampFacts(error, info, slot, owner.metrics.originOf(slot), sentOf(error, handler.started, handler.answered));
}

/** Nothing of it went out: no progress to report. */
const NOT_STARTED: RequestProgress = { started: false, answered: false };

export class Lease implements Disposable {
  static {
    grant = (owner, slot, lease, connection) => new Lease(owner, slot, lease, connection);
    sendChecked = (lease, options, info) => lease.#send(options, info);
    streamChecked = (lease, options, info) => lease.#stream(options, info, true);
    connectionOf = (lease) => lease.#connection;
    releaseWith = (lease, recycle, keepAlive) => {
      if (recycle) lease.#recycle = true;
      if (keepAlive >= 0) lease.#keepAlive = keepAlive;
      lease.release();
    };
    holdWith = (lease, ticket) => {
      lease.#ticket = ticket;
    };
    holdWeightWith = (lease, weight, priority) => {
      lease.#heldWeight = weight;
      lease.#heldPriority = priority;
    };
    heldOf = (lease) => lease.#takeHeld();
  }

  /** Index of the slot this lease holds. */
  readonly slot: number;
  readonly #lease: number;
  readonly #connection: PoolConnection;
  readonly #owner: LeaseOwner;
  #released = false;
  #recycle = false;
  /** The idle timeout the server announced on this lease's last response (ms), or -1. */
  #keepAlive = -1;
  #inFlight: InFlight | undefined;
  /** When the lease was granted (`wallNow()`), while requests are watched; else -1. */
  readonly #grantedAt: number;
  /** The governor's weight taken at acquire and not yet spent. */
  #ticket: Ticket | undefined;
  /** Or the same without a ticket (`holdWeight`): 0 when none. */
  #heldWeight = 0;
  #heldPriority: Priority = 'normal';

  private constructor(owner: LeaseOwner, slot: number, lease: number, connection: PoolConnection) {
    this.#owner = owner;
    this.slot = slot;
    this.#lease = lease;
    this.#connection = connection;
    this.#grantedAt = owner.metrics.observesRequests ? wallNow() : -1;
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Sends one request on this lease's connection and resolves with the whole
   * response. Rejects with a `LifelineError`; it never retries.
   */
  request(given: RequestOptions): Promise<LifelineResponse> {
    const info = firstAttempt(this.#grantedAt);
    let options: CheckedRequest;
    try {
      options = readRequest(given);
    } catch (error) {
      return this.#refuse(error, info);
    }
    return this.#send(options, info);
  }

  /** A request refused before it reached the connection: its error still says which request, where, and that nothing left. */
  #refuse(error: unknown, info: AttemptInfo): Promise<never> {
    if (error instanceof LifelineError) stampRequestError(error, info, this.slot, this.#owner, NOT_STARTED);
    return Promise.reject(error);
  }

  /**
   * Sends one request on this lease's connection and resolves as soon as the response head
   * arrives, with the body as a Node Readable read at the caller's pace (backpressure reaches
   * the socket). `maxBodySize`, `bodyTimeout`, `decompress`, `deadline` and `signal` hold as for
   * `request`; errors after the head reach the body. Until the body is read to its end (or
   * destroyed) the lease has a request in flight; destroying the body, releasing the lease, or
   * leaving the body full and unread for `readTimeout` aborts it, and the connection is retired
   * (a clean end, not a failure). It never retries.
   *
   * ```ts
   * const res = await lease.stream({ path: '/export.csv' });
   * await pipeline(res.body, createWriteStream('export.csv'));
   * ```
   */
  stream(given: StreamOptions): Promise<StreamedResponse> {
    const info = firstAttempt(this.#grantedAt);
    let options: CheckedRequest<StreamOptions>;
    try {
      options = readRequest(given, STREAM_KEYS);
    } catch (error) {
      return this.#refuse(error, info);
    }
    return this.#stream(options, info, false);
  }

  #send(options: CheckedRequest, info: AttemptInfo): Promise<LifelineResponse> {
    const defaults = this.#owner.requestDefaults;
    const decompress = options.decompress ?? defaults.decompress;
    return this.#run<LifelineResponse>(options, info, false, (connection, settle, _answer, steps) => {
      const handler = new CollectHandler(defaults.maxBodySize, decompress, connection, steps, (error, response, recycle) => settle(handler, error, recycle, response));
      return handler;
    });
  }

  /** A streamed request; `releaseWhenDone` (pool.stream) hands the lease back once the request is over. */
  #stream(options: CheckedRequest<StreamOptions>, info: AttemptInfo, releaseWhenDone: boolean): Promise<StreamedResponse> {
    const owner = this.#owner;
    const limits: StreamLimits = {
      maxBodySize: options.maxBodySize ?? owner.requestDefaults.maxBodySize,
      // A HEAD's response has no body: its content-encoding and content-length describe the GET's, kept as they came.
      decompress: (options.decompress ?? owner.requestDefaults.decompress) && options.method !== 'HEAD',
      readTimeout: options.readTimeout ?? DEFAULT_READ_TIMEOUT,
      clock: owner.clock,
    };
    return this.#run<StreamedResponse>(options, info, releaseWhenDone, (connection, settle, answer, steps) => {
      const handler: StreamHandler = new StreamHandler(limits, connection, {
        head: answer,
        done: (error, recycle) => settle(handler, error, recycle, undefined),
      });
      handler.steps = steps;
      return handler;
    });
  }

  /**
   * Runs one request on the connection: the checks before sending, the signal and deadline,
   * the connection's verdict and the metrics once it is over. The handler `create` makes calls
   * `settle` once, when the request is over, and may `answer` before (a streamed head).
   */
  #run<T extends ResponseHead>(
    options: CheckedRequest,
    info: AttemptInfo,
    releaseWhenDone: boolean,
    create: (connection: PoolConnection, settle: Settle<T>, answer: (response: T) => void, steps: StepTimes | undefined) => InFlight,
  ): Promise<T> {
    if (this.#released) return this.#refuse(new LifelineError('LEASE_RELEASED', 'the lease was used after release()'), info);
    if (this.#inFlight) {
      return this.#refuse(new LifelineError('LEASE_BUSY', 'the lease already has a request in flight'), info);
    }
    let dispatch;
    try {
      dispatch = buildDispatch(options, this.#owner.requestDefaults);
    } catch (error) {
      return this.#refuse(error, info);
    }
    const signal = options.signal;
    if (signal?.aborted) {
      return this.#refuse(new LifelineError('REQUEST_ABORTED', 'the request was aborted before it was sent'), info);
    }
    let remaining: number | undefined;
    if (options.deadline !== undefined) {
      try {
        remaining = remainingUntil(options.deadline);
      } catch (error) {
        return this.#refuse(error, info);
      }
      // Better not sent than sent late: nothing has touched the connection, so it stays reusable.
      if (remaining <= 0) return this.#refuse(deadlineExceeded('send'), info);
    }
    const connection = this.#connection;
    if (!connection.usable) {
      // Ended, or a response on it said `Connection: close`: never sent on it.
      this.#recycle = true;
      const error = new LifelineError('CONNECTION_LOST', 'the connection closed before the request was sent');
      error.delivery = 'unsent';
      error.reused = connection.reused;
      return this.#refuse(error, info);
    }
    const owner = this.#owner;
    let ticket: Ticket | undefined;
    if (owner.governor !== undefined || owner.sign !== undefined || options.sign !== undefined) {
      const gated = gateSend(owner.governor, owner.sign, this.#takeHeld(), options, dispatch, info.repeat);
      if (gated instanceof LifelineError) return this.#refuse(gated, info);
      ({ dispatch, ticket } = gated);
    }
    const started = this.#owner.metrics.observesRequests ? performance.now() : -1;
    const steps = started >= 0 ? new StepTimes(info) : undefined;
    return new Promise<T>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      let timer: unknown;
      let head: T | undefined;
      const clock = this.#owner.clock;
      const answer = (response: T) => {
        head = response;
        resolve(response);
      };
      const settle: Settle<T> = (handler, error, recycle, response) => {
        this.#inFlight = undefined;
        if (error) error = ownError(error, info.id);
        if (recycle) this.#recycle = true;
        if (handler.keepAlive >= 0) this.#keepAlive = handler.keepAlive;
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        if (timer !== undefined) clock.clearTimeout(timer);
        connection.finish(outcomeOf(error, handler, connection.reused), error);
        if (error) stampRequestError(error, info, this.slot, this.#owner, handler);
        head = response ?? head;
        if (ticket) owner.governor!.settle(ticket, error, head);
        if (steps) this.#owner.metrics.requested(this.slot, options.method, dispatch.path, started, info, steps, error, error ? undefined : head);
        if (releaseWhenDone) this.release();
        if (error) reject(error);
        else resolve(head!);
      };
      const handler = create(connection, settle, answer, steps);
      this.#inFlight = handler;
      if (signal) {
        onAbort = () => handler.abort(new LifelineError('REQUEST_ABORTED', 'the request was aborted while in flight'));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (remaining !== undefined) {
        // An abort after undici took the request destroys the socket: the slot recycles and heals.
        timer = clock.setTimeout(() => handler.abort(deadlineExceeded(handler.started ? 'response' : 'send')), remaining);
      }
      connection.begin();
      connection.client.dispatch(dispatch, handler);
    });
  }

  /** The weight held since the acquire, as a ticket (made now when held without one), handed over: the lease holds none after. */
  #takeHeld(): Ticket | undefined {
    const ticket = this.#ticket;
    this.#ticket = undefined;
    if (this.#heldWeight === 0) return ticket;
    const weight = this.#heldWeight;
    this.#heldWeight = 0;
    return new Ticket(weight, this.#heldPriority);
  }

  /**
   * Returns the connection to the pool. Idempotent. Releasing while a request
   * is in flight aborts it (`LEASE_RELEASED`) and recycles the connection.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const inFlight = this.#inFlight;
    if (inFlight) {
      this.#recycle = true;
      inFlight.abort(new LifelineError('LEASE_RELEASED', 'the lease was released while its request was in flight'));
    }
    if (this.#heldWeight > 0) {
      this.#owner.governor?.unhold(this.#heldWeight);
      this.#heldWeight = 0;
    } else if (this.#ticket) {
      this.#owner.governor?.release(this.#ticket);
      this.#ticket = undefined;
    }
    const connection = this.#connection;
    // On a multiplexed (HTTP/2) connection a request's failure or abort cost its stream alone: only the connection's end retires it.
    const recycle = (this.#recycle && connection.multiplexed !== true) || !connection.usable;
    this.#owner.returnSlot(this.slot, this.#lease, recycle, this.#keepAlive, connection);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
