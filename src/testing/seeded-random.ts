/**
 * A seeded random source, for the `random` option of pools and feeds and for
 * fault schedules: the same seed gives the same jitter and the same faults, so a
 * failing run can be replayed. mulberry32: 32 bits of state, period 2^32, fast,
 * and plenty for spreading timers (not for anything secret).
 *
 * ```ts
 * const pool = await ClientPool.connect({ url, random: seededRandom(42) });
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
