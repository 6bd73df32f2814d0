/**
 * Case: the request budget (issue 18's bench). Three questions, each with its peers side by side:
 *
 * a. What an in-process `Governor` adds to the hot path: `tryAcquire()` + `release()` on a pool
 *    with a venue-like governor (two windows, an order reserve, room left) against the same pool
 *    without one, alternated, medians; the awaited `acquire()` the same way. Goal: < 100 ns added.
 * b. What a Redis-shared budget costs per acquire: `pool.acquire()` + `release()` on a governor with
 *    `redisStore` (one atomic script per acquire, its cancel sent unawaited) against a bare Redis
 *    PING round trip on the same client (the floor) and the in-process governor; a real
 *    `redis-server` on 127.0.0.1 and a free port (test/peers/redis-server.ts).
 * c. A saturated fleet against a venue that counts arrivals (its own process,
 *    test/peers/arrival-server.ts): 4 pools in this process on one governor, then 4 processes x 2
 *    pools on one Redis budget (the fleet test's processes, test/fixtures/fleet-process.ts, run with
 *    tsx: the budget, not their CPU, limits them). Each reports the budget used (arrivals in whole
 *    windows from the first, over what the windows allow) and the most arrivals in any span of a
 *    window. Goal: none over the budget, and at least 90% of it used.
 */
import { createClient } from 'redis';
import { ClientPool, Governor, redisStore, type GovernorOptions } from '../../src/index.js';
import { launchArrivalServer, maxInWindow } from '../../test/peers/arrival-server.js';
import { runFleetProcess } from '../../test/peers/fleet.js';
import { launchRedis } from '../../test/peers/redis-server.js';
import { saturate } from '../../test/helpers/saturate.js';
import type { BenchCase, CaseContext } from '../lib/case.js';
import { alternate, opsPerSecond } from '../lib/rounds.js';
import { median, summarize } from '../lib/stats.js';

const SIZE = 4;
/** Cycles between two clock reads in the hot-path rounds. */
const BATCH = 1_000;
/** A venue's limits (request weight per minute and per 10 s) with a fifth kept for orders: a cycle never spends, so it never fills. */
const VENUE: GovernorOptions = { windows: [{ weight: 6_000, per: 60_000 }, { weight: 300, per: 10_000 }], reserve: { order: 0.2 } };

const UNGOVERNED = 'no governor';
const GOVERNED = 'in-process governor (2 windows, room left)';
const PING = 'Redis PING round trip (floor)';
const SHARED = 'governor on redisStore';

/** The fleets' budget: weight 1 a request, CAP per PER ms, in every span of PER ms. */
const CAP = 200;
const PER = 1_000;
const FLEET_PROCESSES = 4;
/** Time for every fleet process to start (tsx) and connect before the run begins. */
const LEAD = 3_000;

interface Timed {
  name: string;
  /** `n` operations. */
  batch(n: number): void | Promise<void>;
}

/** ns per operation over one time-boxed round. */
async function nsPerOp(contender: Timed, durationMs: number, batch: number): Promise<number> {
  return 1e9 / (await opsPerSecond((n) => contender.batch(n), durationMs, batch));
}

/** The per-round differences `with - without` (rounds alternate, so each pair ran close together), and their median. */
function added(samples: Map<string, number[]>, withName: string, withoutName: string): { median: number; min: number; max: number } {
  const a = samples.get(withName)!;
  const b = samples.get(withoutName)!;
  const diffs = a.map((x, i) => x - b[i]!);
  return { median: median(diffs), min: Math.min(...diffs), max: Math.max(...diffs) };
}

