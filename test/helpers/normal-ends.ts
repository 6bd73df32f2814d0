/**
 * The normal-ends harness (issue 14): drive a pool with concurrent callers
 * against a server that ends connections on purpose, then check that none of
 * those ends was taken for a failure. Shared by the fault-server tests
 * (`test/pool-normal-ends.test.ts`) and the real-server ones
 * (`test/peers/normal-ends.test.ts`).
 *
 * What is checked, after `pool.close()`:
 * - no slot entered backoff (the `backoffs` counter, every slot's state log, and the history);
 * - the failure count stayed 0;
 * - dials == closes: the server saw closed every connection it accepted, and the
 *   pool's `dials` equals the connections the server accepted;
 * - no request failed (every one answered 200 with the right body; POST bodies echoed);
 * - where the case implies ends, `cleanEnds` is at least the connections the
 *   server saw closed before `pool.close()` (each one had served a response),
 *   less one per slot (a connection the server had just closed when the pool
 *   closed may be counted as the pool's own close).
 *
 * Behaviour only: no wall-clock speed is asserted. The drive has a bound, far
 * above what a correct pool needs, so that a broken one fails with its stats
 * instead of a test timeout.
 */
import { expect } from 'vitest';
import type { ClientPool, LifelineResponse, PoolStats } from '../../src/index.js';
import { logSlot, type FaultHttpHandler, type StateLog } from '../../src/testing/index.js';
import type { SlotState } from '../../src/machines/slot.js';
import { isFull, waitForStats } from './pool.js';

/** What the pool has lived through since connect(), from its stats. */
export type Counters = Pick<PoolStats, 'dials' | 'cleanEnds' | 'failures' | 'backoffs' | 'resends' | 'replays'>;

export function counters(pool: ClientPool): Counters {
  const { dials, cleanEnds, failures, backoffs, resends, replays } = pool.stats();
  return { dials, cleanEnds, failures, backoffs, resends, replays };
}

/** One request of a caller, and the body it must come back with. */
export interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  expect: string;
}

/** The nth request (0-based) of caller `caller`. */
export type Plan = (caller: number, n: number) => Exchange;

/**
 * GETs and POSTs in turn, each with a body of its own: `GET /get/<c>-<n>` answers
 * `get:/get/<c>-<n>`, `POST /echo` with `order <c>-<n>` answers `post:order <c>-<n>`
 * (`echoHandler` on a fault server; the echo upstream behind nginx; the counting
 * python server).
 */
export const echoPlan: Plan = (caller, n) => {
  const id = `${caller}-${n}`;
  return n % 2 === 0
    ? { method: 'GET', path: `/get/${id}`, expect: `get:/get/${id}` }
    : { method: 'POST', path: '/echo', body: `order ${id}`, expect: `post:order ${id}` };
};

/** What `echoPlan` expects of a server, for a fault server. */
export const echoHandler: FaultHttpHandler = (req, res) => {
  if (req.method !== 'POST') {
    res.end(`get:${req.url}`);
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => res.end(`post:${body}`));
};

/** How the callers reach a connection: `pool.request`, or a lease of their own. */
export type Via = 'request' | 'lease';

export interface Load {
  callers: number;
  requests: number;
  via: Via;
  plan?: Plan;
  /**
   * `performance.now()` after which callers start no new request: bounds a failing
   * run, never a passing one. One budget may serve every drive of a test (`budget()`).
   */
  stopAt?: number;
}

/** What the callers saw: every request that did not come back 200 with its body, described. */
export interface Outcome {
  sent: number;
  ok: number;
  failed: string[];
}

export const emptyOutcome = (): Outcome => ({ sent: 0, ok: 0, failed: [] });

/** Ms a test may spend driving its callers: far more than a correct pool needs, so that a broken one fails with its stats, not a test timeout. */
export const DRIVE_BUDGET = 10_000;

/** A `stopAt` for the drives of one test. */
export const budget = (ms = DRIVE_BUDGET) => performance.now() + ms;

