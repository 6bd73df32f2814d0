/**
 * OpenTelemetry instruments of pools and feeds, on a `Meter` the user passes
 * (`meter` option). `@opentelemetry/api` is an optional peer dependency: lifeline
 * neither loads it nor names its types (a `Meter` is taken as a `MeterLike`, see meter.ts).
 *
 * Instrument                       | Kind               | Unit        | Attributes
 * -------------------------------- | ------------------ | ----------- | ---------------------
 * `lifeline.pool.slots`            | observable gauge   | {slot}      | origin, state
 * `lifeline.pool.waiting`          | observable gauge   | {caller}    | origin
 * `lifeline.pool.acquire.wait`     | histogram          | ms          | origin, mode, outcome
 * `lifeline.pool.request.duration` | histogram          | ms          | origin, method, outcome
 * `lifeline.pool.reconnects`       | counter            | {reconnect} | origin, after (`clean-end`, `failure`)
 * `lifeline.pool.request.repeats`  | counter            | {request}   | origin, attempt (`resend`, `replay`, `retry`)
 * `lifeline.feed.messages`         | observable counter | {message}   | url
 * `lifeline.feed.staleness`        | observable gauge   | ms          | url
 * `lifeline.feed.reconnects`       | counter            | {reconnect} | url
 *
 * `outcome` is `granted`, `unavailable` (a try that found nothing) or an error
 * code for an acquire; the status class (`2xx`...`5xx`) or an error code for a
 * request. `origin` and `url` are scheme://host:port: never a credential, path or query.
 *
 * Observable instruments are read from `stats()` at collection time, so they
 * cost the request and message paths nothing.
 */
import type { BatchObservableCallbackLike, CounterLike, HistogramLike, MeterAttributes, MeterLike, ObservableLike } from './meter.js';
import type { PoolStats } from './stats.js';

/** What `meter` must offer: checked at connect, like every option. */
export const METER_METHODS = [
  'createHistogram',
  'createCounter',
  'createObservableGauge',
  'createObservableCounter',
  'addBatchObservableCallback',
  'removeBatchObservableCallback',
] as const satisfies readonly (keyof MeterLike)[];

/** Bucket bounds (ms) from a loopback round trip (~0.1 ms) to the default timeouts (5 s); the SDK's default starts at 5 ms. */
const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** The slot states `lifeline.pool.slots` reports, each a `state` attribute value. */
const SLOT_GAUGE_STATES = ['healthy', 'busy', 'draining', 'connecting', 'backoff', 'poisoned', 'closed'] as const;

/** A pool as its meter reads it at collection time. */
export interface PoolSource {
  /** scheme://host:port, no credentials. */
  origin: string;
  stats(): PoolStats;
}

/** A feed as its meter reads it at collection time. */
export interface FeedSource {
  /** scheme://host:port of the feed's first URL: one stable series per feed, whichever endpoint it is on. */
  url: string;
  messages(): number;
  /** Ms since the last message (or since connect(), before the first). */
  staleness(): number;
}

/**
 * The sources of one meter and kind, read by one batch callback. One callback,
 * not one per pool or feed: the SDK keeps only the last value observed for an
 * attribute set, so twenty feeds of one host would report one feed's count;
 * here they are summed first. The callback is registered while there is a
 * source and removed with the last.
 */
class Gathering<S> {
  readonly #meter: MeterLike;
  readonly #observables: ObservableLike[];
  readonly #sources = new Set<S>();
  readonly #callback: BatchObservableCallbackLike;

  constructor(meter: MeterLike, observables: ObservableLike[], collect: (sources: ReadonlySet<S>, observe: (observable: ObservableLike, value: number, attributes: MeterAttributes) => void) => void) {
    this.#meter = meter;
    this.#observables = observables;
    this.#callback = (result) => collect(this.#sources, (observable, value, attributes) => result.observe(observable, value, attributes));
  }

