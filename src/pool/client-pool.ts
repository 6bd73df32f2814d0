/**
 * `ClientPool`: the public face of a supervisor actor and its slots.
 *
 * Every acquire and release goes to the supervisor's lease ledger, applied at
 * once by its transition (its desk), so `tryAcquire()` is synchronous.
 * Dead connections heal in the slot actors, never on the caller's path.
 *
 * ```ts
 * await using pool = await ClientPool.connect({ url: 'http://127.0.0.1:8080', connections: 4 });
 * const res = await pool.request({ path: '/ticker', query: { symbol: 'BTCUSDT' } });
 * ```
 */
import { createActor } from 'xstate';
import { closeActor } from '../transport/close-actor.js';
import { describeTarget } from '../transport/dial.js';
import { LifelineError } from '../errors.js';
import { recorderFor } from '../telemetry/options.js';
import { PoolObserver } from './observer.js';
import type { FlightRecorder, TransitionRecord } from '../telemetry/recorder.js';
import { slotState, type SlotState } from '../machines/slot.js';
import { slotStates, supervisorMachine, type SupervisorActor } from '../machines/supervisor.js';
import { deadlineExceeded, remainingUntil } from './deadline.js';
import { Acquirer, acquireError, type Failing, type WaitSignal } from './acquire.js';
import { holdTicket, holdWeight, Lease, leaseConnection, newLease, sendOnLease, streamOnLease, type LeaseOwner } from './lease.js';
import { answering } from './replay-target.js';
import { nextRequestId, stampFacts, wallNow, type Attempt, type AttemptInfo } from './request-trace.js';
import type { RequestRecord } from '../telemetry/request-record.js';
import { Ticket, type Governor } from './governor/governor.js';
import type { BudgetFields } from './governor/request-fields.js';
import { OriginList } from './origin-list.js';
import { nextAttempt, repeatBudget, UNSENT_ATTEMPTS } from './retry.js';
import { replayable } from './request-body.js';
import { resolveOrigins, resolvePoolOptions, type ClientPoolOptions, type ResolvedPoolOptions } from './options.js';
import type { CheckedRequest, RequestDefaults, RequestOptions } from './request.js';
import { POOL_REQUEST_KEYS, readAcquire, readRequest, type AcquireOptions, type PoolRequestOptions } from './request-options.js';
import type { PoolStats } from '../telemetry/stats.js';
import { SlotDialer } from './slot-dialer.js';
import { slotStats, untilRunning } from './supervisor-view.js';
import type { LifelineResponse } from './response.js';
import type { StreamedResponse } from './streamed-response.js';
import { STREAM_KEYS, type PoolStreamOptions } from './stream-options.js';
import { LifelineDispatcher } from './dispatcher.js';

export type { PoolStats } from '../telemetry/stats.js';
export type { AcquireOptions, PoolRequestOptions } from './request-options.js';
export type { StreamOptions, PoolStreamOptions } from './stream-options.js';

/** A `tryAcquire()` without options: weight 1, normal priority. */
const NO_BUDGET: BudgetFields = Object.freeze({});

/** Set by the class: what the dashboard and the tests read of a pool beyond its public API. */
let internals: (pool: ClientPool) => { recorder: FlightRecorder | undefined; requestDefaults: RequestDefaults };

/** @internal The flight recorder of `pool` (`history` option), or undefined when recording is off. */
export function poolRecorder(pool: ClientPool): FlightRecorder | undefined {
  return internals(pool).recorder;
}

/** @internal What every request of `pool` is built with: base path, default headers, body limit. */
export function poolRequestDefaults(pool: ClientPool): RequestDefaults {
  return internals(pool).requestDefaults;
}

