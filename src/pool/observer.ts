/**
 * The metrics and diagnostics of one pool: its OpenTelemetry instruments (when
 * a `meter` is given) and its `diagnostics_channel` events (while subscribed).
 *
 * The pool calls the hooks below on its acquire and request paths, each behind
 * one check (`observesAcquire`, `observesRequests`) that is false, and costs
 * nothing more, when there is neither a meter nor a subscriber. Slot state
 * changes come from subscriptions to the slot actors' snapshots: a slot does
 * not transition on lease or release, so they cost the request path nothing.
 */
import type { MeterAttributes, MeterLike } from '../telemetry/meter.js';
import type { Subscription } from 'xstate';
import type { PoolStats } from '../telemetry/stats.js';
import type { LifelineError } from '../errors.js';
import type { LifelineResponse } from './response.js';
import { slotState, type SlotSnapshot } from '../machines/slot.js';
import type { SupervisorActor } from '../machines/supervisor.js';
import { acquireChannel, publish, requestChannel, slotStateChannel } from '../telemetry/diagnostics.js';
import { changeReason } from '../telemetry/change-reason.js';
import { poolInstruments, type PoolInstruments } from '../telemetry/otel.js';
import type { RequestRecord } from '../telemetry/request-record.js';
import { Ring } from '../telemetry/ring.js';
import { redactPath, redactUrl, type Redactor } from '../redact.js';
import { wallNow, type AttemptInfo, type StepTimes } from './request-trace.js';
import { watchStates, type Watched } from '../telemetry/state-watch.js';

/** What the observer reads of its pool. */
export interface ObservedPool {
  readonly origin: string;
  /** Every origin of the pool (scheme, host, port), and the index of the one each slot is on. */
  readonly origins: readonly string[];
  slotOrigins(): readonly number[];
  readonly actor: SupervisorActor;
  stats(): PoolStats;
}

