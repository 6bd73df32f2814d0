/**
 * Acquire, release, drop and heal in every order. Each interleaving runs on a
 * real pool (3 slots on real loopback sockets, the pool's timers on xstate's
 * SimulatedClock) and is checked after every step against a reference model of
 * the supervisor written here: a LIFO free list and a FIFO waiter queue in plain
 * arrays. The model says which waiter gets which slot, which waiters time out or
 * are aborted, and in what order the free list hands slots out; the pool must agree
 * step by step, keep its slots conserved, and keep the supervisor's invariants.
 *
 * Deterministic: a dropped socket parks its slot in `backoff` (its second retry
 * timer is on the simulated clock), and the heal is its own step that fires that timer.
 * No step waits real time for a deadline.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedClock } from 'xstate';
import { ClientPool, isLifelineError, type Lease } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { expectSupervisorInvariants, ledgerOf, slotStates } from '../helpers/invariants.js';
import { expectConserved, waitFor } from '../helpers/pool.js';

const CONNECTIONS = 3;
/** Every waiter's acquire deadline, on the simulated clock (ms). */
const DEADLINE = 5_000;
const DRAIN = 1_000;

type Outcome = { kind: 'pending' } | { kind: 'granted'; slot: number } | { kind: 'rejected'; code: string };

const FREE = 'free';
const DOWN = 'down';

/**
 * The reference: what the supervisor must do, in arrays. `holder[slot]` is the
 * name of the lease holding the slot, or FREE, or DOWN (socket dead, not yet healed).
 * Lease names: `L0..L2` (the first three leases), `W1..` (waiters), `X..` (later tryAcquires).
 */
class SupervisorModel {
  /** Healthy unleased slots; the last one is handed out next (LIFO). */
  readonly free: number[] = [];
  /** Waiter names, first come first served. */
  readonly queue: string[] = [];
  readonly holder: string[];
  readonly slotOf = new Map<string, number>();
  readonly released = new Set<string>();
  readonly outcomes = new Map<string, Outcome>();

  /** The cases this run went through, to check the enumeration covers them all. */
  constructor(
    connections: number,
    private readonly seen: Set<string>,
  ) {
    this.holder = Array.from({ length: connections }, () => FREE);
  }

  hold(name: string, slot: number): void {
    this.holder[slot] = name;
    this.slotOf.set(name, slot);
  }

  enqueue(name: string): void {
    this.queue.push(name);
    this.outcomes.set(name, { kind: 'pending' });
  }

  /** A slot that became available goes to the first waiter, or on top of the free list. */
  #serve(slot: number, how: string): void {
    const waiter = this.queue.shift();
    if (waiter !== undefined) {
      this.hold(waiter, slot);
      this.outcomes.set(waiter, { kind: 'granted', slot });
      this.seen.add(`${how} -> first waiter`);
    } else {
      this.holder[slot] = FREE;
      this.free.push(slot);
      this.seen.add(`${how} -> free list`);
    }
  }

  release(name: string): void {
    if (this.released.has(name)) {
      this.seen.add('release twice');
      return;
    }
    this.released.add(name);
    const slot = this.slotOf.get(name)!;
    if (this.holder[slot] !== name) {
      this.seen.add('stale release (the slot died under the lease)');
      return;
    }
    this.#serve(slot, 'release');
  }

  drop(slot: number): void {
    const holder = this.holder[slot]!;
    if (holder === FREE) {
      this.free.splice(this.free.indexOf(slot), 1);
      this.seen.add('drop of a free slot');
    } else {
      this.seen.add(`drop of a slot held by ${holder.startsWith('W') ? 'a waiter' : 'its first lease'}`);
    }
    this.holder[slot] = DOWN;
  }

  heal(slot: number): void {
    this.#serve(slot, 'heal');
  }

  abort(name: string): void {
    const index = this.queue.indexOf(name);
    if (index < 0) {
      this.seen.add('abort after the grant (no effect)');
      return;
    }
    this.queue.splice(index, 1);
    this.outcomes.set(name, { kind: 'rejected', code: 'ACQUIRE_ABORTED' });
    this.seen.add('abort while queued');
  }

  /** Every waiter shares one deadline: all still queued are refused at once. */
  expire(): void {
    for (const name of this.queue.splice(0)) {
      this.outcomes.set(name, { kind: 'rejected', code: 'ACQUIRE_TIMEOUT' });
      this.seen.add('timeout at the deadline');
    }
  }

  tryAcquire(name: string): number | undefined {
    const slot = this.free.pop();
    if (slot !== undefined) this.hold(name, slot);
    return slot;
  }

  stats() {
    const held = this.holder.filter((h) => h !== FREE && h !== DOWN).length;
    const down = this.holder.filter((h) => h === DOWN).length;
    return { healthy: this.free.length, busy: held, down, waiting: this.queue.length, closed: 0 };
  }
}

