import { describe, expect, it } from 'vitest';
import { createBackoff, FEED_BACKOFF, SLOT_BACKOFF } from '../../src/testing/index.js';

const schedule = (policy: ReturnType<typeof createBackoff>, attempts: number, random = () => 1) =>
  Array.from({ length: attempts }, (_, i) => policy(i + 1, random));

describe('backoff policy', () => {
  it('doubles from 100 ms and caps at 5 s for slots (no jitter)', () => {
    const policy = createBackoff({ jitter: 'none' }, SLOT_BACKOFF);
    expect(schedule(policy, 9)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('caps at 30 s for feeds', () => {
    const policy = createBackoff({ jitter: 'none' }, FEED_BACKOFF);
    expect(schedule(policy, 11)).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it('full jitter draws uniformly under the ceiling', () => {
    const policy = createBackoff(undefined, SLOT_BACKOFF);
    expect(schedule(policy, 4, () => 0)).toEqual([0, 0, 0, 0]);
    expect(schedule(policy, 4, () => 0.5)).toEqual([50, 100, 200, 400]);
    expect(schedule(policy, 8, () => 0.999)).toEqual([100, 200, 400, 799, 1598, 3197, 4995, 4995]);
  });

  it('equal jitter keeps at least half the ceiling', () => {
    const policy = createBackoff({ jitter: 'equal' }, SLOT_BACKOFF);
    expect(schedule(policy, 3, () => 0)).toEqual([50, 100, 200]);
    expect(schedule(policy, 3, () => 1)).toEqual([100, 200, 400]);
  });

  it('a huge attempt count stays at the cap instead of overflowing', () => {
    const policy = createBackoff({ jitter: 'none', factor: 10 }, SLOT_BACKOFF);
    expect(policy(10_000, () => 1)).toBe(5000);
  });

  it('honours initial, factor and max', () => {
    const policy = createBackoff({ initial: 10, factor: 3, max: 500, jitter: 'none' }, SLOT_BACKOFF);
    expect(schedule(policy, 6)).toEqual([10, 30, 90, 270, 500, 500]);
  });

  it('a user delay function replaces the policy; garbage from it falls back to the initial delay', () => {
    const policy = createBackoff({ delay: (attempt) => attempt * 7 }, SLOT_BACKOFF);
    expect(schedule(policy, 3)).toEqual([7, 14, 21]);
    const broken = createBackoff({ delay: () => Number.NaN }, SLOT_BACKOFF);
    expect(broken(1, Math.random)).toBe(100);
    const negative = createBackoff({ delay: () => -5 }, SLOT_BACKOFF);
    expect(negative(1, Math.random)).toBe(100);
  });

  it('jitter spreads 100 simultaneous reconnects', () => {
    const policy = createBackoff(undefined, SLOT_BACKOFF);
    const delays = new Set(Array.from({ length: 100 }, () => policy(5, Math.random)));
    expect(delays.size).toBeGreaterThan(50);
  });
});
