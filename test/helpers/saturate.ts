/**
 * Saturates pools: `loops` callers per pool, each sending one request after another until `until`
 * (performance.now(); a function is read before each request, for an end a test sets as it goes); a refusal (RATE_LIMITED, or ACQUIRE_TIMEOUT: more callers than connections,
 * and a loaded machine's slot wait is not what these runs measure) is counted and the caller goes on.
 */
import { performance } from 'node:perf_hooks';
import { isLifelineError, type ClientPool } from '../../src/index.js';

export async function saturate(pools: ClientPool[], loops: number, until: number | (() => number)): Promise<{ sent: number; refused: number }> {
  const counts = { sent: 0, refused: 0 };
  const end = typeof until === 'number' ? () => until : until;
  const loop = async (pool: ClientPool) => {
    while (performance.now() < end()) {
      try {
        await pool.request({ path: '/' });
        counts.sent++;
      } catch (error) {
        if (!isLifelineError(error) || (error.code !== 'RATE_LIMITED' && error.code !== 'ACQUIRE_TIMEOUT')) throw error;
        counts.refused++;
      }
    }
  };
  await Promise.all(pools.flatMap((pool) => Array.from({ length: loops }, () => loop(pool))));
  return counts;
}