interface Family {
  name: string;
  waiters: number;
  /** `R<i>` releases L<i>; `D<i>` drops the socket of L<i>'s slot; `H<i>` heals it; `A<i>` aborts W<i>. */
  ops: string[];
  /** Cases every ordering taken together must go through. */
  covers: string[];
}

const FAMILIES: Family[] = [
  {
    name: 'five waiters behind three busy slots; one waiter aborts; a busy slot dies and heals',
    waiters: 5,
    ops: ['R0', 'R1', 'D0', 'H0', 'A3'],
    covers: [
      'release -> first waiter',
      'heal -> first waiter',
      'drop of a slot held by its first lease',
      'drop of a slot held by a waiter',
      'stale release (the slot died under the lease)',
      'abort while queued',
      'abort after the grant (no effect)',
      'timeout at the deadline',
      'release twice',
    ],
  },
  {
    name: 'one waiter; the other slots go to the free list; a slot dies busy or free and heals',
    waiters: 1,
    ops: ['R0', 'R1', 'R2', 'D1', 'H1'],
    covers: [
      'release -> first waiter',
      'release -> free list',
      'heal -> first waiter',
      'heal -> free list',
      'drop of a free slot',
      'drop of a slot held by its first lease',
      'drop of a slot held by a waiter',
      'stale release (the slot died under the lease)',
      'release twice',
    ],
  },
];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** Every order of the family's operations in which a slot is healed only after it was dropped. */
function orderings(ops: readonly string[]): string[][] {
  return permutations(ops).filter((order) =>
    order.every((op, i) => op[0] !== 'H' || order.slice(0, i).includes(`D${op.slice(1)}`)),
  );
}

