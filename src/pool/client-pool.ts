/**
 * `ClientPool`: the public face of a supervisor actor and its slots.
 *
 * Every acquire and release is an event to the supervisor's lease ledger; a
 * `try` acquire is answered inside `send()`, so `tryAcquire()` is synchronous.
 * Dead connections heal in the slot actors, never on the caller's path.
 *
 * ```ts
 * await using pool = await ClientPool.connect({ url: 'http://127.0.0.1:8080', connections: 4 });
 * const res = await pool.request({ path: '/ticker', query: { symbol: 'BTCUSDT' } });
 * ```
 */
import { createActor, type Subscription } from 'xstate';
import type { Clock } from '../clock.js';
import { closeActor } from '../transport/close-actor.js';
import { describeTarget } from '../transport/dial.js';
import { currentTurn } from '../transport/turn.js';
import type { HttpConnection } from '../transport/http-connection.js';
import { LifelineError, type ErrorCode } from '../errors.js';
import { recorderFor } from '../telemetry/options.js';
import { PoolObserver } from './observer.js';
import type { FlightRecorder, TransitionRecord } from '../telemetry/recorder.js';
import type { AcquireReply, LedgerActor } from '../machines/ledger.js';
import { slotMachine, slotState, type SlotConnection, type SlotState } from '../machines/slot.js';
import { slotStates, supervisorMachine, type SupervisorActor } from '../machines/supervisor.js';
import { checkNumber } from '../validate.js';
import { deadlineExceeded, remainingUntil } from './deadline.js';
import { Lease, type Attempt, type LeaseOwner } from './lease.js';
import { HOMING_INTERVAL, OriginAssignment } from './origins.js';
import { isTransportFailure, mayRepeat } from './retry.js';
import { MAX_TIMEOUT } from '../validate.js';
import { resolvePoolOptions, type ClientPoolOptions, type ResolvedPoolOptions } from './options.js';
import type { RequestDefaults, RequestOptions } from './request.js';
import { readRequest } from './request-options.js';
import type { PoolStats } from '../telemetry/stats.js';

export type { PoolStats } from '../telemetry/stats.js';
import { readAcquire } from './request-options.js';
import { SlotDialer } from './slot-dialer.js';
import type { LifelineResponse } from './response.js';

export interface AcquireOptions {
  /** How long to wait for a free connection (ms). Default: the pool's `acquireTimeout`. */
  timeout?: number;
  /** Aborting it rejects the wait with `ACQUIRE_ABORTED`. */
  signal?: AbortSignal;
}

export interface PoolRequestOptions extends RequestOptions {
  /** How long to wait for a free connection (ms). Default: the pool's `acquireTimeout`. */
  timeout?: number;
  /**
   * Times a request that failed in transport (`CONNECTION_LOST`, `HEADERS_TIMEOUT`,
   * `BODY_TIMEOUT`, `MALFORMED_RESPONSE`) is sent again, each time on a fresh
   * acquire (another connection: the failed one is recycling), and never past
   * `deadline`. Only requests safe to repeat are: see `idempotent`. Default: the pool's `retry`.
   */
  retry?: number;
  /**
   * Whether repeating this request is harmless. Default: true for GET, HEAD, OPTIONS,
   * TRACE, PUT and DELETE, false otherwise; say `true` for a POST that carries an
   * idempotency key the server deduplicates on.
   */
  idempotent?: boolean;
  /**
   * Replay this request once, on another connection, if it dies on a reused connection
   * before any byte of its response arrived (the stale race), and it is idempotent (see
   * `idempotent`). Default: the pool's `replay` (true).
   */
  replay?: boolean;
}


