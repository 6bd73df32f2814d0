/**
 * The `meter` option is typed as lifeline's own `MeterLike`, so that lifeline's declarations
 * never name `@opentelemetry/api` (an optional peer dependency; `npm run consumer-check`
 * type-checks a program without it). This file proves, by type-checking (`npm run typecheck`),
 * that a real `Meter` of `@opentelemetry/api` is a `MeterLike`, from the global API and from
 * the SDK, and that the methods checked at connect are exactly those `MeterLike` has.
 */
import { metrics, type Meter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { ClientPoolOptions, FeedOptions, MeterLike } from '../../src/index.js';
import { METER_METHODS } from '../../src/telemetry/otel.js';

/** True only when A and B are the same set of names. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

describe('MeterLike', () => {
  it('takes a real OpenTelemetry Meter, from the API and from the SDK', async () => {
    const fromApi: Meter = metrics.getMeter('lifeline-types');
    const provider = new MeterProvider();
    const fromSdk = provider.getMeter('lifeline-types');
    const meters: MeterLike[] = [fromApi, fromSdk];
    const pool: ClientPoolOptions = { url: 'http://127.0.0.1:1', meter: fromApi };
    const feed: FeedOptions = { url: 'ws://127.0.0.1:1', meter: fromSdk };
    for (const meter of [...meters, pool.meter, feed.meter]) {
      for (const method of METER_METHODS) expect(typeof meter?.[method]).toBe('function');
    }
    await provider.shutdown();
  });

  it('is checked at connect by exactly its own methods', () => {
    const same: Same<(typeof METER_METHODS)[number], keyof MeterLike> = true;
    expect(same).toBe(true);
  });
});