/** Lets promise callbacks (grants, refusals) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

let interleavingsRun = 0;

async function runInterleaving(family: Family, order: string[], seen: Set<string>): Promise<void> {
  const label = `[${family.name}] ${order.join(' ')}`;
  // The server answers with the client's port, so a test knows which server socket is which slot's.
  const server = await startHttpServer((req, res) => res.end(String(req.socket.remotePort)));
  const clock = new SimulatedClock();
  const pool = await ClientPool.connect({
    url: server.url,
    connections: CONNECTIONS,
    clock,
    acquireTimeout: DEADLINE,
    drainTimeout: DRAIN,
    backoff: { initial: 10, max: 10, jitter: 'none' },
  });
  onTestFinished(async () => {
    const closing = pool.close();
    clock.increment(DRAIN); // a failed run may leave leases held: end the drain
    await closing;
  });

  const model = new SupervisorModel(CONNECTIONS, seen);
  const leases = new Map<string, Lease>();
  const ports = new Map<number, number>();
  for (let i = 0; i < CONNECTIONS; i++) {
    const lease = pool.tryAcquire();
    expect(lease, label).toBeDefined();
    leases.set(`L${i}`, lease!);
    model.hold(`L${i}`, lease!.slot);
  }
  for (const lease of leases.values()) ports.set(lease.slot, Number((await lease.request({ path: '/' })).text()));
  expect(new Set(ports.keys()).size, label).toBe(CONNECTIONS);

  interface RealWaiter {
    outcome: Outcome;
    settles: number;
    controller: AbortController;
  }
  const waiters = new Map<string, RealWaiter>();
  for (let i = 1; i <= family.waiters; i++) {
    const name = `W${i}`;
    const waiter: RealWaiter = { outcome: { kind: 'pending' }, settles: 0, controller: new AbortController() };
    waiters.set(name, waiter);
    pool.acquire({ timeout: DEADLINE, signal: waiter.controller.signal }).then(
      (lease) => {
        waiter.settles++;
        waiter.outcome = { kind: 'granted', slot: lease.slot };
        leases.set(name, lease);
      },
      (error: unknown) => {
        waiter.settles++;
        waiter.outcome = { kind: 'rejected', code: isLifelineError(error) ? error.code : `not a LifelineError: ${String(error)}` };
      },
    );
    model.enqueue(name);
  }

  const slotOfFirstLease = (n: string) => leases.get(`L${n}`)!.slot;
  const stateOf = (slot: number) => slotStates(pool)[slot];
  const retryDelayOf = (slot: number) => pool.actor.getSnapshot().context.slots[slot]!.getSnapshot().context.retryDelay;

  async function check(step: string): Promise<void> {
    await flush();
    const where = `${label} | after ${step}`;
    const stats = pool.stats();
    expectConserved(stats);
    expect(
      {
        healthy: stats.healthy,
        busy: stats.busy,
        down: stats.connecting + stats.backoff + stats.poisoned,
        waiting: stats.waiting,
        closed: stats.closed,
      },
      where,
    ).toEqual(model.stats());
    // The supervisor's own free list is the reference LIFO list, element by element.
    expect(ledgerOf(pool).free, where).toEqual(model.free);
    const outcomes = Object.fromEntries([...waiters].map(([name, w]) => [name, w.outcome]));
    expect(outcomes, where).toEqual(Object.fromEntries(model.outcomes));
    for (const [name, w] of waiters) expect(w.settles, `${where}: ${name} settled ${w.settles} times`).toBeLessThanOrEqual(1);
    expectSupervisorInvariants(pool, where);
  }

  await check('setup');

  for (const op of order) {
    const n = op.slice(1);
    switch (op[0]) {
      case 'R':
        leases.get(`L${n}`)!.release();
        model.release(`L${n}`);
        break;
      case 'D': {
        const slot = slotOfFirstLease(n);
        const socket = [...server.sockets].find((s) => s.remotePort === ports.get(slot));
        expect(socket, `${label}: server socket of slot ${slot}`).toBeDefined();
        // A connection that served, closed by the server: a clean end, redialed at once. The server
        // refuses that dial and the immediate retry after it (a 0 ms timer needs no clock), so the
        // slot waits in backoff (its second retry timer, 10 ms, is on the simulated clock) until
        // the heal step.
        await server.refuse();
        socket!.destroy();
        model.drop(slot);
        await waitFor(
          () => stateOf(slot) === 'backoff' && retryDelayOf(slot) === 10,
          () => ({ label, states: slotStates(pool) }),
        );
        break;
      }
      case 'H': {
        const slot = slotOfFirstLease(n);
        const delay = retryDelayOf(slot);
        // The first retry after a healthy spell was immediate; the second waits the policy's 10 ms.
        expect(delay, label).toBe(10);
        await server.accept();
        clock.increment(delay);
        model.heal(slot);
        await waitFor(
          () => stateOf(slot) === 'healthy' || stateOf(slot) === 'busy',
          () => ({ label, states: slotStates(pool) }),
        );
        break;
      }
      case 'A':
        waiters.get(`W${n}`)!.controller.abort();
        model.abort(`W${n}`);
        break;
      default:
        throw new Error(`unknown op ${op}`);
    }
    await check(op);
  }

  // Deadlines: nobody is refused a millisecond early; everyone still queued is refused at the deadline.
  // The waiters queued at time 0; a heal step moved the clock by its retry delay.
  clock.increment(DEADLINE - 1 - clock.now());
  await check('the clock reaching 1 ms before the deadline');
  clock.increment(1);
  model.expire();
  await check('the deadline');
  for (const [name, w] of waiters) expect(w.settles, `${label}: ${name} settles exactly once`).toBe(1);

  // Release everything held, in the order the leases were handed out. A lease
  // whose slot died is stale: its release is ignored, whoever holds the slot now.
  const names = [...leases.keys()];
  for (const name of names) {
    leases.get(name)!.release();
    model.release(name);
    await check(`release ${name}`);
  }
  // Twice: idempotent, no error, the free list is unchanged.
  for (const name of names) {
    leases.get(name)!.release();
    model.release(name);
    await check(`second release ${name}`);
  }
  await expect(leases.get('L0')!.request({ path: '/' }), label).rejects.toMatchObject({ code: 'LEASE_RELEASED' });

  // Drain the free list: the most recently released slot first, every slot exactly once.
  const drained: Lease[] = [];
  for (let lease = pool.tryAcquire(); lease; lease = pool.tryAcquire()) {
    const expected = model.tryAcquire(`X${drained.length}`);
    expect(lease.slot, `${label}: tryAcquire #${drained.length}`).toBe(expected);
    drained.push(lease);
  }
  expect(model.tryAcquire('none'), `${label}: the model still has free slots`).toBeUndefined();
  expect(drained.map((lease) => lease.slot).sort(), label).toEqual([0, 1, 2]);
  await check('draining the free list');

  // A double release pushes the slot once: one tryAcquire gets it back, the next gets nothing.
  const [x0, x1, x2] = drained as [Lease, Lease, Lease];
  x0.release();
  x0.release();
  model.release('X0');
  model.release('X0');
  await check('releasing X0 twice');
  const again = pool.tryAcquire();
  expect(again?.slot, label).toBe(model.tryAcquire('X3'));
  expect(pool.tryAcquire(), label).toBeUndefined();
  again!.release();
  model.release('X3');
  await check('releasing X3');

  // close() with x1 and x2 held: refuses new acquires at once and waits for the leases.
  const closing = pool.close();
  let thrown: unknown;
  try {
    pool.tryAcquire();
  } catch (error) {
    thrown = error;
  }
  expect(isLifelineError(thrown, 'POOL_CLOSED'), label).toBe(true);
  await expect(pool.acquire({ timeout: 10 }), label).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  x1.release();
  x1.release();
  await flush();
  expect(pool.actor.getSnapshot().matches('closing'), `${label}: close waits for x2`).toBe(true);
  // x2 is never released in time: the drain deadline closes the pool anyway.
  clock.increment(DRAIN);
  await closing;
  x2.release(); // after close: a no-op, no error
  x2.release();
  const stats = pool.stats();
  expectConserved(stats);
  expect(stats, label).toMatchObject({ closed: CONNECTIONS, healthy: 0, busy: 0, waiting: 0 });
  await expect(x2.request({ path: '/' }), label).rejects.toMatchObject({ code: 'LEASE_RELEASED' });
  interleavingsRun++;
}

for (const family of FAMILIES) {
  describe(family.name, () => {
    const cases = orderings(family.ops);
    const seen = new Set<string>();
    let ran = 0;

    it.each(cases.map((order) => [order.join(' '), order] as const))('%s', async (_name, order) => {
      await runInterleaving(family, order, seen);
      ran++;
    });

    it('the orderings together cover every case', () => {
      console.log(`${family.name}: ${ran} of ${cases.length} interleavings ran (${interleavingsRun} in this file so far)`);
      expect(cases.length).toBe(60);
      expect(ran).toBe(cases.length);
      for (const covered of family.covers) expect(seen, covered).toContain(covered);
    });
  });
}
