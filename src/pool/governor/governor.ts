/**
 * A venue's request budget, shared like a `DialLimiter` by every pool given the same
 * governor: weight per window, spent at send, corrected by the venue's own count, paused
 * by its 429s and bans, reserved by priority.
 *
 * ```ts
 * const governor = new Governor({
 *   windows: [{ weight: 6_000, per: 60_000, header: 'x-mbx-used-weight-1m' }],
 *   reserve: { order: 0.2 },
 * });
 * const pool = await ClientPool.connect({ url, governor });
 * await pool.request({ path: '/api/v3/depth', query: { symbol: 'BTCUSDT', limit: 1000 }, weight: 50, priority: 'background' });
 * ```
 *
 * The life of a request's weight (a `Ticket`):
 * ```
 *  take (at acquire, before a slot) --room--> held ----send----> spent ----settle----> dated at the settle
 *     | no room: fail fast (RATE_LIMITED)      | released unsent    | never left (delivery unsent)
 *     | or wait, by priority then FIFO         v                    v
 *     +----------------------------------> cancelled           refunded
 * ```
 * A spend counts from its send until one window after its settle, in-process as in a shared
 * store: the venue counts arrivals, which fall between the two.
 * States: `open`; `paused` (a pause status, until its Retry-After); `banned` (a ban
 * status). Nothing is taken or sent while paused or banned.
 *
 * With a shared `store` (Redis), weight is taken by a round trip, so only `acquire` takes it
 * (awaiting the store, then polling it at the wait it names); the synchronous `take` (a pool's
 * `tryAcquire`, a lease's second request) fails fast with RATE_LIMITED, since it cannot wait for
 * the answer. A shared reservation is dated when its request settles, not when it is sent: a
 * venue counts arrivals, which the send time only bounds from below and the answer from above,
 * so the fleet stays within the budget as the venue counts it, whatever the latency. While the
 * store is unreachable (`storeState` `degraded`) every path runs on the local store, capped at
 * `localShare` of each window, until a try every `store.retry` ms succeeds; the callers then
 * queued move over to the shared store.
 */
import { clockNow, type Clock } from '../../clock.js';
import { LifelineError } from '../../errors.js';
import type { CounterLike } from '../../telemetry/meter.js';
import { acquireError, type WaitSignal } from '../acquire.js';
import type { ResponseHead } from '../response.js';
import { LocalBudgetStore, type BudgetStore } from './budget-store.js';
import type { SharedBudgetStore } from './shared-store.js';
import { UnrecordedSpends } from './unrecorded-spends.js';
import { PRIORITIES, resolveGovernorOptions, type GovernorOptions, type Priority, type ResolvedGovernorOptions } from './governor-options.js';
import { headerValue, retryAfterMs, usedWeight, usedWeights } from './venue-reply.js';

export type GovernorState = 'open' | 'paused' | 'banned';
/** `local`: no shared store; `shared`: the store answers; `degraded`: it did not, the local share is in use. */
export type StoreState = 'local' | 'shared' | 'degraded';

/** The push of a try that has nothing to push: a round trip that only says whether the store answers. */
const ZERO_WEIGHTS: readonly number[] = [];

/** The longest wait between two asks of a shared store that said no: a reservation it counted may be cancelled. */
const MAX_POLL = 100;

export interface GovernorStats {
  state: GovernorState;
  /** ms until the pause or ban ends; 0 when open. */
  pausedFor: number;
  /** Weight spent or reserved in each window, in the order of `windows`. */
  used: number[];
  /** Each window's limit. */
  limits: number[];
  /** Each window's length in ms (its `per`). */
  pers: number[];
  /** Callers waiting for budget, by priority. */
  waiting: Record<Priority, number>;
  /** Pauses and bans so far (a venue's pause status or ban status). */
  pauses: number;
  bans: number;
  /** Requests refused with RATE_LIMITED so far. */
  rateLimited: number;
  /** Where the budget is counted: see {@link StoreState}. */
  store: StoreState;
  /** Times the shared store became unreachable so far. */
  degradations: number;
}

