/**
 * The chaos soak: a pool and a fleet of feeds against fault servers on loopback,
 * under a seeded random schedule of faults, with the rules of DESIGN.md checked
 * all along, then a heal and a check that everything came back.
 *
 * ```
 *  setup: FaultHttpServer + FaultWsServers, pool (8 slots), feeds (20), callers (24)
 *  run (`seconds`): faults every gap ms; callers send; subscriptions churn;
 *                   every ~15 ms and at each caller event: invariants
 *  heal: faults stop, servers heal and listen again, callers finish their last operation
 *  check: pool full and every feed live within the bound (time to full health);
 *         each feed's open server connection holds its current subscriptions;
 *         no removed subscription re-sent; no POST key seen twice; a last round of GETs all succeed
 *  finally: everything closed
 * ```
 *
 * `runSoak` never throws for a broken rule: it returns every violation in the
 * summary, so a long run reports all it found, and the caller decides (the test
 * asserts none, the CLI exits 1).
 */
import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ClientPool, type PoolStats } from '../../src/index.js';
import { startFaultHttpServer, startFaultWsServer, type FaultHttpHandler, type FaultWsServer } from '../../src/testing/index.js';
import { supervisorViolations } from '../helpers/invariants.js';
import { Callers, sleep } from './callers.js';
import { FAULT_KINDS, FaultSchedule, type FaultKind } from './faults.js';
import { FeedFleet } from './feeds.js';
import { Rng } from './prng.js';

export interface SoakOptions {
  /** How long faults are injected (s). */
  seconds: number;
  seed: number;
  /** Pool slots. Default 8. */
  connections?: number;
  /** Feeds, spread over `wsServers` servers. Default 20 over 2. */
  feeds?: number;
  wsServers?: number;
  /** Concurrent caller loops. Default 24. */
  callers?: number;
  /** Called with a progress line every `progressEvery` ms (long runs). */
  progress?: (line: string) => void;
  progressEvery?: number;
}

export interface SoakSummary {
  seed: number;
  seconds: number;
  requests: { ok: number; failed: number; getOk: number; postOk: number; tryMisses: number; acquires: number };
  /** Request errors by code (all expected ones, else a violation says so). */
  errors: Record<string, number>;
  /** Feed errors by code. */
  feedErrors: Record<string, number>;
  faults: Record<FaultKind, number>;
  faultsTotal: number;
  maxAcquireWaitMs: number;
  /** From the heal to pool full and every feed live; undefined if not within the bound. */
  timeToFullHealthMs: number | undefined;
  postKeys: number;
  postKeysDuplicated: number;
  feedConnections: number;
  feedMessages: number;
  subscriptionChanges: number;
  /** `feed.send` calls resolved, and rejected with NOT_LIVE. */
  feedSends: { ok: number; notLive: number };
  maxLoopLagMs: number;
  heapMB: { first: number; max: number; last: number };
  violations: string[];
}

/** The soak's fixed configuration: small backoff caps and short heartbeats, so faults are met and healed many times a second. */
const POOL = { backoff: { initial: 5, max: 200 }, connectTimeout: 500, headersTimeout: 1_000, bodyTimeout: 1_000, drainTimeout: 1_000 } as const;
const FEED = {
  backoff: { initial: 5, max: 300 },
  heartbeat: { interval: 200, timeout: 150 },
  staleAfter: 600,
  connectTimeout: 1_000,
  maxMessageSize: 64 << 10,
} as const;
/** The WebSocket servers broadcast this often, so a healthy feed is never stale. */
const TICK_EVERY = 100;
const SAMPLE_EVERY = 15;
const HEAP_EVERY = 1_000;
/**
 * How often what the run has already checked is forgotten (ms): POST keys settled
 * more than the callers' postWindow (SETTLE_BOUND) ago, and the fault servers'
 * logs of closed connections (checked first). So the soak's own memory stays
 * flat, and its heap line shows lifeline's.
 */
const FORGET_EVERY = 1_000;
const CHURN_EVERY: [number, number] = [50, 250];
/** Slack on the bound past which a caller's operation counts as stuck; the acquire and abort checks are exact (callers.ts). */
const ACQUIRE_MARGIN = 250;
/**
 * Pool full and every feed live within this long after the heal (ms): the larger
 * backoff cap plus 3 s, which covers a black-holed request still holding its slot
 * until headersTimeout (1 s) and a black-holed handshake until connectTimeout (1 s).
 */