async function hotPath(context: CaseContext): Promise<void> {
  const origin = context.server.origin;
  const bare = await ClientPool.connect({ url: origin, connections: SIZE, history: 0 });
  const governed = await ClientPool.connect({ url: origin, connections: SIZE, history: 0, governor: new Governor(VENUE) });
  const awaitedBare = await ClientPool.connect({ url: origin, connections: SIZE, history: 0 });
  const awaitedGoverned = await ClientPool.connect({ url: origin, connections: SIZE, history: 0, governor: new Governor(VENUE) });
  const tryCycle = (name: string, pool: ClientPool): Timed => ({
    name,
    batch(n) {
      for (let i = 0; i < n; i++) pool.tryAcquire()!.release();
    },
  });
  const awaitCycle = (name: string, pool: ClientPool): Timed => ({
    name,
    async batch(n) {
      for (let i = 0; i < n; i++) (await pool.acquire()).release();
    },
  });
  const pools = [bare, governed, awaitedBare, awaitedGoverned];
  try {
    const measure = (c: Timed) => nsPerOp(c, context.settings.hotRoundMs, BATCH);
    const sync = await alternate([tryCycle(UNGOVERNED, bare), tryCycle(GOVERNED, governed)], context.settings.rounds, measure);
    const awaited = await alternate([awaitCycle(UNGOVERNED, awaitedBare), awaitCycle(GOVERNED, awaitedGoverned)], context.settings.rounds, measure);
    const syncAdded = added(sync, GOVERNED, UNGOVERNED);
    const awaitedAdded = added(awaited, GOVERNED, UNGOVERNED);
    const row = (cycle: string, samples: Map<string, number[]>, name: string, diff?: { median: number; min: number; max: number }) => {
      const ns = summarize(samples.get(name)!);
      return { cycle, pool: name, ns: ns.median, min: ns.min, max: ns.max, added: diff?.median, addedMin: diff?.min, addedMax: diff?.max, samples: ns.samples };
    };
    context.table({
      title: `a. the hot path: ns per acquire + release, pool of ${SIZE}, one caller, nothing in flight`,
      note:
        'The governor: windows 6,000 per 60 s and 300 per 10 s, reserve.order 0.2; a cycle takes weight 1 and gives it back. ' +
        'Added: the median over rounds of (governed - bare) in the same round.',
      columns: [
        { key: 'cycle', label: 'cycle', format: 'text' },
        { key: 'pool', label: 'pool', format: 'text' },
        { key: 'ns', label: 'ns median', format: 'int' },
        { key: 'min', label: 'min', format: 'int' },
        { key: 'max', label: 'max', format: 'int' },
        { key: 'added', label: 'ns added', format: 'int' },
      ],
      rows: [
        row('tryAcquire + release', sync, UNGOVERNED),
        row('tryAcquire + release', sync, GOVERNED, syncAdded),
        row('await acquire + release', awaited, UNGOVERNED),
        row('await acquire + release', awaited, GOVERNED, awaitedAdded),
      ],
    });
    context.target({
      name: 'governor: in-process, tryAcquire + release',
      goal: 'adds < 100 ns per acquire',
      measured: `${syncAdded.median.toFixed(0)} ns (rounds ${syncAdded.min.toFixed(0)} to ${syncAdded.max.toFixed(0)})`,
      pass: syncAdded.median < 100,
    });
  } finally {
    for (const pool of pools) await pool.close();
  }
}

async function redisRoundTrip(context: CaseContext): Promise<void> {
  const redis = await launchRedis();
  const client = createClient({ url: redis.url, disableOfflineQueue: true });
  client.on('error', () => {});
  const pools: ClientPool[] = [];
  try {
    await client.connect();
    const origin = context.server.origin;
    const room = [{ weight: 1_000_000_000, per: 60_000 }];
    // A loaded machine may hold a reply past the default 200 ms: the governor would fall back to its local
    // share, and these rounds would time that instead of the round trip.
    const shared = await ClientPool.connect({ url: origin, connections: SIZE, history: 0, governor: new Governor({ windows: room, store: redisStore(client, { key: 'bench', timeout: 5_000 }) }) });
    const local = await ClientPool.connect({ url: origin, connections: SIZE, history: 0, governor: new Governor({ windows: room }) });
    pools.push(shared, local);
    const cycle = (name: string, pool: ClientPool): Timed => ({
      name,
      async batch(n) {
        for (let i = 0; i < n; i++) (await pool.acquire()).release();
      },
    });
    const contenders: Timed[] = [
      {
        name: PING,
        async batch(n) {
          for (let i = 0; i < n; i++) await client.sendCommand(['PING']);
        },
      },
      cycle(SHARED, shared),
      cycle(GOVERNED, local),
    ];
    // Round trips take tens of us: rounds twice a hot-path round, batches of 50.
    const samples = await alternate(contenders, context.settings.rounds, (c) => nsPerOp(c, context.settings.hotRoundMs * 2, 50));
    const floor = median(samples.get(PING)!);
    context.table({
      title: 'b. a shared budget: us per await acquire + release, Redis on 127.0.0.1, one caller',
      note: 'redis-server (Debian) on a free port, node-redis; one Lua script per acquire, the cancel at release sent without waiting; the store\'s timeout 5 s, so a loaded machine never turns it degraded here. Ratio: to a PING.',
      columns: [
        { key: 'contender', label: 'acquire', format: 'text' },
        { key: 'us', label: 'us median', format: 'num' },
        { key: 'min', label: 'min', format: 'num' },
        { key: 'max', label: 'max', format: 'num' },
        { key: 'ratio', label: 'ratio', format: 'ratio' },
      ],
      rows: contenders.map(({ name }) => {
        const s = summarize(samples.get(name)!.map((ns) => ns / 1e3));
        return { contender: name, us: s.median, min: s.min, max: s.max, ratio: (s.median * 1e3) / floor, samples: s.samples };
      }),
    });
  } finally {
    for (const pool of pools) await pool.close();
    client.destroy();
    await redis.stop();
  }
}