export class ClientPool implements AsyncDisposable {
  static {
    internals = (pool) => ({ recorder: pool.#recorder, requestDefaults: pool.#owner.requestDefaults });
  }

  /** The supervisor actor, for inspection (`actor.subscribe`, `actor.getSnapshot()`). */
  readonly actor: SupervisorActor;
  /** The flight recorder (`history` option), or undefined when recording is off. */
  readonly #recorder: FlightRecorder | undefined;
  /** Metrics and diagnostics hooks (`meter` option, `lifeline:*` channels). */
  readonly #metrics: PoolObserver;
  /** What the pool's leases need of it: request defaults, its clock (deadlines), metrics, and the way back. */
  readonly #owner: LeaseOwner;
  readonly #options: ResolvedPoolOptions;
  /** Dials the slots' connections, and keeps them and the dials in flight for close(). */
  readonly #dialer: SlotDialer;
  /** The origins the slots dial (the options', until `setOrigins`), which slot dials which, and homing. */
  readonly #origins: OriginList;
  /** The caller's half of the ledger protocol: every acquire and release goes through it. */
  readonly #acquirer: Acquirer<Lease>;
  #closing: Promise<void> | undefined;
  #dispatcher: LifelineDispatcher | undefined;
  #resends = 0;
  #replays = 0;

  private constructor(options: ResolvedPoolOptions) {
    this.#options = options;
    const { connections, now } = options.supervisor;
    this.#origins = new OriginList(options.origins, connections, now, options.clock, (slot) =>
      this.actor.getSnapshot().context.ledger.send({ type: 'recycle', slot }),
    );
    this.#dialer = new SlotDialer(options, this.#origins.assignment);
    this.#recorder = recorderFor(options.inspection);
    this.actor = createActor(supervisorMachine, {
      clock: options.clock,
      input: { options: options.supervisor, dialer: this.#dialer },
      // Named by its origin (scheme://host:port, never a credential): `actor.system.get(pool.origin)`.
      systemId: options.origin,
      // Given here, not through `actor.system.inspect` after: the inspector sees every actor's birth.
      inspect: options.inspection.inspect,
    });
    this.#metrics = new PoolObserver(this, options.inspection.meter, options.inspection, options.requestLog);
    this.#owner = {
      requestDefaults: {
        basePath: options.basePath,
        headers: options.headers,
        decompressingHeaders: options.decompressingHeaders,
        maxBodySize: options.maxBodySize,
        decompress: options.decompress,
      },
      clock: options.clock,
      metrics: this.#metrics,
      governor: options.governor,
      sign: options.sign,
      returnSlot: (slot, lease, recycle, keepAlive, connection) =>
        this.#acquirer.release(slot, lease, recycle, keepAlive, recycle ? -1 : connection.settlesAt),
    };
    this.#acquirer = new Acquirer<Lease>({
      clock: options.clock,
      acquireTimeout: options.acquireTimeout,
      metrics: this.#metrics,
      lease: (slot, lease, connection) => newLease(this.#owner, slot, lease, connection),
      active: () => this.actor.getSnapshot().status === 'active',
      failing: () => this.#allFailing(),
    });
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
    pool.#acquirer.attach(pool.actor.getSnapshot().context.ledger);
    const recorder = pool.#recorder;
    // Slots are watched, not inspected: an inspector would see (and cost) every lease of the ledger too.
    pool.actor.getSnapshot().context.slots.forEach((slot, index) => recorder?.watch(`slot ${index}`, slot, slotState));
    if (pool.#options.origins.length > 1) pool.#origins.startHoming();
    if (pool.#options.supervisor.lazy) return pool;
    await untilRunning(pool.actor, pool.#options.supervisor.connections, pool.#options.origins.map(describeTarget).join(', ')).catch(async (error: unknown) => {
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
   * none is free. Never waits. Throws `POOL_CLOSED` after `close()`. With a `governor`, takes
   * `weight` (default 1) at `priority` first, and throws `RATE_LIMITED` (with `retryAfter`)
   * when there is no room; the lease's first request spends it.
   */
  tryAcquire(options?: BudgetFields): Lease | undefined {
    if (this.#closing) throw acquireError('POOL_CLOSED');
    const governor = this.#options.governor;
    if (governor !== undefined) return this.#tryGoverned(governor, options);
    if (options !== undefined) readAcquire(options);
    const lease = this.#acquirer.try();
    if (this.#metrics.observesAcquire) this.#metrics.acquired('try', -1, lease ? 'granted' : 'unavailable');
    return lease;
  }

  #tryGoverned(governor: Governor, options: BudgetFields | undefined): Lease | undefined {
    // No options, no read, no ticket: the common try allocates nothing of the governor's.
    const { weight = 1, priority = 'normal' } = options === undefined ? NO_BUDGET : readAcquire(options);
    const wait = governor.hold(weight, priority);
    if (wait > 0) throw governor.rateLimited(wait, priority);
    const lease = this.#acquirer.try();
    if (this.#metrics.observesAcquire) this.#metrics.acquired('try', -1, lease ? 'granted' : 'unavailable');
    if (lease) holdWeight(lease, weight, priority);
    else governor.unhold(weight);
    return lease;
  }

  /**
   * A connection, as soon as one is free: at once if one is, else the first one
   * released or healed (first come, first served). Rejects with
   * `ACQUIRE_TIMEOUT`, `ACQUIRE_ABORTED` or `POOL_CLOSED`.
   */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    try {
      // Read once and checked (INVALID_REQUEST): a bad signal must fail here, not in the supervisor's reply.
      const { timeout, signal, weight, priority } = readAcquire(options);
      const lease = this.#acquire(timeout, signal, undefined, { weight, priority });
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
    return this.#repeating(options, false, (lease, attempt) => sendOnLease(lease, options, attempt));
  }

  /**
   * `pool.request` with the body as a stream (see `lease.stream`): acquire, send, and resolve
   * at the response head. Resends, replays and retries happen as for `pool.request`, all before
   * the head; after it, errors reach the body. The lease is released once the request is over:
   * the body read to its end, failed, destroyed, or left full and unread past `readTimeout`.
   *
   * ```ts
   * const res = await pool.stream({ path: '/klines', query: { symbol: 'BTCUSDT', limit: 1000 } });
   * for await (const chunk of res.body) parser.write(chunk);
   * ```
   */
  async stream(given: PoolStreamOptions): Promise<StreamedResponse> {
    const options = readRequest(given, [...POOL_REQUEST_KEYS, ...STREAM_KEYS]);
    return this.#repeating(options, true, (lease, attempt) => streamOnLease(lease, options, attempt));
  }

  /**
   * Acquire and send until an attempt answers or the rules (retry.ts) say stop. `keeps`: a
   * response that answered holds its lease (a stream's, released when its request is over).
   */
  async #repeating<T>(options: CheckedRequest<PoolRequestOptions>, keeps: boolean, send: (lease: Lease, attempt: AttemptInfo) => Promise<T>): Promise<T> {
    const deadline = options.deadline;
    // A streamed body is spent as it is written: only a request that never left goes again (unsent).
    const idempotent = replayable(options.body) ? options.idempotent : false;
    const budget = repeatBudget(options.method, idempotent, options.retry ?? this.#options.retry, options.replay ?? this.#options.replay, this.#options.supervisor.connections);
    const id = nextRequestId();
    let repeat: Attempt = 'first';
    let paused = 0;
    // The slot whose HTTP/2 server refused the last attempt's stream: the next goes to another, if one has room.
    let avoid = -1;
    // The last attempt's HTTP/2 connection died under it: the replay goes on one that answers a PING.
    let afterLoss = false;
    for (let attempt = 1; ; attempt++) {
      const watched = this.#metrics.observesRequests;
      const queued = watched ? wallNow() : -1;
      let lease: Lease;
      try {
        const again = () => this.#acquire(options.timeout, options.signal, deadline, options, avoid);
        const acquired = again();
        lease = acquired instanceof Lease ? acquired : await acquired;
        if (afterLoss) lease = await answering(lease, again);
      } catch (error) {
        // No connection: the error names the request and its attempt, and nothing left.
        if (error instanceof LifelineError) stampFacts(error, { id, attempt, repeat, queued, acquired: -1 }, undefined, this.#metrics.origin, 'never-left');
        throw error;
      }
      let handedOver = false;
      try {
        const response = await send(lease, { id, attempt, repeat, queued, acquired: watched ? wallNow() : -1 });
        handedOver = keeps;
        return response;
      } catch (error) {
        if (!(error instanceof LifelineError)) throw error;
        // A pause began between the acquire and the send: acquire again, which waits it out within the timeout or fails fast.
        if (error.code === 'RATE_LIMITED' && error.delivery === 'unsent' && paused++ < UNSENT_ATTEMPTS) continue;
        const next = nextAttempt(budget, error, deadline === undefined || remainingUntil(deadline) > 0);
        if (next === undefined) throw error;
        avoid = error.code === 'STREAM_REFUSED' ? lease.slot : -1;
        afterLoss = next === 'replay' && leaseConnection(lease).multiplexed === true;
        if (next === 'resend') this.#resends++;
        else if (next === 'replay') this.#replays++;
        repeat = next;
      } finally {
        if (!handedOver) lease.release();
      }
    }
  }

  /**
   * The pool as an undici `Dispatcher`, for `fetch(url, { dispatcher })`, `undici.request`,
   * `setGlobalDispatcher` and `dispatcher.compose(interceptors...)`. Requests go through the
   * pool's slots, leases and timeouts; one for another origin is refused with `ORIGIN_MISMATCH`.
   * Its `close()` closes the pool. See README, "fetch and undici".
   */
  get dispatcher(): LifelineDispatcher {
    const options = this.#options;
    const pool = this;
    this.#dispatcher ??= new LifelineDispatcher({
      // Read at each request: `setOrigins` replaces them.
      get origins() {
        return pool.origins;
      },
      headers: options.headers,
      maxBodySize: options.maxBodySize,
      replay: options.replay,
      connections: options.supervisor.connections,
      metrics: this.#metrics,
      governor: options.governor,
      sign: options.sign,
      // With a governor, weight 1 at priority normal, held by the lease until the send spends it.
      acquire: (signal, avoid) => this.#acquire(undefined, signal, undefined, NO_BUDGET, avoid),
      repeated: (attempt) => (attempt === 'resend' ? this.#resends++ : this.#replays++),
      close: () => this.close(),
    });
    return this.#dispatcher;
  }

  /** A lease at once when a slot is free, else a promise of one (see `Acquirer.wait`); with a governor, its budget first. */
  #acquire(timeout: number | undefined, signal: WaitSignal | undefined, deadline?: number, budget?: BudgetFields, avoid = -1): Lease | Promise<Lease> {
    if (this.#closing) throw acquireError('POOL_CLOSED');
    const governor = this.#options.governor;
    if (governor === undefined || budget === undefined) return this.#acquirer.wait(timeout, signal, deadline, avoid);
    return this.#governedAcquire(governor, timeout, signal, deadline, budget, avoid);
  }

  /**
   * Budget, then a slot, within one timeout (or deadline): the wait for budget comes first, so a
   * caller waiting for it holds no slot. The weight stays with the lease until its send spends it.
   */
  #governedAcquire(governor: Governor, timeout: number | undefined, signal: WaitSignal | undefined, deadline: number | undefined, budget: BudgetFields, avoid: number): Lease | Promise<Lease> {
    const full = timeout ?? this.#options.acquireTimeout;
    let wait = full;
    if (deadline !== undefined) {
      const remaining = remainingUntil(deadline);
      if (remaining <= 0) throw deadlineExceeded('acquire');
      wait = Math.min(wait, remaining);
    }
    const taken = governor.acquire(budget.weight ?? 1, budget.priority ?? 'normal', wait, signal);
    if (taken instanceof Ticket) return this.#leaseWith(governor, taken, timeout, signal, deadline, avoid);
    const now = this.#options.supervisor.now;
    const began = now();
    return taken.then((ticket) => {
      if (this.#closing) {
        governor.release(ticket);
        throw acquireError('POOL_CLOSED');
      }
      return this.#leaseWith(governor, ticket, Math.max(0, Math.floor(full - (now() - began))), signal, deadline, avoid);
    });
  }

  #leaseWith(governor: Governor, ticket: Ticket, timeout: number | undefined, signal: WaitSignal | undefined, deadline: number | undefined, avoid: number): Lease | Promise<Lease> {
    let acquired: Lease | Promise<Lease>;
    try {
      acquired = this.#acquirer.wait(timeout, signal, deadline, avoid);
    } catch (error) {
      governor.release(ticket);
      throw error;
    }
    if (acquired instanceof Lease) {
      holdTicket(acquired, ticket);
      return acquired;
    }
    return acquired.then(
      (lease) => {
        holdTicket(lease, ticket);
        return lease;
      },
      (error: unknown) => {
        governor.release(ticket);
        throw error;
      },
    );
  }

  /** The governor given as the `governor` option, if any: its `state` and `stats()` are the pool's budget. */
  get governor(): Governor | undefined {
    return this.#options.governor;
  }

  /** When no slot is up and some have failed to connect: how many, and the last error, for the caller's ACQUIRE_TIMEOUT. */
  #allFailing(): Failing | undefined {
    let error: Error | undefined;
    for (const slot of this.actor.getSnapshot().context.slots) {
      const snapshot = slot.getSnapshot();
      if (slotState(snapshot) === 'healthy') return undefined;
      error = snapshot.context.lastError ?? error;
    }
    return error && { connections: this.#options.supervisor.connections, error };
  }

  /**
   * The last state changes of every slot (up to `history` each), oldest first, as JSON-ready
   * records for a post-mortem. With `{ requests: true }`, the requests of the `requestLog` ring
   * too (`kind: 'request'`), merged in by time. Secrets are scrubbed before they are stored.
   *
   * ```ts
   * const pool = await ClientPool.connect({ url, requestLog: { size: 1_000 } });
   * const failed = pool.history({ requests: true }).filter((r) => 'kind' in r && r.error !== undefined);
   * ```
   */
  history(): TransitionRecord[];
  history(options: { requests: true }): (TransitionRecord | RequestRecord)[];
  history(options?: { requests: true }): (TransitionRecord | RequestRecord)[] {
    const states = this.#recorder?.history() ?? [];
    const requests = options?.requests === true ? this.requests() : undefined;
    if (!requests?.length) return states;
    // Both are oldest first: merge by time (a state change before a request of the same ms).
    const merged: (TransitionRecord | RequestRecord)[] = [];
    let i = 0;
    let j = 0;
    while (i < states.length || j < requests.length) {
      if (j >= requests.length || (i < states.length && states[i]!.at <= requests[j]!.at)) merged.push(states[i++]!);
      else merged.push(requests[j++]!);
    }
    return merged;
  }

  /**
   * The requests the `requestLog` ring holds, oldest first (each attempt one record); undefined
   * when the pool keeps no request log (the default): an empty list means none was made yet.
   */
  requests(): RequestRecord[] | undefined {
    return this.#metrics.requestHistory();
  }

  /**
   * The idle timeout the server has been seen to keep (ms), learned from the idle connections it
   * closed: three closes within 10% of each other, not all at once. Idle connections that served
   * are recycled a margin before it. Undefined while none is learned.
   */
  get learnedIdleTimeout(): number | undefined {
    const limit = this.actor.getSnapshot().context.ledger?.getSnapshot().context.learner.limit;
    return limit === undefined || limit === Infinity ? undefined : limit;
  }

  /** Scheme, host and port of the origin: how the pool names itself in logs and on the dashboard. */
  get origin(): string {
    return this.#options.origin;
  }

  stats(): PoolStats {
    return { ...slotStats(this.actor, this.#options.supervisor.connections), resends: this.#resends, replays: this.#replays };
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

  /** Every origin of the pool, `scheme://host:port`, in the order of `urls` (one, with `url`), or of the last `setOrigins`. */
  get origins(): readonly string[] {
    return this.#origins.names;
  }

  /**
   * Replaces the pool's list of origins at runtime (a venue's new server list), as nats'
   * `set_server_pool`. An origin in both lists keeps its count of recent failures; each slot
   * belongs to origin `slot mod n` of the new list. A free connection to an origin that is
   * gone is recycled at once, a leased one once it is released (within a second): no request
   * in flight is cut. New connections dial the new list. The URLs need the scheme and path
   * of the pool's own, and no credentials (the pool's stay). `INVALID_OPTIONS` for a bad
   * list, `POOL_CLOSED` once closed.
   *
   * ```ts
   * pool.setOrigins(['https://b.venue.example', 'https://c.venue.example']);
   * ```
   */
  setOrigins(urls: readonly (string | URL)[]): void {
    if (this.#closing) throw acquireError('POOL_CLOSED');
    const origins = resolveOrigins(urls, this.#options, this.#options.pathname);
    this.#dialer.setOrigins(origins);
    this.#origins.replace(origins);
    this.#metrics.originsChanged();
  }

  /** The origin each slot is connected or connecting to, by slot (an index into `origins`). */
  slotOrigins(): readonly number[] {
    return this.#origins.assignment.current();
  }

  async #close(): Promise<void> {
    this.#origins.stop();
    await closeActor(this.actor);
    this.#dialer.cancelAll();
    this.#metrics.stop();
    await Promise.allSettled([...this.#dialer.dials]);
    const open = [...this.#dialer.connections];
    for (const connection of open) connection.destroy();
    await Promise.all(open.map((connection) => connection.closed));
  }
}