const HEAL_BOUND = Math.max(POOL.backoff.max, FEED.backoff.max) + 3_000;
/** Settling bounds that only a failing run reaches (ms). */
const SETTLE_BOUND = 10_000;
/** Violations listed in the summary, in all and of one kind (the same sentence but for its numbers); the rest are counted. */
const MAX_LISTED = 50;
const MAX_LISTED_OF_A_KIND = 3;

const mb = (bytes: number) => Math.round((bytes / (1 << 20)) * 10) / 10;

/** Answers GET /ticker with its nonce and POST /order with its key. */
const handler: FaultHttpHandler = (req, res) => {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://soak');
  res.setHeader('content-type', 'application/json');
  if (req.method === 'POST') res.end(JSON.stringify({ key: req.headers['idempotency-key'] }));
  else res.end(JSON.stringify({ n: url.searchParams.get('n') }));
};

/** Slot conservation, and no slot stopped on its own while the pool is open. */
function statsViolations(stats: PoolStats): string[] {
  const { healthy, busy, draining, connecting, backoff, poisoned, closed, connections } = stats;
  const out: string[] = [];
  if (healthy + busy + draining + connecting + backoff + poisoned + closed !== connections) out.push(`slots not conserved: ${JSON.stringify(stats)}`);
  if (closed !== 0) out.push(`a slot stopped while the pool is open: ${JSON.stringify(stats)}`);
  return out;
}

/** Whether `work` settled within `bound` ms (a rejection counts as settled: the caller reports what it needs). */
async function settlesWithin(work: Promise<unknown> | undefined, bound: number): Promise<boolean> {
  let settled = false;
  void work?.then(
    () => (settled = true),
    () => (settled = true),
  );
  return work === undefined || until(() => settled, bound);
}