  /** Adds a source; returns its removal (idempotent). */
  add(source: S): () => void {
    if (this.#sources.size === 0) this.#meter.addBatchObservableCallback(this.#callback, this.#observables);
    this.#sources.add(source);
    return () => {
      if (!this.#sources.delete(source)) return;
      if (this.#sources.size === 0) this.#meter.removeBatchObservableCallback(this.#callback, this.#observables);
    };
  }
}

/** Per-key totals: counts of the sources that share a key are combined by `merge`. */
function combine<S, V>(sources: ReadonlySet<S>, key: (source: S) => string, read: (source: S) => V, merge: (a: V, b: V) => V): Map<string, V> {
  const byKey = new Map<string, V>();
  for (const source of sources) {
    const k = key(source);
    const value = read(source);
    const seen = byKey.get(k);
    byKey.set(k, seen === undefined ? value : merge(seen, value));
  }
  return byKey;
}

export interface PoolInstruments {
  acquireWait: HistogramLike;
  requestDuration: HistogramLike;
  reconnects: CounterLike;
  repeats: CounterLike;
  /** Reads `source` at every collection until the returned function is called. */
  observe(source: PoolSource): () => void;
}

export interface FeedInstruments {
  reconnects: CounterLike;
  observe(source: FeedSource): () => void;
}

/** Instruments are made once per meter, so every pool and feed of a meter shares them. */
const poolInstrumentsOf = new WeakMap<MeterLike, PoolInstruments>();
const feedInstrumentsOf = new WeakMap<MeterLike, FeedInstruments>();

type SlotCounts = Record<(typeof SLOT_GAUGE_STATES)[number] | 'waiting', number>;

function slotCounts(stats: PoolStats): SlotCounts {
  const { healthy, busy, draining, connecting, backoff, poisoned, closed, waiting } = stats;
  return { healthy, busy, draining, connecting, backoff, poisoned, closed, waiting };
}

function addCounts(a: SlotCounts, b: SlotCounts): SlotCounts {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof SlotCounts)[]) sum[key] += b[key];
  return sum;
}

export function poolInstruments(meter: MeterLike): PoolInstruments {
  let instruments = poolInstrumentsOf.get(meter);
  if (instruments) return instruments;
  const slots = meter.createObservableGauge('lifeline.pool.slots', { description: 'Connections (slots) of a pool by state', unit: '{slot}' });
  const waiting = meter.createObservableGauge('lifeline.pool.waiting', { description: 'Callers waiting in acquire()', unit: '{caller}' });
  const gathering = new Gathering<PoolSource>(meter, [slots, waiting], (sources, observe) => {
    const byOrigin = combine(sources, (s) => s.origin, (s) => slotCounts(s.stats()), addCounts);
    for (const [origin, counts] of byOrigin) {
      for (const state of SLOT_GAUGE_STATES) observe(slots, counts[state], { origin, state });
      observe(waiting, counts.waiting, { origin });
    }
  });
  instruments = {
    acquireWait: meter.createHistogram('lifeline.pool.acquire.wait', {
      description: 'Time from an acquire to its answer (a lease or a refusal)',
      unit: 'ms',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    }),
    requestDuration: meter.createHistogram('lifeline.pool.request.duration', {
      description: 'Time from dispatching a request on a connection to its whole response or failure',
      unit: 'ms',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    }),
    reconnects: meter.createCounter('lifeline.pool.reconnects', {
      description: 'Redials of a pool connection: after a clean end (at once) or after a failure (backed off)',
      unit: '{reconnect}',
    }),
    repeats: meter.createCounter('lifeline.pool.request.repeats', {
      description: 'Requests pool.request sent again: resent (never left), replayed (stale race) or retried',
      unit: '{request}',
    }),
    observe: (source) => gathering.add(source),
  };
  poolInstrumentsOf.set(meter, instruments);
  return instruments;
}

export function feedInstruments(meter: MeterLike): FeedInstruments {
  let instruments = feedInstrumentsOf.get(meter);
  if (instruments) return instruments;
  const messages = meter.createObservableCounter('lifeline.feed.messages', { description: 'Messages received by a feed', unit: '{message}' });
  const staleness = meter.createObservableGauge('lifeline.feed.staleness', {
    description: 'Time since a feed last received a message (the stalest feed, for several of one URL)',
    unit: 'ms',
  });
  // The counts of closed feeds, by URL: a counter must not go down when one of several feeds of a URL closes.
  const retired = new Map<string, number>();
  const gathering = new Gathering<FeedSource>(meter, [messages, staleness], (sources, observe) => {
    const url = (s: FeedSource) => s.url;
    for (const [key, count] of combine(sources, url, (s) => s.messages(), (a, b) => a + b)) {
      observe(messages, count + (retired.get(key) ?? 0), { url: key });
    }
    for (const [key, ms] of combine(sources, url, (s) => s.staleness(), Math.max)) observe(staleness, ms, { url: key });
  });
  instruments = {
    reconnects: meter.createCounter('lifeline.feed.reconnects', { description: 'Reconnect attempts of a feed after it was lost or failed', unit: '{reconnect}' }),
    observe: (source) => {
      const remove = gathering.add(source);
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        retired.set(source.url, (retired.get(source.url) ?? 0) + source.messages());
        remove();
      };
    },
  };
  feedInstrumentsOf.set(meter, instruments);
  return instruments;
}
