/**
 * A real OpenTelemetry SDK meter whose metrics a test reads on demand: a
 * MeterProvider with a pull reader, collected when the test asks.
 */
import type { Meter } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { onTestFinished } from 'vitest';

/** Collects only when `collect()` is called: nothing is exported on a timer. */
class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface TestMeter {
  meter: Meter;
  /** Every metric of the meter now, by instrument name. */
  collect(): Promise<Map<string, MetricData>>;
}

export function testMeter(): TestMeter {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  onTestFinished(() => provider.shutdown());
  return {
    meter: provider.getMeter('lifeline-test'),
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length) throw new AggregateError(errors, 'metric collection failed');
      const metrics = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) metrics.set(metric.descriptor.name, metric);
      return metrics;
    },
  };
}

/** The data points of `name` (none when the instrument reported nothing). */
export function points(metrics: Map<string, MetricData>, name: string): DataPoint<unknown>[] {
  return (metrics.get(name)?.dataPoints ?? []) as DataPoint<unknown>[];
}

/** The value of the one point of `name` whose attributes include `attributes`. */
export function valueOf(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string>): unknown {
  const matching = points(metrics, name).filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  if (matching.length !== 1) {
    throw new Error(`${name} ${JSON.stringify(attributes)}: ${matching.length} points in ${JSON.stringify(points(metrics, name).map((p) => p.attributes))}`);
  }
  return matching[0]!.value;
}
