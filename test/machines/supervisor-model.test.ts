/**
 * Model-based test of the supervisor machine and its lease ledger (issue 17, item 9):
 * random sequences of what a pool lives through (dials that succeed or fail, acquires
 * that try or wait, releases, close, time passing) drive the real supervisor, its real
 * slots and ledger, and after every step the system must be where a reference model
 * written here says: the pool's mode, each slot's state, the LIFO free list, every
 * caller's answer, the dials under way.
 *
 * The model is plain arrays and the rules of DESIGN.md, computed independently of the
 * machines' context: an eager pool runs once every slot has connected and closes on a
 * first failed dial, a lazy one runs at once; a slot's first retry is immediate, later
 * ones wait the policy's delay; `close` refuses waiters and later acquires, and the pool
 * is closed once the last lease ends or at `drainTimeout`, whichever comes first.
 *
 * The dials are the test's: a `ConnectionDialer` whose outcomes the steps choose, as
 * `slot-machine.test.ts` does (the machines are pure; sockets are the pool's business,
 * model-tested on real ones in slot-model.test.ts). Time is xstate's SimulatedClock, so
 * every step is synchronous and a run takes microseconds. Property runs use the fixed,
 * printed seed (`LIFELINE_SEED` explores).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import type { ErrorCode } from '../../src/errors.js';
import type { AcquireReply } from '../../src/machines/ledger.js';
import { slotState, type ConnectionDialer, type DialOutcome, type SlotConnection } from '../../src/machines/slot.js';
import { supervisorMachine, type SupervisorActor } from '../../src/machines/supervisor.js';
import { propertyParams } from '../helpers/seed.js';

const CONNECTIONS = 3;
const DRAIN_TIMEOUT = 500;
/** The policy's delay for every retry after the first (which a slot makes at once). */
const RETRY_DELAY = 50;

type Mode = 'starting' | 'running' | 'closing' | 'closed';
type SlotModel = 'connecting' | 'healthy' | 'backoff' | 'closed';
type Answer = { kind: 'pending' } | { kind: 'none' } | { kind: 'granted'; slot: number } | { kind: 'refused'; code: ErrorCode };

type Op =
  | { kind: 'dialDone'; slot: number }
  | { kind: 'dialFail'; slot: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'try' }
  | { kind: 'wait' }
  | { kind: 'release'; nth: number }
  | { kind: 'close' };

/** What the supervisor must do, in plain arrays. */
class Reference {
  mode: Mode;
  readonly slots: SlotModel[] = Array.from({ length: CONNECTIONS }, () => 'connecting');
  readonly attempts: number[] = new Array<number>(CONNECTIONS).fill(0);
  readonly due: number[] = new Array<number>(CONNECTIONS).fill(0);
  readonly connectedOnce: boolean[] = new Array<boolean>(CONNECTIONS).fill(false);
  /** Healthy unleased slots; the last one is handed out next (LIFO). */
  free: number[] = [];
  /** Outstanding leases, in the order granted: the caller's index and the slot. */
  readonly leases: { caller: number; slot: number }[] = [];
  /** Queued `wait` callers, first come first served. */
  readonly waiters: number[] = [];
  readonly answers: Answer[] = [];
  now = 0;
  drainAt = Infinity;

  constructor(
    readonly lazy: boolean,
    private readonly seen: Set<string>,
  ) {
    this.mode = lazy ? 'running' : 'starting';
    if (lazy) seen.add('lazy: running at once');
  }

  get ready(): number {
    return this.connectedOnce.filter(Boolean).length;
  }

