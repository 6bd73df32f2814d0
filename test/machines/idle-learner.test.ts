/**
 * The server's idle timeout, learned from the idle connections it closes: on its own
 * (pure bookkeeping, times passed in) and in the lease ledger, on the ledger's clock.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromTransition } from 'xstate';
import { IdleLearner, LEARN_FLOOR, RESTART_WINDOW } from '../../src/machines/idle-learner.js';
import { ledgerLogic, SWEEP_INTERVAL, type AcquireReply } from '../../src/machines/ledger.js';
import type { SlotConnection } from '../../src/machines/slot.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool } from '../helpers/pool.js';

/** `observe` each close at its time, then let the restart window pass. */
function learn(learner: IdleLearner, closes: [at: number, idleFor: number][]): IdleLearner {
  for (const [at, idleFor] of closes) learner.observe(at, idleFor);
  learner.confirm(closes.at(-1)![0] + RESTART_WINDOW + 1);
  return learner;
}

describe('IdleLearner', () => {
  it('learns a limit from three idle closes within 10% of each other: the shortest', () => {
    expect(learn(new IdleLearner(4), [[1_000, 1_020], [3_000, 1_000], [5_000, 1_050]]).limit).toBe(1_000);
  });

  it('learns nothing from two, from scattered ones, or from closes under the floor', () => {
    expect(learn(new IdleLearner(4), [[1_000, 1_000], [3_000, 1_000]]).limit).toBe(Infinity);
    expect(learn(new IdleLearner(4), [[1_000, 1_000], [3_000, 2_000], [5_000, 1_500]]).limit).toBe(Infinity);
    const fast = LEARN_FLOOR - 1;
    expect(learn(new IdleLearner(4), [[1_000, fast], [3_000, fast], [5_000, fast]]).limit).toBe(Infinity);
  });

  it('a close of every connection at once is a restart, not a timeout: nothing learned from it', () => {
    const learner = new IdleLearner(3);
    // Three restarts, each closing all three connections within the window, after the same idle time.
    for (const at of [10_000, 20_000, 30_000]) learn(learner, [[at, 1_000], [at + 5, 1_000], [at + 10, 1_000]]);
    expect(learner.limit).toBe(Infinity);
    // The same idle closes one at a time are the server's timer.
    learn(learner, [[40_000, 1_000], [42_000, 1_000], [44_000, 1_000]]);
    expect(learner.limit).toBe(1_000);
  });

  it('a busy connection ending in the same window still makes it a restart (every connection ended)', () => {
    const learner = new IdleLearner(2);
    learner.observe(1_000, 1_000);
    learner.observe(1_050, -1);
    learner.confirm(2_000);
    learn(learner, [[3_000, 1_000], [5_000, 1_000]]);
    // Only two samples count: the first went with the restart.
    expect(learner.limit).toBe(Infinity);
  });

  it('forget() drops the limit and the samples: three fresh closes are needed again', () => {
    const learner = learn(new IdleLearner(4), [[1_000, 1_000], [3_000, 1_000], [5_000, 1_000]]);
    learner.forget();
    expect(learner.limit).toBe(Infinity);
    learn(learner, [[7_000, 1_000], [9_000, 1_000]]);
    expect(learner.limit).toBe(Infinity);
  });
});

/** A ledger of four slots on a clock the test moves. */
function startLedger() {
  const slots = Array.from({ length: 4 }, () =>
    createActor(fromTransition((seen: string[], event: { type: string }) => [...seen, event.type], [])).start(),
  );
  const parent = createActor(fromTransition((s: number) => s, 0)).start();
  const clock = { now: 0 };
  const ledger = createActor(ledgerLogic, {
    input: { slots, parent, strategy: 'lifo', idleTimeout: 0, maxConnectionAge: 0, now: () => clock.now, random: () => 0.5 },
  }).start();
  const connection = (): SlotConnection => ({ destroy: () => {}, retire: () => {}, closed: Promise.resolve(), onEnd: () => () => {} });
  const ready = (slot: number) => ledger.send({ type: 'slot.ready', slot, connection: connection() });
  /** Leases `slot` (it must be the warmest free one) and releases it: it has served. */
  const serve = (slot: number) => {
    let granted: [number, number] | undefined;
    const reply: AcquireReply = { granted: (s, lease) => (granted = [s, lease]), refused: () => {} };
    ledger.send({ type: 'acquire', mode: 'try', waiter: 0, reply });
    expect(granted?.[0]).toBe(slot);
    ledger.send({ type: 'release', slot, lease: granted![1], recycle: false, keepAlive: -1, settlesAt: -1 });
  };
  /** A try acquire's grant: [slot, lease]. */
  const lease = (): [number, number] => {
    let granted: [number, number] | undefined;
    ledger.send({ type: 'acquire', mode: 'try', waiter: 0, reply: { granted: (s, l) => (granted = [s, l]), refused: () => {} } });
    return granted!;
  };
  const release = ([slot, lease]: [number, number]) => ledger.send({ type: 'release', slot, lease, recycle: false, keepAlive: -1, settlesAt: -1 });
  const context = () => ledger.getSnapshot().context;
  const told = (slot: number) => slots[slot]!.getSnapshot().context;
  /** The server closed `slot` after it sat idle `idleFor` ms; it comes back at once with a new connection. */
  const closedIdle = (slot: number, idleFor: number) => {
    ledger.send({ type: 'slot.down', slot, idleFor });
    ready(slot);
  };
  const sweepAt = (now: number) => {
    clock.now = now;
    ledger.send({ type: 'sweep' });
  };
  return { ledger, clock, ready, serve, lease, release, context, told, closedIdle, sweepAt };
}

