/**
 * The caller's half of the ledger protocol (`machines/ledger.ts`): acquire, wait,
 * cancel, release, settle. The pool's facade asks here for leases and hands them
 * back; the ledger owns the free list and the queue of waiters.
 *
 * ```
 *  try()   --acquire(try)--> granted inside the call ....... a Lease, or undefined: nothing waits
 *  wait()  --try first; else acquire(wait)--> queued ....... granted (a Lease) | refused (a code)
 *            timer (timeout / deadline), signal ---------> acquire.cancel --> refused(code)
 *  release --release(settlesAt)--> the slot is free again, or settling until a check phase
 * ```
 *
 * A `try` is answered inside the desk's `send()` or not at all, so one reply object serves
 * every try and its answer lands in fields before `send()` returns: the hot path
 * allocates nothing but the lease. A wait allocates its reply, a timer and an
 * abort listener only once no slot is free.
 */
import type { Clock } from '../clock.js';
import { LifelineError, type ErrorCode } from '../errors.js';
import { LedgerDesk, type AcquireReply, type LedgerActor } from '../machines/ledger.js';
import type { SlotConnection } from '../machines/slot.js';
import { HttpConnection } from '../transport/http-connection.js';
import { Http2Connection } from '../transport/http2-connection.js';
import type { PoolConnection } from '../transport/pool-connection.js';
import { currentTurn } from '../transport/turn.js';
import { checkNumber, MAX_TIMEOUT } from '../validate.js';
import { deadlineExceeded, remainingUntil } from './deadline.js';
import type { PoolObserver } from './observer.js';

/**
 * What a wait reads of the signal that cancels it: an AbortSignal has these members, and so does
 * the dispatcher's own cancel (an AbortController per waiting request cost it about 13 us).
 */
export interface WaitSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Every slot failing to connect: how many, and the last error, for the caller's ACQUIRE_TIMEOUT. */
export interface Failing {
  connections: number;
  error: Error;
}

/** What the acquirer needs from its pool. */
export interface AcquireContext<L> {
  readonly clock: Clock;
  /** The pool's `acquireTimeout` (ms). */
  readonly acquireTimeout: number;
  readonly metrics: PoolObserver;
  /** Builds the lease for a granted slot. */
  lease(slot: number, lease: number, connection: PoolConnection): L;
  /** Whether the pool's supervisor still runs: once it is closed its ledger is stopped with it. */
  active(): boolean;
  /** Every slot failing to connect, or undefined: the cause of an ACQUIRE_TIMEOUT. */
  failing(): Failing | undefined;
}

/** The error a refused or given-up acquire rejects with; one place for each code's message. */
export function acquireError(code: ErrorCode, failing?: Failing): LifelineError {
  switch (code) {
    case 'ACQUIRE_TIMEOUT':
      // Every slot failing to connect: the caller learns why, not just that it waited.
      if (failing) {
        const which = failing.connections === 1 ? 'the only connection' : `all ${failing.connections} connections`;
        return new LifelineError(code, `no connection became free before the acquire timeout: ${which} failing: ${failing.error.message}`, {
          cause: failing.error,
        });
      }
      return new LifelineError(code, 'no connection became free before the acquire timeout');
    case 'ACQUIRE_ABORTED':
      return new LifelineError(code, 'the wait for a connection was aborted');
    case 'POOL_CLOSED':
      return new LifelineError(code, 'the pool is closed');
    case 'DEADLINE_EXCEEDED':
      return deadlineExceeded('acquire');
    default:
      return new LifelineError(code);
  }
}

/**
 * The ledger holds its slots' connections by their port type; a pool's are always its own
 * HTTP connections, HTTP/1.1 or HTTP/2 (its dialer makes them). Checked here, once per grant, rather than cast.
 */
function httpConnection(connection: SlotConnection): PoolConnection {
  if (connection instanceof HttpConnection || connection instanceof Http2Connection) return connection;
  throw new TypeError('lifeline: a pool slot holds a connection its dialer did not make');
}

export class Acquirer<L> {
  readonly #pool: AcquireContext<L>;
  /** The supervisor's ledger, through its desk (set once the supervisor has started and spawned it). */
  #ledger!: LedgerDesk;
  #nextWaiter = 1;
  #tryAnswering = false;
  #trySlot = -1;
  #tryLease = 0;
  #tryConnection: SlotConnection | undefined;
  readonly #tryReply: AcquireReply = {
    granted: (slot, lease, connection) => {
      // A grant after send() returned would have no taker: hand it straight back.
      if (!this.#tryAnswering) return this.release(slot, lease, false, -1, -1);
      this.#trySlot = slot;
      this.#tryLease = lease;
      this.#tryConnection = connection;
    },
    refused: () => {},
  };
  /**
   * Whether the ledger holds slots released so soon after their last response that a FIN
   * right behind it may not have been read (see `HttpConnection.settlesAt`): a check phase
   * tells it which have settled, until none is left.
   */
  #settling = false;
  readonly #checkSettled = () => {
    if (!this.#pool.active()) {
      this.#settling = false;
      return;
    }
    this.#ledger.send({ type: 'settled', turn: currentTurn() });
    if (this.#ledger.context.settling.length > 0) setImmediate(this.#checkSettled);
    else this.#settling = false;
  };