interface FleetRun {
  fleet: string;
  sent: number;
  refused: number;
  times: number[];
  /** Times a process found Redis unreachable (a call over 200 ms: a loaded machine) and ran on its local share. */
  degradations: number;
}

async function inProcessFleet(duration: number): Promise<FleetRun> {
  const venue = await launchArrivalServer();
  const governor = new Governor({ windows: [{ weight: CAP, per: PER }] });
  const pools: ClientPool[] = [];
  try {
    for (let i = 0; i < 4; i++) pools.push(await ClientPool.connect({ url: venue.url, connections: 4, governor, acquireTimeout: 300 }));
    const counts = await saturate(pools, 4, performance.now() + duration);
    return { fleet: '4 pools, one process, one in-process governor', ...counts, times: await venue.arrivals(), degradations: 0 };
  } finally {
    for (const pool of pools) await pool.close();
    venue.stop();
  }
}

async function redisFleet(duration: number): Promise<FleetRun> {
  const redis = await launchRedis();
  const venue = await launchArrivalServer();
  try {
    const args = [redis.url, venue.url, 'bench-fleet', String(CAP), String(PER), String(Date.now() + LEAD), String(duration)];
    const children = await Promise.all(Array.from({ length: FLEET_PROCESSES }, () => runFleetProcess(args)));
    return {
      degradations: children.reduce((sum, c) => sum + c.stats.degradations, 0),
      fleet: `${FLEET_PROCESSES} processes x 2 pools, one Redis budget`,
      sent: children.reduce((sum, c) => sum + c.sent, 0),
      refused: children.reduce((sum, c) => sum + c.refused, 0),
      times: await venue.arrivals(),
    };
  } finally {
    venue.stop();
    await redis.stop();
  }
}

async function fleets(context: CaseContext): Promise<void> {
  const windows = context.settings.quick ? 2 : 3;
  const duration = windows * PER;
  const runs = [await inProcessFleet(duration), await redisFleet(duration)];
  const rows = runs.map((run) => {
    const first = Math.min(...run.times);
    const used = run.times.filter((t) => t < first + windows * PER).length / (windows * CAP);
    const peak = maxInWindow(run.times, PER);
    return { fleet: run.fleet, arrived: run.times.length, refused: run.refused, used: used * 100, peak, over: Math.max(0, peak - CAP), degradations: run.degradations };
  });
  context.table({
    title: `c. saturated fleets against a venue counting arrivals: budget ${CAP} per ${PER} ms, ${windows} windows`,
    note:
      'Each pool: 4 connections, 4 callers sending one request after another (RATE_LIMITED and ACQUIRE_TIMEOUT counted as refused, and the caller goes on). ' +
      'Used: arrivals in whole windows from the first, over what they allow. Peak: the most arrivals in any span of a window. ' +
      'Redis lost: times a process found Redis unreachable (no answer in 200 ms) and spent on its local share meanwhile (README, "Shared across processes").',
    columns: [
      { key: 'fleet', label: 'fleet', format: 'text' },
      { key: 'arrived', label: 'arrived', format: 'int' },
      { key: 'refused', label: 'refused', format: 'int' },
      { key: 'used', label: 'budget used %', format: 'num' },
      { key: 'peak', label: `peak per ${PER} ms`, format: 'int' },
      { key: 'over', label: 'over budget', format: 'int' },
      { key: 'degradations', label: 'Redis lost', format: 'int' },
    ],
    rows,
  });
  for (const row of rows) {
    context.target({
      name: `governor fleet: ${row.fleet}`,
      goal: `0 over budget (${CAP} per ${PER} ms), >= 90% of it used`,
      measured: `${row.over} over (peak ${row.peak}), ${row.used.toFixed(1)}% used${row.degradations > 0 ? `, Redis lost ${row.degradations} times` : ''}`,
      pass: row.over === 0 && row.used >= 90,
    });
  }
}

export const governorCase: BenchCase = {
  name: 'governor',
  title: 'Rate limits: the governor',
  async run(context) {
    // GOVERNOR_ROWS=a,c runs only those parts: for exploring one figure (or running one at another priority).
    const rows = new Set((process.env.GOVERNOR_ROWS ?? 'abc').split(/[\s,]*/).filter(Boolean));
    if (rows.has('a')) await hotPath(context);
    if (rows.has('b')) await redisRoundTrip(context);
    if (rows.has('c')) await fleets(context);
  },
};
