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
import { LifelineError, type ErrorCode } from '../errors.js';
import type { Clock } from '../clock.js';
import type { HttpConnection, RequestOutcome } from '../transport/http-connection.js';
import type { RequestMessage } from '../telemetry/diagnostics.js';
import type { PoolObserver } from './observer.js';
import { deadlineExceeded, remainingUntil } from './deadline.js';
import { buildDispatch, CollectHandler, type CheckedRequest, type RequestDefaults, type RequestOptions } from './request.js';
import { readRequest } from './request-options.js';
import type { LifelineResponse } from './response.js';
import type { Governor, Ticket } from './governor/governor.js';
import type { SignHook } from './governor/sign.js';
import { gateSend } from './governor/send-gate.js';

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
  returnSlot(slot: number, lease: number, recycle: boolean, keepAlive: number, connection: HttpConnection): void;
  /** The pool's request budget, if any: each send spends from it (governor/send-gate.ts). */
  readonly governor?: Governor | undefined;
  /** The pool's signer, if any. */
  readonly sign?: SignHook | undefined;
}

/** Which attempt of a `pool.request` a send is, as request diagnostics report it. */
export type Attempt = RequestMessage['attempt'];

/** Errors of lifeline's own making on a request: the connection is retired, not failed. */
const RETIRING: ReadonlySet<ErrorCode> = new Set(['REQUEST_ABORTED', 'DEADLINE_EXCEEDED', 'LEASE_RELEASED', 'BODY_TOO_LARGE', 'BODY_DECODE_FAILED']);

/** How far a request got: undici took it to write (`started`), a response head came (`answered`). */
export interface RequestProgress {
  readonly started: boolean;
  readonly answered: boolean;
}