function errorFor(code: ErrorCode, failing?: { connections: number; error: Error }): LifelineError {
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

/** What `pool.request` reads of its options beyond a lease request's. */
const POOL_REQUEST_KEYS = ['timeout', 'retry', 'idempotent', 'replay'] as const;

/** How many connections `request()` tries for a request that died before it was written. */
const UNSENT_ATTEMPTS = 3;

/** Whether a failed request may be replayed: it died unanswered on a reused connection (the stale race). */
function staleRace(error: LifelineError): boolean {
  return error.code === 'CONNECTION_LOST' && error.delivery === 'unanswered' && error.reused === true;
}


export class ClientPool implements LeaseOwner, AsyncDisposable {
  /** The flight recorder (`history` option), or undefined when recording is off. */
  readonly recorder: FlightRecorder | undefined;
  /** The supervisor actor, for inspection (`actor.subscribe`, `actor.getSnapshot()`). */
  readonly actor: SupervisorActor;
  readonly requestDefaults: RequestDefaults;
  /** @internal metrics and diagnostics hooks (`meter` option, `lifeline:*` channels). */
  readonly metrics: PoolObserver;
  readonly #options: ResolvedPoolOptions;
  /** Dials the slots' connections, and keeps them and the dials in flight for close(). */
  readonly #dialer: SlotDialer;
  /** The supervisor's ledger, where every acquire and release goes (set once the supervisor starts). */
  #ledger!: LedgerActor;
  /** Which origin each slot dials (one origin: always the same). */
  readonly #assignment: OriginAssignment;
  /** Brings displaced slots back to their home origin, with several origins. */
  #homing: unknown;
  #nextWaiter = 1;
  #closing: Promise<void> | undefined;
  #resends = 0;
  #replays = 0;
  /**
   * Whether the ledger holds slots released so soon after their last response that a FIN
   * right behind it may not have been read (see `HttpConnection.settlesAt`): a check phase
   * tells it which have settled, until none is left.
   */
  #settling = false;
  readonly #checkSettled = () => {
    if (this.actor.getSnapshot().status !== 'active') {
      this.#settling = false;
      return;
    }
    this.#ledger.send({ type: 'settled', turn: currentTurn() });
    if (this.#ledger.getSnapshot().context.settling.length > 0) setImmediate(this.#checkSettled);
    else this.#settling = false;
  };
  /**
   * One reply serves every `tryAcquire()`: a try is answered inside `send()` or
   * not at all, so its answer lands in these fields before `send()` returns,
   * and the hot path allocates no closures.
   */
  #tryAnswering = false;
  #trySlot = -1;
  #tryLease = 0;
  #tryConnection: SlotConnection | undefined;
  readonly #tryReply: AcquireReply = {
    granted: (slot, lease, connection) => {
      // A grant after send() returned would have no taker: hand it straight back.
      if (!this.#tryAnswering) return this.#release(slot, lease, false, -1);
      this.#trySlot = slot;
      this.#tryLease = lease;
      this.#tryConnection = connection;
    },
    refused: () => {},
  };

  private constructor(options: ResolvedPoolOptions) {
    this.#options = options;
    this.requestDefaults = { basePath: options.basePath, headers: options.headers, maxBodySize: options.maxBodySize };
    this.#assignment = new OriginAssignment(options.origins.length, options.connections, options.now);
    this.#dialer = new SlotDialer(options, this.#assignment);
    this.recorder = recorderFor(options.inspection);
    this.actor = createActor(supervisorMachine, {
      clock: options.clock,
      input: {
        connections: options.connections,
        strategy: options.strategy,
        lazy: options.lazy,
        drainTimeout: options.drainTimeout,
        backoff: options.backoff,
        random: options.random,
        now: options.now,
        stableAfter: options.stableAfter,
        dialer: this.#dialer,
        idleTimeout: options.idleTimeout,
        maxConnectionAge: options.maxConnectionAge,
      },
    });
    this.metrics = new PoolObserver(this, options.inspection.meter);
  }

  /**
   * Opens a pool. Eager by default: resolves once every connection is up, and
   * rejects with `CONNECT_FAILED` (closing the others) if any first dial fails.
   * With `lazy: true` it resolves at once and connects in the background.
   * Throws `INVALID_OPTIONS` for a bad option, before anything is dialed.
   */
  static async connect(options: ClientPoolOptions): Promise<ClientPool> {
    const pool = new ClientPool(resolvePoolOptions(options));
    pool.actor.start();
    pool.#ledger = pool.actor.getSnapshot().context.ledger;
    const recorder = pool.recorder;
    // Slots are watched, not inspected: an inspector would see (and cost) every lease of the ledger too.
    pool.actor.getSnapshot().context.slots.forEach((slot, index) => recorder?.watch(`slot ${index}`, slot, slotState));
    if (pool.#options.origins.length > 1) pool.#bringHome();
    if (pool.#options.lazy) return pool;
    await new Promise<void>((resolve, reject) => {
      let subscription: Subscription | undefined;
      const check = () => {
        const snapshot = pool.actor.getSnapshot();
        if (snapshot.matches({ open: 'running' })) {
          subscription?.unsubscribe();
          resolve();
        } else if (snapshot.status !== 'active') {
          subscription?.unsubscribe();
          const cause = snapshot.context.failure;
          const where = pool.#options.origins.map(describeTarget).join(', ');
          reject(
            new LifelineError('CONNECT_FAILED', `could not open ${pool.#options.connections} connections to ${where}: ${cause?.message ?? 'closed'}`, {
              cause,
            }),
          );
        }
      };
      subscription = pool.actor.subscribe({ next: check, error: reject });
      check();
    }).catch(async (error: unknown) => {
      await pool.close();
      throw error;
    });
    return pool;
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * The most recently released healthy connection, or `undefined` at once if
   * none is free. Never waits. Throws `POOL_CLOSED` after `close()`.
   */
  tryAcquire(): Lease | undefined {
    if (this.#closing) throw errorFor('POOL_CLOSED');
    const lease = this.#tryGrant();
    if (this.metrics.observesAcquire) this.metrics.acquired('try', -1, lease ? 'granted' : 'unavailable');
    return lease;
  }

  /** One `try` acquire event: a lease when a slot is free, answered inside `send()`, with nothing allocated but the lease. */
  #tryGrant(): Lease | undefined {
    this.#trySlot = -1;
    this.#tryAnswering = true;
    this.#ledger.send({ type: 'acquire', mode: 'try', waiter: 0, reply: this.#tryReply });
    this.#tryAnswering = false;
    if (this.#trySlot < 0) return undefined;
    const connection = this.#tryConnection as HttpConnection;
    this.#tryConnection = undefined;
    return new Lease(this, this.#trySlot, this.#tryLease, connection);
  }

  /**
   * A connection, as soon as one is free: at once if one is, else the first one
   * released or healed (first come, first served). Rejects with
   * `ACQUIRE_TIMEOUT`, `ACQUIRE_ABORTED` or `POOL_CLOSED`.
   */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    try {
      // Read once and checked (INVALID_REQUEST): a bad signal must fail here, not in the supervisor's reply.
      const { timeout, signal } = readAcquire(options);
      const lease = this.#acquire(timeout, signal);
      return lease instanceof Lease ? Promise.resolve(lease) : lease;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Acquire, send, release. A request that never left the process is sent on
   * another connection (up to 3), whatever its method; an idempotent one that died
   * unanswered on a reused connection (the stale race) is replayed once (`replay`);
   * any other transport error rejects with its code, and is repeated only if
   * `retry` says so, and only for a request safe to repeat. `signal` covers the
   * wait and the request; `timeout` bounds only the wait; `deadline` bounds all
   * of it, resends, replays and retries included.
   */
  async request(given: PoolRequestOptions): Promise<LifelineResponse> {
    const options = readRequest(given, POOL_REQUEST_KEYS);
    const deadline = options.deadline;
    let retries = options.retry ?? this.#options.retry;
    const repeatable = mayRepeat(options.method, options.idempotent);
    if (!repeatable) retries = 0;
    let replay = repeatable && (options.replay ?? this.#options.replay);
    let attempt: Attempt = 'first';
    for (let unsent = 1; ; ) {
      const acquired = this.#acquire(options.timeout, options.signal, deadline);
      const lease = acquired instanceof Lease ? acquired : await acquired;
      try {
        return await lease.send(options, attempt);
      } catch (error) {
        if (!(error instanceof LifelineError)) throw error;
        // A server's FIN can land between the grant and the write: the request dies queued,
        // unsent, and goes out on the next connection instead (which is healing meanwhile).
        // Not a retry: the server saw nothing, whatever the method.
        if (error.delivery === 'unsent' && error.code === 'CONNECTION_LOST' && unsent++ < UNSENT_ATTEMPTS) {
          this.#resends++;
          attempt = 'resend';
          continue;
        }
        const timeLeft = deadline === undefined || remainingUntil(deadline) > 0;
        // The stale race: the server closed the reused connection as the request crossed it.
        // It may have seen the request, so only an idempotent one goes again, once.
        if (replay && staleRace(error) && timeLeft) {
          replay = false;
          this.#replays++;
          attempt = 'replay';
          continue;
        }
        if (retries > 0 && isTransportFailure(error) && timeLeft) {
          retries--;
          attempt = 'retry';
          continue;
        }
        throw error;
      } finally {
        lease.release();
      }
    }
  }

  /**
   * One `wait` acquire event: a lease at once (synchronously, no promise) when a
   * slot is free, else a promise settled by the supervisor's reply or by the
   * caller's deadline or abort.
   */
  #acquire(timeoutOption: number | undefined, signal: AbortSignal | undefined, deadline?: number): Lease | Promise<Lease> {
    if (this.#closing) throw errorFor('POOL_CLOSED');
    let timeout =
      timeoutOption === undefined
        ? this.#options.acquireTimeout
        : checkNumber('timeout', timeoutOption, 0, { max: MAX_TIMEOUT });
    if (signal?.aborted) throw errorFor('ACQUIRE_ABORTED');
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
    const free = this.#tryGrant();
    if (free) {
      if (this.metrics.observesAcquire) this.metrics.acquired('wait', -1, 'granted');
      return free;
    }

    const started = this.metrics.observesAcquire ? performance.now() : -1;
    const waiter = this.#nextWaiter++;
    let resolve: ((lease: Lease) => void) | undefined;
    let reject: ((error: LifelineError) => void) | undefined;
    let immediate: Lease | undefined;
    let refusedAtOnce: ErrorCode | undefined;
    let settled = false;
    let timer: unknown;
    const cancel = (code: ErrorCode) => this.#ledger.send({ type: 'acquire.cancel', waiter, code });
    const onAbort = () => cancel('ACQUIRE_ABORTED');
    const finish = () => {
      settled = true;
      if (timer !== undefined) this.#options.clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const reply: AcquireReply = {
      granted: (slot, lease, connection) => {
        if (settled) return this.#release(slot, lease, false, -1);
        if (started >= 0) this.metrics.acquired('wait', started, 'granted');
        if (!resolve) {
          settled = true;
          immediate = new Lease(this, slot, lease, connection as HttpConnection);
          return;
        }
        finish();
        resolve(new Lease(this, slot, lease, connection as HttpConnection));
      },
      refused: (code) => {
        if (settled) return;
        if (started >= 0) this.metrics.acquired('wait', started, code);
        if (!reject) {
          // Never throw inside the supervisor's action: it would fail the actor.
          settled = true;
          refusedAtOnce = code;
          return;
        }
        finish();
        reject(errorFor(code, code === 'ACQUIRE_TIMEOUT' ? this.#allFailing() : undefined));
      },
    };
    this.#ledger.send({ type: 'acquire', mode: 'wait', waiter, reply });
    if (immediate) return immediate;
    if (refusedAtOnce) throw errorFor(refusedAtOnce);
    return new Promise<Lease>((res, rej) => {
      resolve = res;
      reject = rej;
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = this.#options.clock.setTimeout(() => cancel(timeoutCode), timeout);
    });
  }

  /** When no slot is up and some have failed to connect: how many, and the last error, for the caller's ACQUIRE_TIMEOUT. */
  #allFailing(): { connections: number; error: Error } | undefined {
    let error: Error | undefined;
    for (const slot of this.actor.getSnapshot().context.slots) {
      const snapshot = slot.getSnapshot();
      if (slotState(snapshot) === 'healthy') return undefined;
      error = snapshot.context.lastError ?? error;
    }
    return error && { connections: this.#options.connections, error };
  }

  /**
   * The last state changes of every slot (up to `history` each), oldest first,
   * as JSON-ready records for a post-mortem. Secrets are scrubbed before they are stored.
   */
  history(): TransitionRecord[] {
    return this.recorder?.history() ?? [];
  }

  /**
   * The idle timeout the server has been seen to keep (ms), learned from the idle connections it
   * closed: three closes within 10% of each other, not all at once. Idle connections that served
   * are recycled a margin before it. Undefined while none is learned.
   */
  get learnedIdleTimeout(): number | undefined {
    const limit = this.#ledger?.getSnapshot().context.learner.limit;
    return limit === undefined || limit === Infinity ? undefined : limit;
  }

  /** Scheme, host and port of the origin: how the pool names itself in logs and on the dashboard. */
  get origin(): string {
    return this.#options.origin;
  }

  stats(): PoolStats {
    const snapshot = this.actor.getSnapshot();
    const stats: PoolStats = {
      connections: this.#options.connections,
      healthy: 0,
      busy: 0,
      connecting: 0,
      backoff: 0,
      poisoned: 0,
      closed: 0,
      waiting: snapshot.context.ledger?.getSnapshot().context.waiters.length ?? 0,
      dials: 0,
      cleanEnds: 0,
      failures: 0,
      backoffs: 0,
      resends: this.#resends,
      replays: this.#replays,
    };
    for (const state of this.slotStates()) stats[state]++;
    for (const slot of snapshot.context.slots) {
      const counts = slot.getSnapshot().context.counts;
      stats.dials += counts.dials;
      stats.cleanEnds += counts.cleanEnds;
      stats.failures += counts.failures;
      stats.backoffs += counts.backoffs;
    }
    // Slots never spawned (closed before start) count as closed.
    stats.closed += this.#options.connections - snapshot.context.slots.length;
    return stats;
  }

  /** Each slot's state by index, `busy` for a healthy slot that is leased. */
  slotStates(): SlotState[] {
    return slotStates(this.actor.getSnapshot().context);
  }

  /**
   * Stops handing out connections, rejects waiters with `POOL_CLOSED`, waits for
   * leased connections up to `drainTimeout`, then closes every socket. Resolves
   * once the last socket is closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Every HOMING_INTERVAL, slots whose home origin is back are recycled to return to it (while free). */
  #bringHome(): void {
    const clock = this.#options.clock;
    const tick = () => {
      for (const slot of this.#assignment.returning()) this.#ledger.send({ type: 'recycle', slot });
      this.#homing = clock.setTimeout(tick, HOMING_INTERVAL);
    };
    this.#homing = clock.setTimeout(tick, HOMING_INTERVAL);
  }

  /** Every origin of the pool, `scheme://host:port`, in the order of `urls` (one, with `url`). */
  get origins(): readonly string[] {
    return this.#options.origins.map((origin) => origin.origin);
  }

  /** The origin each slot is connected or connecting to, by slot (an index into `origins`). */
  slotOrigins(): readonly number[] {
    return this.#assignment.current();
  }

  /** @internal the pool's clock, which runs request deadlines. */
  get clock(): Clock {
    return this.#options.clock;
  }

  /** @internal called by a lease. */
  returnSlot(slot: number, lease: number, recycle: boolean, keepAlive: number, connection: HttpConnection): void {
    const settlesAt = recycle ? -1 : connection.settlesAt;
    if (settlesAt >= 0 && !this.#settling) {
      // Ref'd, like undici's own wait before writing to a reused socket: it runs at this turn's check phase.
      this.#settling = true;
      setImmediate(this.#checkSettled);
    }
    this.#release(slot, lease, recycle, keepAlive, settlesAt);
  }

  #release(slot: number, lease: number, recycle: boolean, keepAlive: number, settlesAt = -1): void {
    // Once the supervisor is closed its ledger is stopped with it: there is nothing to return to.
    if (this.actor.getSnapshot().status !== 'active') return;
    this.#ledger.send({ type: 'release', slot, lease, recycle, keepAlive, settlesAt });
  }

  async #close(): Promise<void> {
    if (this.#homing !== undefined) this.#options.clock.clearTimeout(this.#homing);
    await closeActor(this.actor);
    this.#dialer.cancelAll();
    this.metrics.stop();
    await Promise.allSettled([...this.#dialer.dials]);
    const open = [...this.#dialer.connections];
    for (const connection of open) connection.destroy();
    await Promise.all(open.map((connection) => connection.closed));
  }
}