/** Ms left of a budget (at least `floor`). */
export const left = (stopAt: number, floor = 100) => Math.max(floor, stopAt - performance.now());

async function send(pool: ClientPool, via: Via, exchange: Exchange): Promise<LifelineResponse> {
  const { method, path, body } = exchange;
  if (via === 'request') return pool.request({ method, path, body });
  const lease = pool.tryAcquire() ?? (await pool.acquire());
  try {
    return await lease.request({ method, path, body });
  } finally {
    lease.release();
  }
}

/** Sends one exchange and adds what came of it to `outcome`. */
export async function exchange(pool: ClientPool, via: Via, what: Exchange, outcome: Outcome, label: string): Promise<void> {
  outcome.sent++;
  try {
    const res = await send(pool, via, what);
    const text = res.text();
    if (res.status === 200 && text === what.expect) outcome.ok++;
    else outcome.failed.push(`${label} ${what.method} ${what.path}: ${res.status} ${JSON.stringify(text.slice(0, 80))}`);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    outcome.failed.push(`${label} ${what.method} ${what.path}: ${code ?? 'error'} ${message ?? String(error)}`);
  }
}

/** `load.callers` callers, each sending `load.requests` requests one after another; adds to `outcome`. */
export async function drive(pool: ClientPool, load: Load, outcome: Outcome = emptyOutcome(), round = 0): Promise<Outcome> {
  const plan = load.plan ?? echoPlan;
  const stopAt = load.stopAt ?? budget();
  let unstarted = 0;
  await Promise.all(
    Array.from({ length: load.callers }, async (_, caller) => {
      for (let n = 0; n < load.requests; n++) {
        if (performance.now() > stopAt) {
          unstarted += load.requests - n;
          return;
        }
        await exchange(pool, load.via, plan(caller, round * load.requests + n), outcome, `caller ${caller}`);
      }
    }),
  );
  if (unstarted > 0) outcome.failed.push(`${unstarted} requests never started: the test ran out of its drive budget`);
  return outcome;
}

/**
 * Bursts of callers (`load`), each followed by `pause()`, in which the server
 * ends connections while nothing is in transit; then a last burst. Every drive
 * shares one budget and one outcome.
 */
export async function burstsWithPauses(pool: ClientPool, load: Load, pauses: number, pause: (outcome: Outcome, stopAt: number) => Promise<void>): Promise<Outcome> {
  const outcome = emptyOutcome();
  const stopAt = load.stopAt ?? budget();
  for (let round = 0; ; round++) {
    await drive(pool, { ...load, stopAt }, outcome, round);
    if (round === pauses) return outcome;
    await pause(outcome, stopAt);
  }
}

/**
 * Responses held across a close: `handler` answers `/slow/...` (as `inner` would)
 * only once `release()` follows `hold()`; every other request at once.
 */
export function heldResponses(inner: FaultHttpHandler = echoHandler) {
  let gate = Promise.resolve();
  let open = () => {};
  const handler: FaultHttpHandler = (req, res) => {
    if (req.url?.startsWith('/slow')) void gate.then(() => inner(req, res));
    else inner(req, res);
  };
  return {
    handler,
    hold: () => void (gate = new Promise<void>((resolve) => (open = resolve))),
    release: () => open(),
  };
}

/** A GET and a POST to `/slow/...`, answered when `heldResponses` releases them; each adds to `outcome`. */
export function slowPair(pool: ClientPool, via: Via, round: number, outcome: Outcome): Promise<void>[] {
  return [
    exchange(pool, via, { method: 'GET', path: `/slow/get-${round}`, expect: `get:/slow/get-${round}` }, outcome, 'slow'),
    exchange(pool, via, { method: 'POST', path: '/slow/echo', body: `slow ${round}`, expect: `post:slow ${round}` }, outcome, 'slow'),
  ];
}

/** Every slot's state log, from now on: a backoff that lasts a millisecond is still seen. */
export function watchSlots(pool: ClientPool): StateLog<SlotState>[] {
  return Array.from({ length: pool.stats().connections }, (_, i) => logSlot(pool, i));
}