  #grant(caller: number, slot: number): void {
    this.leases.push({ caller, slot });
    this.answers[caller] = { kind: 'granted', slot };
  }

  /** A slot that became available goes to the first waiter, or on top of the free list. */
  #offer(slot: number): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) this.#grant(waiter, slot);
    else this.free.push(slot);
  }

  #closeAll(how: string): void {
    this.mode = 'closed';
    this.slots.fill('closed');
    this.seen.add(how);
  }

  dialDone(slot: number): void {
    this.slots[slot] = 'healthy';
    this.connectedOnce[slot] = true;
    if (this.mode !== 'closing') this.#offer(slot);
    if (this.mode === 'starting' && this.ready >= CONNECTIONS) {
      this.mode = 'running';
      this.seen.add('eager: running once every slot connected');
    }
  }

  dialFail(slot: number): void {
    this.attempts[slot]!++;
    this.slots[slot] = 'backoff';
    this.due[slot] = this.now + (this.attempts[slot]! <= 1 ? 0 : RETRY_DELAY);
    if (this.mode === 'starting' && !this.lazy) this.#closeAll('eager: closed by a failed first dial');
    else this.seen.add(`a failed dial while ${this.mode}`);
  }

  advance(ms: number): void {
    const to = this.now + ms;
    // Retries due before the drain deadline are dialed; at the deadline everything closes.
    const until = Math.min(to, this.drainAt);
    for (let slot = 0; slot < CONNECTIONS; slot++) {
      if (this.slots[slot] === 'backoff' && this.due[slot]! <= until) this.slots[slot] = 'connecting';
    }
    this.now = to;
    if (this.mode === 'closing' && this.drainAt <= to) this.#closeAll('closing -> closed at drainTimeout');
  }

  acquire(caller: number, mode: 'try' | 'wait'): void {
    if (this.mode === 'closing') {
      this.answers[caller] = { kind: 'refused', code: 'POOL_CLOSED' };
      this.seen.add('acquire refused while closing');
      return;
    }
    const slot = this.free.pop();
    if (slot !== undefined) this.#grant(caller, slot);
    else if (mode === 'wait') {
      this.answers[caller] = { kind: 'pending' };
      this.waiters.push(caller);
    } else this.answers[caller] = { kind: 'none' };
  }

  release(nth: number): { caller: number; slot: number } {
    const [lease] = this.leases.splice(nth, 1);
    if (this.mode === 'closing') {
      if (this.leases.length === 0) this.#closeAll('closing -> closed when the last lease ends');
    } else {
      this.seen.add(this.waiters.length > 0 ? 'release hands the slot to the first waiter' : 'release frees the slot');
      this.#offer(lease!.slot);
    }
    return lease!;
  }

  close(): void {
    if (this.mode === 'closing') {
      this.seen.add('close while closing is ignored');
      return;
    }
    this.mode = 'closing';
    this.drainAt = this.now + DRAIN_TIMEOUT;
    for (const waiter of this.waiters.splice(0)) this.answers[waiter] = { kind: 'refused', code: 'POOL_CLOSED' };
    this.free = [];
    if (this.leases.length === 0) this.#closeAll('close with no lease out: closed at once');
    else this.seen.add('close with leases out: closing');
  }
}

/** A connection the machines only hand around. */
const connection = (): SlotConnection => ({ destroy: () => {}, retire: () => {}, closed: Promise.resolve(), onEnd: () => {} });

/** The real system: the supervisor machine with its slots and ledger, dials settled by the steps. */
function startReal(lazy: boolean) {
  const clock = new SimulatedClock();
  const dials = new Map<number, (outcome: DialOutcome) => void>();
  const dialer: ConnectionDialer = {
    dial: (index, report) => void dials.set(index, report),
    cancel: (index) => void dials.delete(index),
  };
  const supervisor: SupervisorActor = createActor(supervisorMachine, {
    clock,
    input: {
      dialer,
      options: {
        connections: CONNECTIONS,
        strategy: 'lifo',
        lazy,
        drainTimeout: DRAIN_TIMEOUT,
        idleTimeout: 0,
        maxConnectionAge: 0,
        backoff: () => RETRY_DELAY,
        random: () => 0.5,
        now: () => clock.now(),
        stableAfter: 1_000,
      },
    },
  }).start();
  const answers: Answer[] = [];
  const leaseNumbers: number[] = [];
  const settle = (index: number, outcome: DialOutcome) => {
    const report = dials.get(index);
    expect(report, `slot ${index} has a dial under way`).toBeDefined();
    dials.delete(index);
    report!(outcome);
  };
  const acquire = (caller: number, mode: 'try' | 'wait') => {
    answers[caller] = mode === 'wait' ? { kind: 'pending' } : { kind: 'none' };
    const reply: AcquireReply = {
      granted: (slot, lease) => {
        answers[caller] = { kind: 'granted', slot };
        leaseNumbers[caller] = lease;
      },
      refused: (code) => void (answers[caller] = { kind: 'refused', code }),
    };
    supervisor.getSnapshot().context.ledger.send({ type: 'acquire', mode, waiter: caller, reply });
  };
  const mode = (): Mode => {
    const snapshot = supervisor.getSnapshot();
    if (snapshot.status !== 'active') return 'closed';
    return snapshot.matches('closing') ? 'closing' : snapshot.matches({ open: 'running' }) ? 'running' : 'starting';
  };
  return { clock, supervisor, dials, answers, leaseNumbers, settle, acquire, mode };
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.nat(CONNECTIONS - 1).map((slot): Op => ({ kind: 'dialDone', slot })) },
  { weight: 2, arbitrary: fc.nat(CONNECTIONS - 1).map((slot): Op => ({ kind: 'dialFail', slot })) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, RETRY_DELAY - 1, RETRY_DELAY, DRAIN_TIMEOUT - 1, DRAIN_TIMEOUT).map((ms): Op => ({ kind: 'advance', ms })) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: 'try' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: 'wait' }) },
  { weight: 3, arbitrary: fc.nat(3).map((nth): Op => ({ kind: 'release', nth })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'close' }) },
);