/** How a request settled, for the connection's verdict on its own end; the error learns how far it got. */
export function outcomeOf(error: LifelineError | undefined, handler: RequestProgress, reused: boolean): RequestOutcome {
  if (!error) return 'ok';
  error.reused = reused;
  if (!handler.started) {
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
let grant: (owner: LeaseOwner, slot: number, lease: number, connection: HttpConnection) => Lease;
let sendChecked: (lease: Lease, options: CheckedRequest, attempt: Attempt) => Promise<LifelineResponse>;
let connectionOf: (lease: Lease) => HttpConnection;
let releaseWith: (lease: Lease, recycle: boolean, keepAlive: number) => void;
let holdWith: (lease: Lease, ticket: Ticket) => void;

/** @internal A lease of `slot` (lease number `lease`) on `connection`, handed back to `owner` on release. */
export function newLease(owner: LeaseOwner, slot: number, lease: number, connection: HttpConnection): Lease {
  return grant(owner, slot, lease, connection);
}

/** @internal The connection of `lease`: the pool's dispatcher runs its own requests on it (dispatcher.ts). */
export function leaseConnection(lease: Lease): HttpConnection {
  return connectionOf(lease);
}

/**
 * @internal Releases `lease` after a dispatcher request settled on it: `recycle` retires the
 * connection; `keepAlive` is the idle timeout its last response announced (ms), or -1.
 */
export function releaseLease(lease: Lease, recycle: boolean, keepAlive: number): void {
  releaseWith(lease, recycle, keepAlive);
}

/** @internal `lease.request` for options already read once (`readRequest`): what `pool.request` sends. */
/** @internal `lease` holds `ticket` (the governor's weight taken at acquire) until its send spends it, or its release gives it back. */
export function holdTicket(lease: Lease, ticket: Ticket): void {
  holdWith(lease, ticket);
}

export function sendOnLease(lease: Lease, options: CheckedRequest, attempt: Attempt): Promise<LifelineResponse> {
  return sendChecked(lease, options, attempt);
}

export class Lease implements Disposable {
  static {
    grant = (owner, slot, lease, connection) => new Lease(owner, slot, lease, connection);
    sendChecked = (lease, options, attempt) => lease.#send(options, attempt);
    connectionOf = (lease) => lease.#connection;
    releaseWith = (lease, recycle, keepAlive) => {
      if (recycle) lease.#recycle = true;
      if (keepAlive >= 0) lease.#keepAlive = keepAlive;
      lease.release();
    };
    holdWith = (lease, ticket) => {
      lease.#ticket = ticket;
    };
  }

  /** Index of the slot this lease holds. */
  readonly slot: number;
  readonly #lease: number;
  readonly #connection: HttpConnection;
  readonly #owner: LeaseOwner;
  #released = false;
  #recycle = false;
  /** The idle timeout the server announced on this lease's last response (ms), or -1. */
  #keepAlive = -1;
  #inFlight: CollectHandler | undefined;
  /** The governor's weight taken at acquire and not yet spent. */
  #ticket: Ticket | undefined;

  private constructor(owner: LeaseOwner, slot: number, lease: number, connection: HttpConnection) {
    this.#owner = owner;
    this.slot = slot;
    this.#lease = lease;
    this.#connection = connection;
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Sends one request on this lease's connection and resolves with the whole
   * response. Rejects with a `LifelineError`; it never retries.
   */
  request(given: RequestOptions): Promise<LifelineResponse> {
    let options: CheckedRequest;
    try {
      options = readRequest(given);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send(options, 'first');
  }

  #send(options: CheckedRequest, attempt: Attempt): Promise<LifelineResponse> {
    if (this.#released) return Promise.reject(new LifelineError('LEASE_RELEASED', 'the lease was used after release()'));
    if (this.#inFlight) {
      return Promise.reject(new LifelineError('LEASE_BUSY', 'the lease already has a request in flight'));
    }
    let dispatch;
    try {
      dispatch = buildDispatch(options, this.#owner.requestDefaults);
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(new LifelineError('REQUEST_ABORTED', 'the request was aborted before it was sent'));
    }
    let remaining: number | undefined;
    if (options.deadline !== undefined) {
      try {
        remaining = remainingUntil(options.deadline);
      } catch (error) {
        return Promise.reject(error);
      }
      // Better not sent than sent late: nothing has touched the connection, so it stays reusable.
      if (remaining <= 0) return Promise.reject(deadlineExceeded('send'));
    }
    const connection = this.#connection;
    if (!connection.usable) {
      // Ended, or a response on it said `Connection: close`: never sent on it.
      this.#recycle = true;
      const error = new LifelineError('CONNECTION_LOST', 'the connection closed before the request was sent');
      error.delivery = 'unsent';
      error.reused = connection.served > 0;
      return Promise.reject(error);
    }
    const owner = this.#owner;
    let ticket: Ticket | undefined;
    if (owner.governor !== undefined || owner.sign !== undefined || options.sign !== undefined) {
      const gated = gateSend(owner.governor, owner.sign, this.#ticket, options, dispatch, attempt);
      this.#ticket = undefined;
      if (gated instanceof LifelineError) return Promise.reject(gated);
      ({ dispatch, ticket } = gated);
    }
    const started = this.#owner.metrics.observesRequests ? performance.now() : -1;
    const reused = connection.served > 0;
    return new Promise<LifelineResponse>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      let timer: unknown;
      const clock = this.#owner.clock;
      const defaults = this.#owner.requestDefaults;
      const handler = new CollectHandler(defaults.maxBodySize, options.decompress ?? defaults.decompress, connection, (error, response, recycle) => {
        this.#inFlight = undefined;
        if (recycle) this.#recycle = true;
        if (handler.keepAlive >= 0) this.#keepAlive = handler.keepAlive;
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        if (timer !== undefined) clock.clearTimeout(timer);
        connection.finish(outcomeOf(error, handler, reused));
        if (ticket) owner.governor!.settle(ticket, error, response);
        if (started >= 0) this.#owner.metrics.requested(this.slot, options.method, started, error, response, attempt);
        if (error) reject(error);
        else resolve(response!);
      });
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
    if (this.#ticket) {
      this.#owner.governor?.release(this.#ticket);
      this.#ticket = undefined;
    }
    const connection = this.#connection;
    this.#owner.returnSlot(this.slot, this.#lease, this.#recycle || !connection.usable, this.#keepAlive, connection);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