/** Connections a server accepted, and how many of those are still open. */
export interface ConnectionCounts {
  /** Undefined when the server cannot tell (then `CheckOptions.dials` bounds the pool's dials instead). */
  accepted: number | undefined;
  open: number;
}

export type CountConnections = () => ConnectionCounts | Promise<ConnectionCounts>;

/** Polls `count` until the server has seen every connection it accepted closed, or `timeout` ms passed; the last counts. */
async function settledCounts(count: CountConnections, timeout = 5_000): Promise<ConnectionCounts> {
  const deadline = performance.now() + timeout;
  for (;;) {
    const counts = await count();
    if (counts.open === 0 || performance.now() > deadline) return counts;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface CheckOptions {
  /** The case ends connections: the server must have closed some before `pool.close()`, and each is a clean end. */
  ends: boolean;
  /** For a server that does not count what it accepted: the connections it ended before `pool.close()`. */
  endedBefore?: number;
  /** For a server that does not count what it accepted: the least and most dials it implies. */
  dials?: [min: number, max: number];
}

/** The failure message: everything needed to tell a broken core from a broken test. */
function describeRun(pool: ClientPool, outcome: Outcome, extra: Record<string, unknown>): string {
  const history = pool.history();
  return JSON.stringify(
    {
      // A counter the core does not have (yet) shows as null.
      counters: counters(pool),
      stats: pool.stats(),
      requests: { sent: outcome.sent, ok: outcome.ok, failed: outcome.failed.length, first: outcome.failed.slice(0, 5) },
      ...extra,
      historyTail: history.slice(-8).map((r) => `${r.actor}: ${r.from} > ${r.to} (${r.event}${r.reason ? `: ${r.reason}` : ''})`),
    },
    (_key, value: unknown) => (value === undefined ? null : value),
    1,
  );
}

/**
 * Closes the pool and checks the four rules of a normal end (see the top of this
 * file). Every rule is one field of a single `toEqual`, so a failure shows all
 * that went wrong at once, with the stats.
 */
export async function closeAndCheck(
  pool: ClientPool,
  count: CountConnections,
  outcome: Outcome,
  slots: StateLog<SlotState>[],
  options: CheckOptions,
): Promise<void> {
  // Every slot has healed: no dial is under way when the pool closes (one the server accepted
  // and the pool then aborted would count on one side only).
  await waitForStats(pool, isFull);
  const before = await count();
  await pool.close();
  const after = await settledCounts(count);
  const c = counters(pool);
  const enteredBackoff = slots.flatMap((log, i) => (log.entered.includes('backoff') ? [`slot ${i}: ${log.entered.join(' > ')}`] : []));
  const historyBackoffs = pool.history().filter((r) => r.to === 'backoff').length;
  const message = describeRun(pool, outcome, { server: { beforeClose: before, afterClose: after }, enteredBackoff });
  const dials = after.accepted ?? options.dials;
  const dialsMatch = typeof dials === 'number' ? c.dials === dials : c.dials !== undefined && c.dials >= dials![0] && c.dials <= dials![1];
  expect(
    {
      failedRequests: outcome.failed.length,
      backoffs: c.backoffs,
      enteredBackoff,
      historyBackoffs,
      failures: c.failures,
      dials: dialsMatch ? dials : c.dials,
      serverOpen: after.open,
    },
    message,
  ).toEqual({
    failedRequests: 0,
    backoffs: 0,
    enteredBackoff: [],
    historyBackoffs: 0,
    failures: 0,
    dials,
    serverOpen: 0,
  });
  expect(outcome.ok, message).toBe(outcome.sent);
  if (options.ends) {
    // The case did end connections, and each of those served a response first.
    const ended = options.endedBefore ?? before.accepted! - before.open;
    expect(ended, message).toBeGreaterThan(0);
    expect(c.cleanEnds, message).toBeGreaterThanOrEqual(ended - pool.stats().connections);
  }
}
