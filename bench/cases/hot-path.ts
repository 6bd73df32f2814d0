/**
 * Case 2: the hot path without I/O. One caller takes a free connection and
 * gives it back, over and over, on a pool of 4 with nothing in flight:
 * lifeline's tryAcquire + release (bare with `history: 0`, with a no-op XState
 * inspector, with the flight recorder of `history: 100`, the default), its awaited acquire, generic-pool's and
 * tarn's acquire/release (the reference: generic-pool), and a bare array (the floor). What a
 * `Governor` adds to a cycle is the governor case's row a (paired rounds, a venue-like governor).
 */
import { createPool } from 'generic-pool';
import { Pool as TarnPool } from 'tarn';
import { ClientPool } from '../../src/index.js';
import type { BenchCase } from '../lib/case.js';
import { alternate, opsPerSecond } from '../lib/rounds.js';
import { compareRates, rateColumns, rateRow, ratioOf } from '../lib/compare.js';

const SIZE = 4;
/** Cycles between two clock reads: the clock costs nothing next to a batch. */
const BATCH = 1_000;

interface HotContender {
  name: string;
  /** `n` acquire + release cycles, in a loop of the contender's own so its call sites stay monomorphic. */
  batch(n: number): void | Promise<void>;
  close(): Promise<void>;
}

const REFERENCE = 'generic-pool acquire + release';
const BARE = 'lifeline tryAcquire + release';
const INSPECTED = 'lifeline, no-op inspector attached';
const RECORDED = 'lifeline, history: 100 (recorder, the default)';

function lifelineTry(name: string, pool: ClientPool): HotContender {
  return {
    name,
    batch(n) {
      for (let i = 0; i < n; i++) pool.tryAcquire()!.release();
    },
    close: () => pool.close(),
  };
}

async function openContenders(origin: string): Promise<HotContender[]> {
  const bare = await ClientPool.connect({ url: origin, connections: SIZE, history: 0 });
  const inspected = await ClientPool.connect({ url: origin, connections: SIZE, history: 0 });
  // What any inspector costs, whatever it does: XState builds and delivers an inspection event per actor
  // step. Leases are applied to the ledger's state through its desk, not sent to its actor: none per cycle.
  inspected.actor.system.inspect(() => {});
  // The default: the flight recorder watches the slots (it attaches no inspector).
  const recorded = await ClientPool.connect({ url: origin, connections: SIZE, history: 100 });
  const awaited = await ClientPool.connect({ url: origin, connections: SIZE, history: 0 });

  const generic = createPool({ create: async () => ({}), destroy: async () => {} }, { min: SIZE, max: SIZE });
  await generic.ready();
  const tarn = new TarnPool({ create: async () => ({}), destroy: () => {}, min: SIZE, max: SIZE });
  const free = Array.from({ length: SIZE }, () => ({}));

  return [
    {
      name: 'bare array pop + push (floor)',
      batch(n) {
        for (let i = 0; i < n; i++) free.push(free.pop()!);
      },
      close: async () => {},
    },
    lifelineTry(BARE, bare),
    lifelineTry(INSPECTED, inspected),
    lifelineTry(RECORDED, recorded),
    {
      name: 'lifeline await acquire + release',
      async batch(n) {
        for (let i = 0; i < n; i++) (await awaited.acquire()).release();
      },
      close: () => awaited.close(),
    },
    {
      name: REFERENCE,
      async batch(n) {
        for (let i = 0; i < n; i++) void generic.release(await generic.acquire());
      },
      close: async () => {
        await generic.drain();
        await generic.clear();
      },
    },
    {
      name: 'tarn acquire + release',
      async batch(n) {
        for (let i = 0; i < n; i++) tarn.release(await tarn.acquire().promise);
      },
      close: async () => void (await tarn.destroy()),
    },
  ];
}

export const hotPathCase: BenchCase = {
  name: 'hot-path',
  title: 'The hot path without I/O: acquire + release',
  async run(context) {
    const contenders = await openContenders(context.server.origin);
    let rounds: Map<string, number[]>;
    try {
      rounds = await alternate(contenders, context.settings.rounds, (c) => opsPerSecond((n) => c.batch(n), context.settings.hotRoundMs, BATCH));
    } finally {
      for (const c of contenders) await c.close();
    }
    const compared = compareRates(rounds, REFERENCE);
    context.table({
      title: `acquire + release cycles, pool of ${SIZE}, one caller, nothing in flight`,
      columns: [...rateColumns('pool', 'cycles/s'), { key: 'ns', label: 'ns/cycle', format: 'int' }],
      rows: compared.map((c) => ({ ...rateRow(c), ns: 1e9 / c.rate.median })),
    });
    // A cycle's cost as a multiple of generic-pool's (the inverse of the rate ratio): the targets are stated in costs.
    const cost = (name: string) => 1 / ratioOf(compared, name);
    const vsGeneric = cost(BARE);
    context.target({
      name: 'hot path: tryAcquire + release vs generic-pool',
      goal: "cycle <= 2.00x generic-pool's",
      measured: `${vsGeneric.toFixed(2)}x`,
      pass: vsGeneric <= 2,
    });
    const inspector = cost(INSPECTED) / cost(BARE);
    const recorder = cost(RECORDED) / cost(BARE);
    context.target({
      name: 'hot path: the flight recorder attached (history: 100, the default)',
      goal: 'cycle <= 2.00x the bare one',
      measured: `${recorder.toFixed(2)}x`,
      pass: recorder <= 2,
    });
    context.target({
      name: 'hot path: a no-op XState inspector attached (pool.actor.system.inspect)',
      goal: 'cycle <= 2.00x the bare one',
      measured: `${inspector.toFixed(2)}x`,
      pass: inspector <= 2,
    });
  },
};
