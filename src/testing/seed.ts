/**
 * The seed of a seeded test (random walks, fast-check properties): fixed, so
 * every run tries the same cases and a failure is a finding, not a draw;
 * printed with the result, so a failure replays; `LIFELINE_SEED` explores.
 *
 *   LIFELINE_SEED=random npx vitest run test/examples   # a fresh seed, printed
 *   LIFELINE_SEED=1234 npx vitest run test/examples     # replay one
 */

/** The seed used when `LIFELINE_SEED` is not set. */
export const DEFAULT_TEST_SEED = 20_260_614;

/** This run's seed: `LIFELINE_SEED` (an integer, or `random` for a fresh one), else `DEFAULT_TEST_SEED`. */
export function testSeed(env: string | undefined = process.env.LIFELINE_SEED): number {
  if (env === undefined || env === '') return DEFAULT_TEST_SEED;
  if (env === 'random') return Math.floor(Math.random() * 0x7fffffff);
  const seed = Number(env);
  if (!Number.isSafeInteger(seed)) throw new Error(`LIFELINE_SEED must be an integer or 'random', got ${JSON.stringify(env)}`);
  return seed;
}