/** Weight held for one request, from acquire to its send (or its release unsent). */
export class Ticket {
  readonly weight: number;
  readonly priority: Priority;
  /** When it was spent, on the governor's clock; -1 while held, -2 once given back. */
  sentAt = -1;
  /** The reservation's id in a shared store; undefined when taken from the local one. */
  id: string | undefined = undefined;
  /** Its record in a shared store: taken from the local share while degraded, and sent so (shared-store.ts, `record`). */
  shadow: string | undefined = undefined;

  constructor(weight: number, priority: Priority) {
    this.weight = weight;
    this.priority = priority;
  }
}

interface Waiter {
  weight: number;
  grant(ticket: Ticket): void;
  /** Hands a waiter queued on the local share over to the shared store, which takes over its wait. */
  handOver(): void;
}

export class Governor {
  readonly #options: ResolvedGovernorOptions;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #store: BudgetStore;
  readonly #queues: Record<Priority, Waiter[]> = { order: [], normal: [], background: [] };
  #waiting = 0;
  #state: GovernorState = 'open';
  /** When the pause or ban ends, on the clock's scale. */
  #until = -Infinity;
  #timer: unknown;
  #timerAt = Infinity;
  #pauses = 0;
  #bans = 0;
  #rateLimited = 0;
  readonly #counters: { pauses: CounterLike; rateLimited: CounterLike; degraded: CounterLike } | undefined;
  readonly #shared: SharedBudgetStore | undefined;
  /** Each window's length: the shared store's calls name them. */
  readonly #pers: number[];
  #storeState: StoreState;
  #degradations = 0;
  /** Spends on the local share whose record the shared store may have missed: pushed to it on recovery. */
  readonly #unrecorded: UnrecordedSpends;
  /** The shared store's count at its last answer (stats, and the seed of the local share on a fall back). */
  #lastUsed: number[];
  /** Each priority's smallest cap over the windows: a weight up to it fits every window. */
  readonly #smallestCap: Record<Priority, number>;

