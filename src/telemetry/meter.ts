/**
 * What lifeline needs of an OpenTelemetry `Meter` (the `meter` option), declared here so
 * that lifeline's types stand alone: `@opentelemetry/api` is an optional peer dependency,
 * and a program without it must type-check against lifeline's declarations. A real
 * `Meter` of `@opentelemetry/api` is assignable to `MeterLike`
 * (test/telemetry/meter-type.test.ts proves it), so users pass theirs as it is.
 *
 * Methods, not function-typed properties: their parameters compare both ways, as the
 * generic signatures of the real `Meter` need.
 */

/** The attributes lifeline records with a value: strings only (`origin`, `state`, `outcome`...). */
export type MeterAttributes = Record<string, string>;

/** The options lifeline passes when it creates an instrument. */
export interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

export interface HistogramLike {
  record(value: number, attributes?: MeterAttributes): void;
}

export interface CounterLike {
  add(value: number, attributes?: MeterAttributes): void;
}

/** An observable instrument: lifeline only hands it back to its meter. */
export type ObservableLike = object;

export interface BatchObservableResultLike {
  observe(observable: ObservableLike, value: number, attributes?: MeterAttributes): void;
}

export type BatchObservableCallbackLike = (result: BatchObservableResultLike) => void;

/** The part of an OpenTelemetry `Meter` that lifeline uses. */
export interface MeterLike {
  createHistogram(name: string, options?: InstrumentOptions): HistogramLike;
  createCounter(name: string, options?: InstrumentOptions): CounterLike;
  createObservableGauge(name: string, options?: InstrumentOptions): ObservableLike;
  createObservableCounter(name: string, options?: InstrumentOptions): ObservableLike;
  addBatchObservableCallback(callback: BatchObservableCallbackLike, observables: ObservableLike[]): void;
  removeBatchObservableCallback(callback: BatchObservableCallbackLike, observables: ObservableLike[]): void;
}
