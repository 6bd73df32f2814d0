/**
 * The seed of every property test (fast-check). Fixed, so `npm test` runs the
 * same cases every time and a failure is a finding, not a draw; printed, so a
 * failure replays. `LIFELINE_SEED=<integer>` runs another seed,
 * `LIFELINE_SEED=random` a fresh one (printed too), to explore:
 *
 *   LIFELINE_SEED=random npx vitest run test/fuzz
 *
 * ```ts
 * await fc.assert(fc.asyncProperty(arb, check), propertyParams('request options', { numRuns: 200 }));
 * ```
 */
import type fc from 'fast-check';
import { DEFAULT_TEST_SEED, testSeed } from '../../src/testing/seed.js';

/** The seed `npm test` uses. */
export const DEFAULT_SEED = DEFAULT_TEST_SEED;

/** The seed this run uses: LIFELINE_SEED if set, else the default (the testing kit's own `testSeed`). */
export const propertySeed = testSeed;

const seed = propertySeed();

/** fast-check parameters with this run's seed, which is printed with the property's name. */
export function propertyParams<T>(name: string, params: fc.Parameters<T> = {}): fc.Parameters<T> {
  console.log(`property "${name}": seed ${seed} (replay: LIFELINE_SEED=${seed}; explore: LIFELINE_SEED=random)`);
  return { ...params, seed };
}