/** Runs `ops` on a fresh system and the reference side by side, checking after every step. */
function runOps(lazy: boolean, ops: Op[], seen: Set<string>): void {
  const real = startReal(lazy);
  const model = new Reference(lazy, seen);
  let callers = 0;
  const done: string[] = [];
  try {
    const check = () => {
      const where = `${lazy ? 'lazy' : 'eager'} pool after ${done.join(', ') || 'start'}`;
      expect(real.mode(), where).toBe(model.mode);
      const slots = real.supervisor.getSnapshot().context.slots.map((slot) => slotState(slot.getSnapshot()));
      expect(slots, where).toEqual(model.slots);
      expect(real.answers, where).toEqual(model.answers);
      // Once closed the slots are stopped with the supervisor; the pool closes its dialer itself.
      if (model.mode === 'closed') return;
      // A slot in `connecting` has exactly one dial under way; no other slot has one.
      const dialing = model.slots.flatMap((s, i) => (s === 'connecting' ? [i] : []));
      expect([...real.dials.keys()].sort(), where).toEqual(dialing);
      expect(real.supervisor.getSnapshot().context.ledger.getSnapshot().context.free, where).toEqual(model.free);
    };
    check();
    for (const op of ops) {
      // A step the system cannot take where it is (no dial to settle, no lease to release) is skipped.
      switch (op.kind) {
        case 'dialDone':
        case 'dialFail':
          if (model.mode === 'closed' || model.slots[op.slot] !== 'connecting') continue;
          if (op.kind === 'dialDone') {
            real.settle(op.slot, { type: 'dial.done', connection: connection() });
            model.dialDone(op.slot);
          } else {
            real.settle(op.slot, { type: 'dial.error', error: new Error('ECONNREFUSED') });
            model.dialFail(op.slot);
          }
          break;
        case 'advance':
          real.clock.increment(op.ms);
          model.advance(op.ms);
          break;
        case 'try':
        case 'wait':
          if (model.mode === 'closed') continue;
          real.acquire(callers, op.kind);
          model.acquire(callers++, op.kind);
          break;
        case 'release': {
          if (model.mode === 'closed' || model.leases.length === 0) continue;
          const { caller, slot } = model.release(op.nth % model.leases.length);
          real.supervisor
            .getSnapshot()
            .context.ledger.send({ type: 'release', slot, lease: real.leaseNumbers[caller]!, recycle: false, keepAlive: -1, settlesAt: -1 });
          break;
        }
        case 'close':
          if (model.mode === 'closed') continue;
          real.supervisor.send({ type: 'close' });
          model.close();
          break;
      }
      done.push(op.kind === 'advance' ? `advance(${op.ms})` : op.kind === 'release' ? 'release' : 'slot' in op ? `${op.kind}(${op.slot})` : op.kind);
      check();
    }
  } finally {
    real.supervisor.stop();
  }
}

describe('supervisor machine, model-based', () => {
  const seen = new Set<string>();

  it.each([
    ['eager', false],
    ['lazy', true],
  ] as const)('an %s pool follows the reference model through random steps', (name, lazy) => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 40 }), (ops) => runOps(lazy, ops, seen)),
      propertyParams(`supervisor model (${name})`, { numRuns: 300 }),
    );
  });

  it('an eager pool starts once its last slot connects, not before', () => {
    const ops: Op[] = [{ kind: 'dialDone', slot: 0 }, { kind: 'dialDone', slot: 1 }, { kind: 'try' }, { kind: 'dialDone', slot: 2 }];
    runOps(false, ops, seen);
  });

  it('closing waits for the last lease up to drainTimeout, to the millisecond', () => {
    const live: Op[] = [0, 1, 2].map((slot) => ({ kind: 'dialDone', slot }));
    runOps(false, [...live, { kind: 'try' }, { kind: 'close' }, { kind: 'advance', ms: DRAIN_TIMEOUT - 1 }, { kind: 'advance', ms: 1 }], seen);
    runOps(false, [...live, { kind: 'try' }, { kind: 'try' }, { kind: 'close' }, { kind: 'release', nth: 0 }, { kind: 'release', nth: 0 }], seen);
  });

  it('a slot keeps healing while the pool closes', () => {
    runOps(true, [{ kind: 'dialDone', slot: 0 }, { kind: 'try' }, { kind: 'close' }, { kind: 'dialFail', slot: 1 }, { kind: 'advance', ms: 0 }, { kind: 'dialDone', slot: 1 }], seen);
  });

  afterAll(() => {
    console.log(`supervisor model: ${seen.size} cases seen: ${[...seen].sort().join('; ')}`);
  });

  it('the runs went through every mode change of the supervisor', () => {
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'lazy: running at once',
        'eager: running once every slot connected',
        'eager: closed by a failed first dial',
        'a failed dial while running',
        'a failed dial while closing',
        'close with no lease out: closed at once',
        'close with leases out: closing',
        'close while closing is ignored',
        'closing -> closed at drainTimeout',
        'closing -> closed when the last lease ends',
        'acquire refused while closing',
        'release hands the slot to the first waiter',
        'release frees the slot',
      ]),
    );
  });
});
