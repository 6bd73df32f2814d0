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

/** The seed `npm test` uses. */
export const DEFAULT_SEED = 20_260_614;

/** The seed this run uses: LIFELINE_SEED if set, else the default. */
export function propertySeed(env: string | undefined = process.env.LIFELINE_SEED): number {
  if (env === undefined || env === '') return DEFAULT_SEED;
  if (env === 'random') return Math.floor(Math.random() * 0x7fffffff);
  const seed = Number(env);
  if (!Number.isSafeInteger(seed)) throw new Error(`LIFELINE_SEED must be an integer or 'random', got ${JSON.stringify(env)}`);
  return seed;
}

const seed = propertySeed();

/** fast-check parameters with this run's seed, which is printed with the property's name. */
export function propertyParams<T>(name: string, params: fc.Parameters<T> = {}): fc.Parameters<T> {
  console.log(`property "${name}": seed ${seed} (replay: LIFELINE_SEED=${seed}; explore: LIFELINE_SEED=random)`);
  return { ...params, seed };
}