  constructor(options: GovernorOptions) {
    this.#options = resolveGovernorOptions(options);
    this.#clock = this.#options.clock;
    this.#now = clockNow(this.#clock);
    this.#pers = this.#options.windows.map((window) => window.per);
    this.#store = new LocalBudgetStore(this.#pers);
    this.#shared = this.#options.store;
    this.#storeState = this.#shared ? 'shared' : 'local';
    this.#unrecorded = new UnrecordedSpends(this.#pers);
    this.#lastUsed = this.#pers.map(() => 0);
    const caps = this.#options.caps;
    this.#smallestCap = { order: Math.min(...caps.order), normal: Math.min(...caps.normal), background: Math.min(...caps.background) };
    const meter = this.#options.meter;
    this.#counters = meter && {
      pauses: meter.createCounter('lifeline.governor.pauses', { description: 'Pauses a venue ordered (429) and bans (418), by state' }),
      rateLimited: meter.createCounter('lifeline.governor.rate_limited', { description: 'Requests refused with RATE_LIMITED, by priority' }),
      degraded: meter.createCounter('lifeline.governor.degraded', { description: 'Times the shared budget store became unreachable (the local share took over)' }),
    };
  }

  /** Where the budget is counted: `local`, `shared` (the store answers) or `degraded` (it did not: the local share). */
  get storeState(): StoreState {
    return this.#storeState;
  }

  get state(): GovernorState {
    this.#reopenIfDue(this.#now());
    return this.#state;
  }

  stats(): GovernorStats {
    const now = this.#now();
    this.#reopenIfDue(now);
    const q = this.#queues;
    return {
      state: this.#state,
      pausedFor: this.#state === 'open' ? 0 : Math.max(0, this.#until - now),
      used: this.#storeState === 'shared' ? this.#lastUsed.slice() : this.#store.used(now),
      limits: this.#options.windows.map((window) => window.weight),
      pers: this.#pers.slice(),
      waiting: { order: q.order.length, normal: q.normal.length, background: q.background.length },
      pauses: this.#pauses,
      bans: this.#bans,
      rateLimited: this.#rateLimited,
      store: this.#storeState,
      degradations: this.#degradations,
    };
  }

  /**
   * @internal Weight for one request at once, or the ms until there may be some: while a
   * pause lasts, while a caller of the same or a higher priority waits (first come, first
   * served), or while a window is full. No promise, one small object when granted.
   */
  take(weight: number, priority: Priority): Ticket | number {
    const wait = this.hold(weight, priority);
    return wait > 0 ? wait : new Ticket(weight, priority);
  }

  /**
   * @internal `take` without its ticket: 0 when `weight` is now held on this process's own count
   * (give it back with `unhold`, or make it a `Ticket` to send), else the ms until there may be
   * room. The hot path of `tryAcquire`: it allocates nothing, and reads no clock while the state is
   * open and every window has room even counting what may have expired.
   */
  hold(weight: number, priority: Priority): number {
    // One comparison on the hot path: most weights are far below every cap.
    if (weight > this.#smallestCap[priority]) this.#fits(weight, priority);
    // The state is `open` only outside a pause (a pause sets it, its end resets it): no clock read while open.
    if (this.#state !== 'open') {
      const now = this.#now();
      if (this.#until > now) return this.#until - now;
      this.#reopenIfDue(now);
    }
    if (this.#waiting > 0 && this.#queuedAtOrAbove(priority)) {
      return Number.isFinite(this.#timerAt) ? Math.max(1, this.#timerAt - this.#now()) : 1;
    }
    if (this.#storeState === 'shared') throw this.#sharedOnly(priority);
    // Degraded with `localShare: 0`, every local cap is 0: nothing goes out that the fleet's count has not seen.
    return this.#store.reserve(weight, this.#options.localCaps[priority], this.#now);
  }

  /** @internal Gives back weight `hold` held and never sent (a lease released unused). */
  unhold(weight: number): void {
    this.#store.cancel(weight);
    if (this.#waiting > 0) this.#pump();
  }

  /**
   * @internal Weight for one request: at once when there is room, else once there is, within
   * `timeout` ms. Rejects with RATE_LIMITED (timeout 0, a pause past the timeout, or none came
   * in time), `ACQUIRE_ABORTED` when `signal` fires.
   */
  acquire(weight: number, priority: Priority, timeout: number, signal: WaitSignal | undefined): Ticket | Promise<Ticket> {
    if (this.#storeState === 'shared') return this.#acquireShared(weight, priority, timeout, signal);
    const taken = this.take(weight, priority);
    if (taken instanceof Ticket) return taken;
    const pausedFor = this.#until - this.#now();
    if (timeout <= 0 || pausedFor > timeout) throw this.rateLimited(taken, priority);
    if (signal?.aborted) throw acquireError('ACQUIRE_ABORTED');
    return new Promise<Ticket>((resolve, reject) => {
      let timer: unknown;
      const queue = this.#queues[priority];
      const withdraw = () => {
        const index = queue.indexOf(waiter);
        if (index < 0) return false;
        queue.splice(index, 1);
        this.#waiting--;
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        // The head may have been the one holding the others back.
        this.#pump();
        return true;
      };
      const onAbort = () => withdraw() && reject(acquireError('ACQUIRE_ABORTED'));
      const began = this.#now();
      const waiter: Waiter = {
        weight,
        grant: (ticket) => {
          this.#clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(ticket);
        },
        handOver: () => {
          this.#clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#acquireShared(weight, priority, Math.max(0, timeout - (this.#now() - began)), signal).then(resolve, reject);
        },
      };
      queue.push(waiter);
      this.#waiting++;
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = this.#clock.setTimeout(() => {
        if (withdraw()) reject(this.rateLimited(this.#estimate(weight, priority), priority));
      }, timeout);
      this.#schedule(taken);
    });
  }

  /**
   * @internal Spends `ticket` now: the request is about to be written. RATE_LIMITED (nothing
   * is sent into a pause) hands its weight back first.
   */
  spend(ticket: Ticket): LifelineError | undefined {
    const now = this.#now();
    if (this.#until > now) {
      this.release(ticket);
      const error = this.rateLimited(this.#until - now, ticket.priority);
      error.delivery = 'unsent';
      return error;
    }
    // A shared reservation already counts (until ttl + per from its reserve): its settle dates it.
    // Sent while the store is out of reach, the local share must see it too.
    if (ticket.id === undefined) {
      this.#store.commit(ticket.weight, now);
      // Out of reach may only mean slow: the fleet's count then sees this spend too, as one of its own.
      if (this.#storeState === 'degraded') ticket.shadow = this.#shared!.record(ticket.weight, this.#pers);
    } else if (this.#storeState === 'degraded') this.#store.add(ticket.weight, now);
    ticket.sentAt = now;
    return undefined;
  }

  /** @internal Gives back a ticket never spent (its lease released, its request refused before the send). Idempotent. */
  release(ticket: Ticket): void {
    if (ticket.sentAt !== -1) return;
    ticket.sentAt = -2;
    if (ticket.id !== undefined) return this.#cancelShared(ticket);
    this.unhold(ticket.weight);
  }

  /**
   * @internal The request of a spent ticket settled: its weight comes back if it never left
   * the process; the venue's answer corrects the count, and may pause every pool.
   */
  settle(ticket: Ticket, error: LifelineError | undefined, response: ResponseHead | undefined): void {
    const sentAt = ticket.sentAt;
    if (sentAt < 0) return;
    ticket.sentAt = -2;
    if (ticket.id !== undefined) {
      // Never left: it counts no more. Else it counts from now, when the venue has surely had it.
      if (error?.delivery === 'unsent') this.#cancelShared(ticket);
      // The venue's used-weight headers correct the fleet's count in the same atomic call (redis-script.ts).
      else this.#shared!.commit(ticket.id, ticket.weight, this.#pers, response && usedWeights(response.headers, this.#options.windows)).catch(this.#degrade);
      if (response) this.observe(response, sentAt);
      return;
    }
    if (ticket.shadow !== undefined) this.#settleShadow(ticket.shadow, ticket.weight, error, response);
    if (error?.delivery === 'unsent') {
      this.#store.refund(ticket.weight, sentAt);
      this.#pump();
      if (response) this.observe(response, sentAt);
      return;
    }
    // The venue's word first, while this spend is still dated at its send (what it counted then).
    if (response) this.observe(response, sentAt);
    // Then dated at its settle, as the shared store dates it: a venue counts arrivals, which the
    // send bounds only from below; counted from the send until one window after the settle, no span
    // of the venue's count holds more than ours (the governor bench's fleet, send-dated, saw 416
    // arrivals in a window of 400 on a loaded machine).
    this.#store.redate(ticket.weight, sentAt, this.#now());
  }

  /**
   * A request sent on the local share while degraded settled: its record in the shared store is
   * dated now, as a reservation's would be (the commit also writes it when the record itself failed),
   * or dropped if it never left. A commit that fails leaves the spend to the push on recovery.
   */
  #settleShadow(shadow: string, weight: number, error: LifelineError | undefined, response: ResponseHead | undefined): void {
    const shared = this.#shared!;
    if (error?.delivery === 'unsent') {
      shared.cancel(shadow, weight, this.#pers).catch(() => {});
      return;
    }
    const used = response && usedWeights(response.headers, this.#options.windows);
    shared.commit(shadow, weight, this.#pers, used).catch(() => {
      this.#unrecorded.add(shadow, weight, this.#now());
      // Back on the store meanwhile: it fails again, so the local share takes over (and pushes this on return).
      this.#degrade();
    });
  }

  /** @internal What a venue's response says: used weight per window, and a pause or a ban. */
  observe(response: ResponseHead, sentAt: number): void {
    const options = this.#options;
    const status = response.status;
    const ban = options.banStatuses.has(status);
    if (ban || options.pauseStatuses.has(status)) {
      const told = retryAfterMs(headerValue(response.headers, 'retry-after'), Date.now());
      this.#pause(ban ? 'banned' : 'paused', told ?? (ban ? options.banDefault : options.pauseDefault));
    }
    const windows = options.windows;
    for (let i = 0; i < windows.length; i++) {
      const header = windows[i]!.header;
      if (header === undefined) continue;
      const used = usedWeight(headerValue(response.headers, header));
      if (used !== undefined) this.#store.correct(i, used, sentAt, this.#now());
    }
    // A correction downwards may have made room.
    if (this.#waiting > 0) this.#pump();
  }

  /** @internal A RATE_LIMITED error, counted. */
  rateLimited(retryAfter: number, priority: Priority): LifelineError {
    this.#rateLimited++;
    this.#counters?.rateLimited.add(1, { priority });
    const paused = this.#state !== 'open' && this.#until > this.#now();
    const strict = this.#storeState === 'degraded' && this.#options.localShare === 0;
    const why = paused
      ? `the venue ${this.#state === 'banned' ? 'banned' : 'paused'} requests`
      : strict
        ? 'the shared budget store is out of reach, and localShare is 0'
        : 'no budget was left in a window';
    const error = new LifelineError('RATE_LIMITED', `rate limited: ${why}; retry after ${Math.ceil(retryAfter)} ms; nothing was sent`);
    error.retryAfter = Math.ceil(retryAfter);
    return error;
  }

  #fits(weight: number, priority: Priority): void {
    if (weight <= this.#smallestCap[priority]) return;
    const caps = this.#options.caps[priority];
    for (let i = 0; i < caps.length; i++) {
      if (weight > caps[i]!) {
        throw new LifelineError('INVALID_REQUEST', `Expected \`weight\` to fit in the governor's window ${i} for priority '${priority}' (${caps[i]}), got ${weight}`);
      }
    }
  }

  #pause(state: 'paused' | 'banned', ms: number): void {
    const now = this.#now();
    this.#until = Math.max(this.#until, now + ms);
    // A ban outranks a pause that overlaps it.
    if (this.#state !== 'banned' || state === 'banned') this.#state = state;
    if (state === 'banned') this.#bans++;
    else this.#pauses++;
    this.#counters?.pauses.add(1, { state });
    this.#schedule(this.#until - now);
  }

  #reopenIfDue(now: number): void {
    if (this.#state !== 'open' && this.#until <= now) this.#state = 'open';
  }

  #queuedAtOrAbove(priority: Priority): boolean {
    for (const each of PRIORITIES) {
      if (this.#queues[each].length > 0) return true;
      if (each === priority) return false;
    }
    return false;
  }

  /** A rough wait for a caller refused at its timeout: the store's own estimate. */
  #estimate(weight: number, priority: Priority): number {
    const now = this.#now();
    if (this.#until > now) return this.#until - now;
    // Nothing to wait for on a local share of 0 but the store, whose next try may bring it back.
    if (this.#storeState === 'degraded' && this.#options.localShare === 0) return this.#shared!.retry;
    const wait = this.#store.reserve(weight, this.#options.localCaps[priority], this.#now);
    if (wait === 0) {
      this.#store.cancel(weight);
      return 1;
    }
    return wait;
  }

  /** Serves waiters by priority, then first come first served, while there is room; stops at the first that must wait. */
  #pump(): void {
    if (this.#waiting === 0) return;
    const now = this.#now();
    if (this.#until > now) return this.#schedule(this.#until - now);
    this.#reopenIfDue(now);
    for (const priority of PRIORITIES) {
      const queue = this.#queues[priority];
      while (queue.length > 0) {
        const waiter = queue[0]!;
        const wait = this.#store.reserve(waiter.weight, this.#options.localCaps[priority], () => now);
        if (wait > 0) return this.#schedule(wait);
        queue.shift();
        this.#waiting--;
        waiter.grant(new Ticket(waiter.weight, priority));
      }
    }
  }

  /**
   * Weight from the shared store: a round trip per ask; a refusal is asked again after the wait it
   * names (at most MAX_POLL ms), within `timeout`. Waiters of one process are not queued here: the
   * store's caps per priority keep the reserves, fleet-wide. A store that fails or does not answer
   * in time turns the governor `degraded` and the ask goes on on the local share.
   */
  async #acquireShared(weight: number, priority: Priority, timeout: number, signal: WaitSignal | undefined): Promise<Ticket> {
    this.#fits(weight, priority);
    const began = this.#now();
    for (;;) {
      if (signal?.aborted) throw acquireError('ACQUIRE_ABORTED');
      const left = Math.max(0, timeout - (this.#now() - began));
      if (this.#storeState !== 'shared') return this.acquire(weight, priority, left, signal);
      const now = this.#now();
      this.#reopenIfDue(now);
      let wait: number;
      if (this.#until > now) {
        wait = this.#until - now;
        if (wait > left) throw this.rateLimited(wait, priority);
      } else {
        let reply;
        try {
          reply = await this.#shared!.reserve(weight, this.#options.caps[priority], this.#pers);
        } catch {
          this.#degrade();
          continue;
        }
        this.#lastUsed = reply.used;
        if (reply.id !== undefined) {
          const ticket = new Ticket(weight, priority);
          ticket.id = reply.id;
          if (!signal?.aborted) return ticket;
          this.release(ticket);
          throw acquireError('ACQUIRE_ABORTED');
        }
        wait = reply.wait;
      }
      const remaining = timeout - (this.#now() - began);
      if (remaining <= 0) throw this.rateLimited(wait, priority);
      await this.#sleep(Math.min(wait, remaining, MAX_POLL), signal);
    }
  }

  #sleep(ms: number, signal: WaitSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        reject(acquireError('ACQUIRE_ABORTED'));
      };
      const timer = this.#clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(1, Math.ceil(ms)));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #cancelShared(ticket: Ticket): void {
    this.#shared!.cancel(ticket.id!, ticket.weight, this.#pers).catch(this.#degrade);
  }

  /**
   * Back on the shared store: callers still queued for the local share ask it instead, or they
   * would go on spending a local share the fleet's count does not see, for as long as they wait.
   */
  #handOver(): void {
    for (const priority of PRIORITIES) {
      const queue = this.#queues[priority];
      this.#waiting -= queue.length;
      for (const waiter of queue.splice(0)) waiter.handOver();
    }
  }

  /** The synchronous path cannot wait for a shared store's answer: it fails fast, nothing sent. */
  #sharedOnly(priority: Priority): LifelineError {
    const error = this.rateLimited(0, priority);
    error.message = 'rate limited: the budget is shared (a store across processes), and a synchronous take cannot wait for its answer: use acquire() or request(); nothing was sent';
    error.delivery = 'unsent';
    return error;
  }

  /**
   * The shared store did not answer: count on the local share until it does. The local count starts
   * at this process's share of what the fleet had spent at the store's last answer, so the rest of
   * the window keeps the fleet near its budget rather than adding a whole share on top of it.
   */
  readonly #degrade = (): void => {
    if (this.#storeState !== 'shared') return;
    this.#storeState = 'degraded';
    this.#degradations++;
    this.#counters?.degraded.add(1);
    const now = this.#now();
    const local = this.#store.used(now);
    for (let i = 0; i < this.#pers.length; i++) {
      const seed = Math.ceil(this.#lastUsed[i]! * this.#options.localShare);
      if (seed > local[i]!) this.#store.correct(i, seed, now, now);
    }
    this.#clock.setTimeout(this.#retryShared, this.#shared!.retry);
  };

  /**
   * One try of the shared store while degraded. Each request sent on the local share went to the store
   * as it went (`record`, then a commit at its settle); those whose commit failed are committed again
   * now, each under its own id, so the fleet's count holds each once even if the store restarted
   * empty. An empty push still tries the store. Success: back to `shared`. Failure: again in `retry` ms.
   */
  readonly #retryShared = (): void => {
    const shared = this.#shared!;
    const due = this.#unrecorded.due(this.#now());
    const pushes = due.length === 0 ? [shared.add(ZERO_WEIGHTS, this.#pers)] : due.map((spend) => shared.commit(spend.id, spend.weight, this.#pers));
    Promise.all(pushes).then(
      () => {
        this.#unrecorded.drop(due.length);
        this.#lastUsed = this.#store.used(this.#now());
        this.#storeState = 'shared';
        this.#handOver();
      },
      () => this.#clock.setTimeout(this.#retryShared, shared.retry),
    );
  };

  /** One timer for the whole governor, at the earliest moment something may change. */
  #schedule(ms: number): void {
    const at = this.#now() + Math.max(1, ms);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#reopenIfDue(this.#now());
      this.#pump();
    }, Math.ceil(at - this.#now()));
  }
}