/** Polls `condition` every 5 ms; true once it holds, false after `bound` ms. */
async function until(condition: () => boolean, bound: number): Promise<boolean> {
  const deadline = performance.now() + bound;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const { seconds, seed } = options;
  const connections = options.connections ?? 8;
  const rng = new Rng(seed);
  const violations: string[] = [];
  const kinds = new Map<string, number>();
  let violationCount = 0;
  const fail = (violation: string) => {
    violationCount++;
    // One broken rule fails at every event: list a few of each kind, so the other kinds still show.
    const kind = violation.replace(/[\d.]+/g, '#').slice(0, 80);
    const ofKind = (kinds.get(kind) ?? 0) + 1;
    kinds.set(kind, ofKind);
    if (ofKind <= MAX_LISTED_OF_A_KIND && violations.length < MAX_LISTED) violations.push(violation);
  };
  const onRejection = (reason: unknown) => fail(`unhandled rejection: ${String((reason as Error)?.stack ?? reason)}`);
  const onException = (error: Error) => fail(`uncaught exception: ${String(error?.stack ?? error)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  // First, largest and last samples: a long run keeps three numbers, not one per second.
  const first = heapUsed();
  const heap = { first, max: first, last: first };
  const sampleHeap = () => {
    heap.last = heapUsed();
    heap.max = Math.max(heap.max, heap.last);
  };
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => timers.push(setInterval(fn, ms));

  let http: Awaited<ReturnType<typeof startFaultHttpServer>> | undefined;
  const wsServers: FaultWsServer[] = [];
  let pool: ClientPool | undefined;
  let fleet: FeedFleet | undefined;
  let schedule: FaultSchedule | undefined;
  let callers: Callers | undefined;
  let timeToFullHealthMs: number | undefined;
  try {
    http = await startFaultHttpServer({ handler });
    // Counted before the faults: a black-holed POST was seen too. No POST is sent before the callers exist.
    http.server.prependListener('request', (req: http.IncomingMessage) => {
      if (req.method !== 'POST') return;
      const key = String(req.headers['idempotency-key']);
      if (callers) callers.posts.seen(key);
      else fail(`the server saw POST key ${key} before any caller ran`);
    });
    for (let i = 0; i < (options.wsServers ?? 2); i++) wsServers.push(await startFaultWsServer());
    const connecting = ClientPool.connect({ url: http.url, connections, ...POOL });
    if (!(await settlesWithin(connecting, SETTLE_BOUND))) throw new Error(`ClientPool.connect did not settle within ${SETTLE_BOUND} ms`);
    pool = await connecting;
    fleet = new FeedFleet(wsServers, options.feeds ?? 20, rng.fork(), FEED, fail);
    const livePool = pool;
    const liveFleet = fleet;

    const checkPool = (where: string) => {
      for (const violation of [...statsViolations(livePool.stats()), ...supervisorViolations(livePool)]) fail(`${where}: ${violation}`);
    };
    callers = new Callers(
      pool,
      {
        acquireTimeout: [50, 500],
        acquireMargin: ACQUIRE_MARGIN,
        requestBound: POOL.headersTimeout + POOL.bodyTimeout,
        postShare: 0.3,
        postWindow: SETTLE_BOUND,
      },
      fail,
      checkPool,
    );
    const liveCallers = callers;
    schedule = new FaultSchedule(http, wsServers, rng.fork(), { gap: [50, 400], duration: [100, 900], delay: [20, 1_400], oversizedBytes: 96 << 10 });

    // The feeds come up before the faults start: a feed that never got live is not what is tested.
    if (!(await until(() => liveFleet.unhealthy().length === 0, SETTLE_BOUND))) fail(`feeds not live at the start: ${liveFleet.unhealthy().join('; ')}`);

    let tick = 0;
    every(TICK_EVERY, () => {
      tick++;
      for (const server of wsServers) server.broadcast(`tick:${tick}`);
    });
    every(SAMPLE_EVERY, () => {
      checkPool('sample');
      for (const violation of liveFleet.stopped()) fail(`sample: ${violation}`);
      liveCallers.inFlight.flagOverdue(performance.now());
      liveFleet.sends.flagOverdue(performance.now());
    });
    every(HEAP_EVERY, sampleHeap);
    const liveHttp = http;
    every(FORGET_EVERY, () => {
      liveCallers.posts.prune(performance.now());
      liveFleet.checkClosed();
      liveHttp.forgetClosed();
    });
    const started = performance.now();
    if (options.progress) {
      const progress = options.progress;
      every(options.progressEvery ?? 10_000, () => {
        const s = livePool.stats();
        progress(
          `soak ${Math.round((performance.now() - started) / 1_000)} s: requests ok=${liveCallers.ok} failed=${liveCallers.failed} ` +
            `faults=${schedule!.total} slots healthy=${s.healthy}/${s.connections} feeds live=${liveFleet.feeds.length - liveFleet.unhealthy().length}/${liveFleet.feeds.length} ` +
            `heap=${mb(heap.last)}MB violations=${violationCount}`,
        );
      });
    }

    // --- the run
    let running = true;
    const churnRng = rng.fork();
    const churn = async () => {
      while (running) {
        await sleep(churnRng.int(...CHURN_EVERY));
        if (running) liveFleet.churn();
      }
    };
    const loops = Array.from({ length: options.callers ?? 24 }, (_, id) => liveCallers.run(id, rng.fork(), () => running));
    const churning = churn();
    schedule.start();
    await sleep(seconds * 1_000);

    // --- heal
    running = false;
    if (!(await settlesWithin(schedule.stop(), SETTLE_BOUND))) fail(`the fault schedule did not stop within ${SETTLE_BOUND} ms`);
    if (!(await settlesWithin(schedule.healAll(), SETTLE_BOUND))) fail(`the servers did not heal within ${SETTLE_BOUND} ms`);
    const healedAt = performance.now();
    let done = false;
    void Promise.allSettled([...loops, churning]).then(() => (done = true));
    if (!(await until(() => done && liveFleet.sends.size === 0, SETTLE_BOUND))) {
      fail(`still pending ${SETTLE_BOUND} ms after the run: ${[...liveCallers.inFlight.describe(), ...liveFleet.sends.describe()].join(', ')}`);
    }
    // The bound runs from the heal: the callers' last operations (a black-holed request until
    // headersTimeout) are part of the time to full health.
    const full = () => livePool.stats().healthy === connections && liveFleet.unhealthy().length === 0;
    if (await until(full, HEAL_BOUND - (performance.now() - healedAt))) {
      timeToFullHealthMs = Math.round(performance.now() - healedAt);
    } else {
      fail(`not back to full health within ${HEAL_BOUND} ms of the heal: pool ${JSON.stringify(livePool.stats())}, ${liveFleet.unhealthy().join('; ')}`);
    }
    checkPool('healed');

    // --- what the servers hold
    if (!(await until(() => liveFleet.currentProblems().length === 0, HEAL_BOUND))) {
      for (const problem of liveFleet.currentProblems()) fail(`after the heal: ${problem}`);
    }
    for (const problem of liveFleet.resentRemoved()) fail(problem);
    // The keys not yet checked and forgotten (the last postWindow of the run): every caller has settled.
    liveCallers.posts.finish();
    for (const error of schedule.errors) fail(`a fault control failed: ${error}`);

    // --- every connection serves again (twice as many GETs as slots: half wait their turn)
    const last = await Promise.allSettled(
      Array.from({ length: 2 * connections }, (_, i) => livePool.request({ path: '/ticker', query: { n: `last-${i}` }, timeout: SETTLE_BOUND })),
    );
    last.forEach((result, i) => {
      if (result.status === 'rejected') fail(`GET last-${i} after the heal rejected: ${String(result.reason)}`);
      else if ((result.value.json() as { n?: string }).n !== `last-${i}`) fail(`GET last-${i} after the heal got ${result.value.text()}`);
    });
    sampleHeap();
  } catch (error) {
    fail(`the soak itself failed: ${String((error as Error)?.stack ?? error)}`);
  } finally {
    for (const timer of timers) clearInterval(timer);
    // Each close is bounded too: a close that hangs is a finding, and the rest must still close.
    const closing: [string, () => Promise<unknown> | undefined][] = [
      ['the fault schedule', () => schedule?.stop()],
      ['the feeds', () => fleet?.close()],
      ['the pool', () => pool?.close()],
      ['the servers', () => Promise.allSettled([http?.close(), ...wsServers.map((server) => server.close())])],
    ];
    for (const [what, close] of closing) {
      if (!(await settlesWithin(close(), SETTLE_BOUND))) {
        fail(`${what} did not close within ${SETTLE_BOUND} ms: pool ${JSON.stringify(pool?.stats())}, feeds ${fleet?.feeds.map((f) => f.feed.state).join(',')}`);
      }
    }
    lag.disable();
    // A rejection or exception from the close itself is still the soak's: let it land first.
    await sleep(10);
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  }

  if (violationCount > violations.length) violations.push(`... ${violationCount} violations in all, of ${kinds.size} kinds`);
  return {
    seed,
    seconds,
    requests: {
      ok: callers?.ok ?? 0,
      failed: callers?.failed ?? 0,
      getOk: callers?.getOk ?? 0,
      postOk: callers?.postOk ?? 0,
      tryMisses: callers?.tryMisses ?? 0,
      acquires: callers?.acquires ?? 0,
    },
    errors: Object.fromEntries(callers?.errors ?? []),
    feedErrors: Object.fromEntries(fleet?.errors ?? []),
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, schedule?.counts[kind] ?? 0])) as Record<FaultKind, number>,
    faultsTotal: schedule?.total ?? 0,
    maxAcquireWaitMs: Math.round(callers?.maxAcquireWait ?? 0),
    timeToFullHealthMs,
    postKeys: callers?.posts.sent ?? 0,
    postKeysDuplicated: callers?.posts.duplicated ?? 0,
    feedConnections: fleet?.connections ?? 0,
    feedMessages: fleet?.messages ?? 0,
    subscriptionChanges: (fleet?.subscribes ?? 0) + (fleet?.unsubscribes ?? 0),
    feedSends: { ok: fleet?.sendsOk ?? 0, notLive: fleet?.sendsNotLive ?? 0 },
    maxLoopLagMs: Math.round(lag.max / 1e6),
    heapMB: { first: mb(heap.first), max: mb(heap.max), last: mb(heap.last) },
    violations,
  };
}

/** The one summary line. */
export function formatSummary(s: SoakSummary): string {
  const faults = Object.entries(s.faults)
    .map(([kind, n]) => `${kind}:${n}`)
    .join(',');
  return (
    `soak seed=${s.seed} seconds=${s.seconds} requests ok=${s.requests.ok} failed=${s.requests.failed} ` +
    `(get ok=${s.requests.getOk}, post ok=${s.requests.postOk}/${s.postKeys}, tryAcquire misses=${s.requests.tryMisses}) ` +
    `errors=${JSON.stringify(s.errors)} feedErrors=${JSON.stringify(s.feedErrors)} faults=${s.faultsTotal} {${faults}} ` +
    `maxAcquireWait=${s.maxAcquireWaitMs}ms (${s.requests.acquires} acquires) timeToFullHealth=${s.timeToFullHealthMs ?? 'never'}ms ` +
    `postKeysDuplicated=${s.postKeysDuplicated} feedConnections=${s.feedConnections} feedMessages=${s.feedMessages} ` +
    `subscriptionChanges=${s.subscriptionChanges} feedSends ok=${s.feedSends.ok} notLive=${s.feedSends.notLive} maxLoopLag=${s.maxLoopLagMs}ms heapMB=${s.heapMB.first}/${s.heapMB.max}/${s.heapMB.last} ` +
    `violations=${s.violations.length}`
  );
}

/**
 * The heap in use; after a full collection when the process runs with
 * --expose-gc (`npm run soak` does), so a growing number means memory kept, not
 * garbage not yet collected.
 */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}