  constructor(pool: AcquireContext<L>) {
    this.#pool = pool;
  }

  /** The ledger to talk to, once the supervisor has spawned it. */
  attach(ledger: LedgerActor): void {
    this.#ledger = new LedgerDesk(ledger);
  }

  /** One `try` acquire: a lease when a slot is free, answered inside the desk's `send()`; `avoid`: see the ledger's `acquire`. */
  try(avoid = -1): L | undefined {
    this.#trySlot = -1;
    this.#tryAnswering = true;
    this.#ledger.send({ type: 'acquire', mode: 'try', waiter: 0, reply: this.#tryReply, avoid });
    this.#tryAnswering = false;
    if (this.#trySlot < 0) return undefined;
    const connection = httpConnection(this.#tryConnection!);
    this.#tryConnection = undefined;
    return this.#pool.lease(this.#trySlot, this.#tryLease, connection);
  }

  /**
   * One `wait` acquire: a lease at once (synchronously, no promise) when a slot is free,
   * else a promise settled by the ledger's reply or by the caller's timeout, deadline or
   * abort. The timeout defaults to the pool's `acquireTimeout`; a deadline nearer than it
   * bounds the wait instead, and rejects with DEADLINE_EXCEEDED.
   */
  wait(timeoutOption: number | undefined, signal: WaitSignal | undefined, deadline?: number, avoid = -1): L | Promise<L> {
    const pool = this.#pool;
    let timeout = timeoutOption === undefined ? pool.acquireTimeout : checkNumber('timeout', timeoutOption, 0, { max: MAX_TIMEOUT });
    if (signal?.aborted) throw acquireError('ACQUIRE_ABORTED');
    let timeoutCode: ErrorCode = 'ACQUIRE_TIMEOUT';
    if (deadline !== undefined) {
      const remaining = remainingUntil(deadline);
      if (remaining <= 0) throw deadlineExceeded('acquire');
      if (remaining < timeout) {
        timeout = remaining;
        timeoutCode = 'DEADLINE_EXCEEDED';
      }
    }
    // A free slot needs no waiter, timer or listener: the try path, then the queue if none is free.
    // Fair: a slot is free only while no caller waits (the ledger hands a freed slot to the first waiter).
    const metrics = pool.metrics;
    const free = this.try(avoid);
    if (free) {
      if (metrics.observesAcquire) metrics.acquired('wait', -1, 'granted');
      return free;
    }

    const started = metrics.observesAcquire ? performance.now() : -1;
    const waiter = this.#nextWaiter++;
    let resolve: ((lease: L) => void) | undefined;
    let reject: ((error: LifelineError) => void) | undefined;
    let immediate: L | undefined;
    let refusedAtOnce: ErrorCode | undefined;
    let settled = false;
    let timer: unknown;
    const cancel = (code: ErrorCode) => this.#ledger.send({ type: 'acquire.cancel', waiter, code });
    const onAbort = () => cancel('ACQUIRE_ABORTED');
    const finish = () => {
      settled = true;
      if (timer !== undefined) pool.clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const reply: AcquireReply = {
      granted: (slot, lease, connection) => {
        if (settled) return this.release(slot, lease, false, -1, -1);
        if (started >= 0) metrics.acquired('wait', started, 'granted');
        const granted = pool.lease(slot, lease, httpConnection(connection));
        if (!resolve) {
          settled = true;
          immediate = granted;
          return;
        }
        finish();
        resolve(granted);
      },
      refused: (code) => {
        if (settled) return;
        if (started >= 0) metrics.acquired('wait', started, code);
        if (!reject) {
          // Never throw inside the ledger's transition: it would fail the actor.
          settled = true;
          refusedAtOnce = code;
          return;
        }
        finish();
        reject(acquireError(code, code === 'ACQUIRE_TIMEOUT' ? pool.failing() : undefined));
      },
    };
    this.#ledger.send({ type: 'acquire', mode: 'wait', waiter, reply });
    if (immediate) return immediate;
    if (refusedAtOnce) throw acquireError(refusedAtOnce);
    return new Promise<L>((res, rej) => {
      resolve = res;
      reject = rej;
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = pool.clock.setTimeout(() => cancel(timeoutCode), timeout);
    });
  }

  /**
   * Hands a slot back. `settlesAt` is the turn from which it may be handed out again (-1: at
   * once); while any slot settles, a check phase tells the ledger which have.
   */
  release(slot: number, lease: number, recycle: boolean, keepAlive: number, settlesAt: number): void {
    // Once the supervisor is closed its ledger is stopped with it: there is nothing to return to.
    if (!this.#pool.active()) return;
    if (settlesAt >= 0 && !this.#settling) {
      // Ref'd, like undici's own wait before writing to a reused socket: it runs at this turn's check phase.
      this.#settling = true;
      setImmediate(this.#checkSettled);
    }
    this.#ledger.send({ type: 'release', slot, lease, recycle, keepAlive, settlesAt });
  }
}
