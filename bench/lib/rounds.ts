/**
 * Rounds that alternate the contenders within one process run. Each round runs
 * every contender once; the one that goes first rotates, so none always runs
 * on a colder (or warmer) machine. One unrecorded warm-up pass comes first,
 * for the JIT and for the connections.
 *
 * No forced GC between passes: V8 shrinks the young generation after one, and
 * the next contender then ran up to 5x slower (measured), paying for scavenges
 * until it grew back.
 */
export interface Named {
  name: string;
}

export async function alternate<C extends Named, S>(
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C) => Promise<S>,
): Promise<Map<string, S[]>> {
  for (const contender of contenders) await measure(contender);
  const samples = new Map<string, S[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(round + i) % contenders.length]!;
      samples.get(contender.name)!.push(await measure(contender));
    }
  }
  return samples;
}

/**
 * Operations per second over one time-boxed round: `batch(n)` runs `n` operations, in a loop of the
 * contender's own so its call sites stay monomorphic; the clock is read once a batch.
 */
export async function opsPerSecond(batch: (n: number) => void | Promise<void>, durationMs: number, size: number): Promise<number> {
  let ops = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  let now = start;
  while (now < deadline) {
    await batch(size);
    ops += size;
    now = performance.now();
  }
  return ops / ((now - start) / 1e3);
}