describe('the ledger with a learned idle timeout', () => {
  it('learns the server closes idle connections after 1 s, and recycles a served one half a second early', () => {
    const { ready, lease, release, context, told, closedIdle, sweepAt } = startLedger();
    for (let slot = 0; slot < 4; slot++) ready(slot);
    closedIdle(3, 1_010);
    sweepAt(2_000);
    closedIdle(3, 1_000);
    sweepAt(4_000);
    closedIdle(3, 1_030);
    sweepAt(6_000);
    expect(context().learner.limit).toBe(1_000);
    // Connections that served are taken out before the server's 1 s (less a margin of half of it):
    // one is kept, unused, as the probe that would show the limit wrong; the others are recycled.
    const [a, b] = [lease(), lease()];
    release(a);
    release(b);
    sweepAt(6_000 + 500 - SWEEP_INTERVAL - 1);
    expect([told(2), told(3), context().free]).toEqual([[], [], [0, 1, 3, 2]]);
    sweepAt(6_000 + 500 - SWEEP_INTERVAL);
    expect(context().probe).toBe(2);
    expect(told(3)).toEqual(['recycle']);
    // One that never served is left alone: the server's idle timeout starts with a request.
    expect([told(0), told(1), context().free]).toEqual([[], [], [0, 1]]);
  });

  it('learns nothing when the server closes every connection at once (a restart)', () => {
    const { ready, context, closedIdle, sweepAt } = startLedger();
    for (let slot = 0; slot < 4; slot++) ready(slot);
    for (const at of [1_000, 3_000, 5_000]) {
      sweepAt(at);
      for (let slot = 0; slot < 4; slot++) closedIdle(slot, 1_000);
    }
    sweepAt(7_000);
    expect(context().learner.limit).toBe(Infinity);
  });

  it('forgets the limit when a probe connection outlives it', () => {
    const { ready, serve, context, told, closedIdle, sweepAt } = startLedger();
    for (let slot = 0; slot < 4; slot++) ready(slot);
    for (const at of [1_000, 3_000, 5_000]) {
      sweepAt(at);
      closedIdle(3, 1_000);
    }
    sweepAt(6_000);
    expect(context().learner.limit).toBe(1_000);
    // The server's timeout went up: slot 3 serves and idles. The sweep keeps it, unused, as a probe.
    serve(3);
    sweepAt(6_400);
    expect(context().probe).toBe(3);
    expect(context().free).not.toContain(3);
    expect(told(3)).toEqual([]);
    // Past the limit plus its margin, and the server has not closed it: the limit was wrong.
    sweepAt(6_000 + 1_500);
    expect(context().learner.limit).toBe(Infinity);
    expect(context().probe).toBe(-1);
    expect(context().free).toContain(3);
  });
});

describe('a pool against a server with a silent idle timeout', () => {
  it('learns it from the closes, then recycles idle connections before it: no POST lost, nothing counted a failure', async () => {
    const server = await startHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => res.end(body));
    });
    server.idleTimeout(600);
    const pool = await openPool({ url: server.url, connections: 2 });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const answers: string[] = [];
    // One caller, POSTs 0.9-1.1x the server's idle time apart, never within 60 ms of it (a request
    // crossing the server's close in flight is the stale race, which no client can win for a POST).
    // Learning takes three closes within 10% of each other: 60 ms of slack for a loaded machine.
    for (let i = 0; i < 10; i++) {
      answers.push((await pool.request({ method: 'POST', path: '/order', body: `order ${i}` })).text());
      await sleep(i % 2 === 0 ? 540 : 660);
    }
    expect(answers).toEqual(Array.from({ length: 10 }, (_, i) => `order ${i}`));
    expect(pool.learnedIdleTimeout).toBeGreaterThanOrEqual(600 * 0.9);
    expect(pool.learnedIdleTimeout).toBeLessThanOrEqual(600 * 1.1);
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
  }, 15_000);
});