/** Methods an attribute may name as they are; any other becomes `_OTHER`, so a caller cannot grow the metric's series without bound. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

function statusClass(status: number): string {
  return STATUS_CLASSES[Math.floor(status / 100)] ?? 'other';
}

export class PoolObserver {
  readonly #origin: string;
  readonly #pool: ObservedPool;
  /** Each origin, redacted once (again after `setOrigins`): a slot's events and its requests are named by the origin it is on. */
  #origins: readonly string[];
  readonly #instruments: PoolInstruments | undefined;
  /** The reconnect counter's attributes, made once each: after a clean end, after a failure. */
  readonly #afterClean: MeterAttributes;
  readonly #afterFailure: MeterAttributes;
  readonly #subscriptions: Subscription[] = [];
  /** Slot actors already watched (slots may be added after start). */
  readonly #watched = new WeakSet<object>();
  #slots: readonly unknown[] = [];
  #unobserve: (() => void) | undefined;
  /** The `requestLog` ring of recent requests, when asked for. */
  readonly #requests: Ring<RequestRecord> | undefined;
  /** Scrubs a request's path for its record. */
  readonly #redactor: Redactor;
  readonly #secretNames: ReadonlySet<string>;
  readonly #scrubText = (text: string): string => this.#redactor.text(text);

  constructor(pool: ObservedPool, meter: MeterLike | undefined, scrub: { redactor: Redactor; secretNames: ReadonlySet<string> }, requestLog: number) {
    this.#origin = redactUrl(pool.origin);
    this.#pool = pool;
    this.#redactor = scrub.redactor;
    this.#secretNames = scrub.secretNames;
    if (requestLog > 0) this.#requests = new Ring(requestLog);
    this.#origins = pool.origins.map(redactUrl);
    this.#afterClean = { origin: this.#origin, after: 'clean-end' };
    this.#afterFailure = { origin: this.#origin, after: 'failure' };
    if (meter) {
      this.#instruments = poolInstruments(meter);
      this.#unobserve = this.#instruments.observe({ origin: this.#origin, stats: () => pool.stats() });
    }
    // Slots are spawned when the supervisor starts: its first snapshot brings them.
    this.#subscriptions.push(
      pool.actor.subscribe({ next: (snapshot) => this.#watchSlots(snapshot.context.slots), error: () => {} }),
    );
  }

  /** The pool's first origin, scheme://host:port: how an error names a pool whose request got no slot. */
  get origin(): string {
    return this.#origin;
  }

  /** Whether acquires are measured: a meter, or a subscriber to `lifeline:pool:acquire`. */
  get observesAcquire(): boolean {
    return this.#instruments !== undefined || acquireChannel.hasSubscribers;
  }

  /** Whether requests are measured: a meter, a subscriber to `lifeline:pool:request`, or the `requestLog` ring. */
  get observesRequests(): boolean {
    return this.#instruments !== undefined || this.#requests !== undefined || requestChannel.hasSubscribers;
  }

  /** The requests the `requestLog` ring holds, oldest first; undefined when it is off. */
  requestHistory(): RequestRecord[] | undefined {
    return this.#requests?.toArray();
  }

  /** An acquire was answered; `started` is its `performance.now()`, or -1 for a try (which never waits). */
  acquired(mode: 'try' | 'wait', started: number, outcome: string): void {
    const waitMs = started < 0 ? 0 : performance.now() - started;
    this.#instruments?.acquireWait.record(waitMs, { origin: this.#origin, mode, outcome });
    if (acquireChannel.hasSubscribers) publish(acquireChannel, { origin: this.#origin, mode, outcome, waitMs });
  }

  /**
   * A send of a request settled. `started` is its `performance.now()` as it went to the lease;
   * `path` the path as sent (scrubbed here, only when a record is made); `steps` its step times.
   */
  requested(
    slot: number,
    method: string | undefined,
    path: string,
    started: number,
    info: AttemptInfo,
    steps: StepTimes,
    error: LifelineError | undefined,
    response: Pick<LifelineResponse, 'status'> | undefined,
  ): void {
    const durationMs = performance.now() - started;
    const origin = this.originOf(slot);
    const sent = method ?? 'GET';
    const status = error ? undefined : response?.status;
    const attempt = info.repeat;
    if (this.#instruments) {
      const outcome = error ? error.code : statusClass(status ?? 0);
      this.#instruments.requestDuration.record(durationMs, { origin, method: HTTP_METHODS.has(sent) ? sent : '_OTHER', outcome });
      if (attempt !== 'first') this.#instruments.repeats.add(1, { origin, attempt });
    }
    const ring = this.#requests;
    if (ring === undefined && !requestChannel.hasSubscribers) return;
    const done = wallNow();
    const record: RequestRecord = {
      kind: 'request',
      id: info.id,
      origin,
      slot,
      method: sent,
      path: redactPath(path, this.#redactor, this.#secretNames),
      attempt: info.attempt,
      replayed: attempt !== 'first',
      repeat: attempt,
      status,
      error: error?.code,
      sent: error?.sent,
      durationMs,
      times: steps.toTimes(done),
      // Date.now(), not `done`: the clock state changes are stamped with. performance's clock
      // drifts from it by milliseconds over a process's life, enough to sort a request
      // before the state change that preceded it.
      at: Date.now(),
    };
    ring?.push(record);
    if (requestChannel.hasSubscribers) publish(requestChannel, record);
  }

  /** The pool's origins were replaced (`setOrigins`). */
  originsChanged(): void {
    this.#origins = this.#pool.origins.map(redactUrl);
  }

  /** The origin slot `slot` is on now, scheme://host:port (a pool of one origin: always the pool's). */
  originOf(slot: number): string {
    return this.#origins[this.#pool.slotOrigins()[slot] ?? 0] ?? this.#origin;
  }

  /** Removes the meter's callbacks and every subscription. Idempotent. */
  stop(): void {
    this.#unobserve?.();
    this.#unobserve = undefined;
    for (const subscription of this.#subscriptions.splice(0)) subscription.unsubscribe();
  }

  #watchSlots(slots: readonly Watched<SlotSnapshot>[]): void {
    if (slots === this.#slots) return;
    this.#slots = slots;
    for (const slot of slots) {
      if (this.#watched.has(slot)) continue;
      this.#watched.add(slot);
      this.#subscriptions.push(
        watchStates(slot, {
          state: slotState,
          changed: ({ from, to, error, snapshot }) => {
            // A redial: the first dial of a slot starts in `connecting` and is not one. Straight from
            // `healthy` it follows a clean end; from `backoff`, a failure.
            if (to === 'connecting' && from !== 'connecting') {
              this.#instruments?.reconnects.add(1, from === 'healthy' ? this.#afterClean : this.#afterFailure);
            }
            if (!slotStateChannel.hasSubscribers) return;
            // What the flight recorder records too: a failure's code, errno and message; a clean end's cause.
            const { reason, detail, errno } = changeReason(from, to, error, snapshot.context.endReason, this.#scrubText);
            const index = snapshot.context.index;
            publish(slotStateChannel, { origin: this.originOf(index), slot: index, from, to, reason, detail, errno });
          },
        }),
      );
    }
  }
}
