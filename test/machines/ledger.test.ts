/**
 * The lease ledger on its own: LIFO grants, FIFO waiters, hand-off on release,
 * stale releases, recycling, cancels and close, each answered the moment the
 * event is sent. The slots and the supervisor are real actors that record what
 * the ledger tells them.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromTransition } from 'xstate';
import type { ErrorCode } from '../../src/errors.js';
import { LedgerDesk, ledgerLogic, SWEEP_INTERVAL, type AcquireReply, type ConnectionLimits } from '../../src/machines/ledger.js';
import type { SlotConnection } from '../../src/machines/slot.js';

const SLOTS = 3;

/** An actor that keeps the type of every event it receives. */
const recorder = () => createActor(fromTransition((seen: string[], event: { type: string }) => [...seen, event.type], [])).start();

/** A connection the ledger only hands over, never touches. */
const connection = (): SlotConnection => ({
  destroy: () => {},
  retire: () => {},
  closed: Promise.resolve(),
  onEnd: () => () => {},
});

type Answer = { granted: [slot: number, lease: number, connection: SlotConnection] } | { refused: ErrorCode };

function startLedger(limits: Partial<ConnectionLimits & { strategy: 'lifo' | 'round-robin' }> = {}) {
  const slots = Array.from({ length: SLOTS }, recorder);
  const parent = recorder();
  const clock = { now: 0 };
  const input = { slots, parent, strategy: 'lifo' as const, idleTimeout: 0, maxConnectionAge: 0, ...limits, now: () => clock.now, random: () => 0.5 };
  const ledger = createActor(ledgerLogic, { input }).start();
  const connections = Array.from({ length: SLOTS }, connection);
  let nextWaiter = 1;
  /** Sends an acquire and returns the answers it has had so far (they keep arriving for a queued waiter). */
  const acquire = (mode: 'try' | 'wait') => {
    const answers: Answer[] = [];
    const reply: AcquireReply = {
      granted: (...grant) => answers.push({ granted: grant }),
      refused: (code) => answers.push({ refused: code }),
    };
    const waiter = nextWaiter++;
    ledger.send({ type: 'acquire', mode, waiter, reply });
    return { waiter, answers };
  };
  const ready = (slot: number) => ledger.send({ type: 'slot.ready', slot, connection: connections[slot]! });
  const release = (slot: number, lease: number, recycle = false, keepAlive = -1) =>
    ledger.send({ type: 'release', slot, lease, recycle, keepAlive, settlesAt: -1 });
  const context = () => ledger.getSnapshot().context;
  /** What each slot was told (recycle), by index. */
  const told = () => slots.map((slot) => slot.getSnapshot().context);
  return { ledger, slots, parent, clock, connections, acquire, ready, release, context, told };
}

const grantOf = (answers: Answer[]) => {
  expect(answers).toHaveLength(1);
  const answer = answers[0]!;
  if (!('granted' in answer)) throw new Error(`expected a grant, got ${JSON.stringify(answer)}`);
  return { slot: answer.granted[0], lease: answer.granted[1], connection: answer.granted[2] };
};

describe('lease ledger', () => {
  it('grants the warmest slot first (LIFO), synchronously, with its connection', () => {
    const { acquire, ready, release, connections, context } = startLedger();
    for (let slot = 0; slot < SLOTS; slot++) ready(slot);
    const first = grantOf(acquire('try').answers);
    expect(first.slot).toBe(2);
    expect(first.connection).toBe(connections[2]);
    expect(grantOf(acquire('try').answers).slot).toBe(1);
    release(first.slot, first.lease);
    // The slot just released is on top again.
    expect(grantOf(acquire('try').answers).slot).toBe(2);
    expect(context().free).toEqual([0]);
    expect(context().granted).toEqual([0, 1, 2]);
  });

  it('a try with nothing free gets no answer; a wait is queued and served first come, first served', () => {
    const { acquire, ready, release, context } = startLedger();
    ready(0);
    const held = grantOf(acquire('wait').answers);
    expect(acquire('try').answers).toEqual([]);
    const w1 = acquire('wait');
    const w2 = acquire('wait');
    expect(w1.answers).toEqual([]);
    expect(context().waiters.map((w) => w.id)).toEqual([w1.waiter, w2.waiter]);
    release(held.slot, held.lease);
    // Hand-off: the slot never went back on the free list, and the new lease has a new number.
    const handed = grantOf(w1.answers);
    expect(handed).toMatchObject({ slot: 0 });
    expect(handed.lease).not.toBe(held.lease);
    expect(context().free).toEqual([]);
    expect(w2.answers).toEqual([]);
    // A slot that comes up goes to the next waiter, not to the free list.
    ready(1);
    expect(grantOf(w2.answers).slot).toBe(1);
    expect(context().waiters).toEqual([]);
  });

  it('ignores a stale release: the slot died and was leased again under a new number', () => {
    const { ledger, acquire, ready, release, context } = startLedger();
    ready(0);
    const old = grantOf(acquire('try').answers);
    ledger.send({ type: 'slot.down', slot: 0, idleFor: -1 });
    expect(context().leases[0]).toBe(0);
    ready(0);
    const fresh = grantOf(acquire('try').answers);
    release(0, old.lease);
    expect(context().leases[0]).toBe(fresh.lease);
    expect(context().free).toEqual([]);
  });

  it('a recycled release tells the slot to recycle and keeps it off the free list', () => {
    const { acquire, ready, release, slots, context } = startLedger();
    ready(0);
    const waiter = acquire('wait');
    const lease = grantOf(waiter.answers);
    const next = acquire('wait');
    release(lease.slot, lease.lease, true);
    expect(slots[0]!.getSnapshot().context).toEqual(['recycle']);
    // The waiter is not handed a connection that is being torn down.
    expect(next.answers).toEqual([]);
    expect(context().free).toEqual([]);
    expect(context().leases[0]).toBe(0);
  });

  it('round-robin hands out the least recently released slot, so every connection takes its turn', () => {
    const { acquire, ready, release } = startLedger({ strategy: 'round-robin' });
    for (let slot = 0; slot < SLOTS; slot++) ready(slot);
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      const lease = grantOf(acquire('try').answers);
      order.push(lease.slot);
      release(lease.slot, lease.lease);
    }
    expect(order).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('a recycle request takes a free slot off the list and tells it; a leased one is left alone', () => {
    const { ledger, acquire, ready, told, context } = startLedger();
    ready(0);
    ready(1);
    const leased = grantOf(acquire('try').answers);
    ledger.send({ type: 'recycle', slot: leased.slot });
    ledger.send({ type: 'recycle', slot: 1 - leased.slot });
    expect(told()[leased.slot]).toEqual([]);
    expect(told()[1 - leased.slot]).toEqual(['recycle']);
    expect(context().free).toEqual([]);
  });

  it('a slot that goes down leaves the free list', () => {
    const { ledger, ready, acquire, context } = startLedger();
    ready(0);
    ready(1);
    ledger.send({ type: 'slot.down', slot: 1, idleFor: -1 });
    expect(context().free).toEqual([0]);
    expect(context().connections[1]).toBeUndefined();
    expect(grantOf(acquire('try').answers).slot).toBe(0);
  });

  it('a draining (HTTP/2) slot keeps its streams out and leases none; its releases never put it back; slot.down ends it', () => {
    const { ledger, acquire, release, context, told } = startLedger();
    let capacity = 4;
    let onCapacity: (() => void) | undefined;
    const h2: SlotConnection = { ...connection(), multiplexed: true, get capacity() { return capacity; }, onCapacity: (listener) => void (onCapacity = listener) };
    ledger.send({ type: 'slot.ready', slot: 0, connection: h2 });
    const first = grantOf(acquire('try').answers);
    const second = grantOf(acquire('try').answers);
    expect([first.slot, second.slot, context().streams[0]]).toEqual([0, 0, 2]);
    ledger.send({ type: 'slot.draining', slot: 0 });
    expect(context().free).toEqual([]);
    // None leased on it, not even when its stream limit rises; a waiter waits for another slot.
    expect(acquire('try').answers).toEqual([]);
    capacity = 8;
    onCapacity?.();
    const waiter = acquire('wait');
    expect(waiter.answers).toEqual([]);
    // Its streams finish and are released under their lease, counted down; the slot stays out of the free list.
    release(0, first.lease);
    expect([context().streams[0], context().free, waiter.answers]).toEqual([1, [], []]);
    release(0, second.lease, true);
    expect([context().streams[0], context().leases[0], context().free]).toEqual([0, 0, []]);
    // Nothing told to recycle: the slot redials itself once its connection drained.
    expect(told()[0]).toEqual([]);
    ledger.send({ type: 'slot.down', slot: 0, idleFor: -1 });
    ledger.send({ type: 'slot.ready', slot: 0, connection: { ...h2 } });
    expect(grantOf(waiter.answers).slot).toBe(0);
  });

  it('a cancel refuses a queued waiter with its code, and does nothing once the waiter was served', () => {
    const { ledger, acquire, ready, release, context } = startLedger();
    ready(0);
    const held = grantOf(acquire('try').answers);
    const gone = acquire('wait');
    const served = acquire('wait');
    ledger.send({ type: 'acquire.cancel', waiter: gone.waiter, code: 'ACQUIRE_TIMEOUT' });
    expect(gone.answers).toEqual([{ refused: 'ACQUIRE_TIMEOUT' }]);
    release(held.slot, held.lease);
    expect(grantOf(served.answers).slot).toBe(0);
    ledger.send({ type: 'acquire.cancel', waiter: served.waiter, code: 'ACQUIRE_ABORTED' });
    expect(served.answers).toHaveLength(1);
    expect(context().leases[0]).not.toBe(0);
  });

  it('close refuses the waiters and every later acquire, and reports drained when the last lease ends', () => {
    const { ledger, acquire, ready, release, parent, context } = startLedger();
    ready(0);
    ready(1);
    const a = grantOf(acquire('try').answers);
    const b = grantOf(acquire('try').answers);
    const waiting = acquire('wait');
    ledger.send({ type: 'close' });
    expect(waiting.answers).toEqual([{ refused: 'POOL_CLOSED' }]);
    expect(acquire('try').answers).toEqual([{ refused: 'POOL_CLOSED' }]);
    release(a.slot, a.lease);
    const reports = () => parent.getSnapshot().context.filter((type: string) => type !== 'ledger.connected');
    expect(reports()).toEqual([]);
    // A released slot is not reused while closing, nor is one that comes up.
    ready(2);
    expect(context().free).toEqual([]);
    release(b.slot, b.lease, true);
    expect(reports()).toEqual(['ledger.drained']);
    // Each slot's first connect was reported once, for an eager pool's start.
    expect(parent.getSnapshot().context.filter((type: string) => type === 'ledger.connected')).toHaveLength(3);
  });

  it('close with no lease out reports drained at once', () => {
    const { ledger, ready, parent } = startLedger();
    ready(0);
    ready(0);
    ledger.send({ type: 'close' });
    expect(parent.getSnapshot().context).toEqual(['ledger.connected', 'ledger.drained']);
  });

  describe('connection limits', () => {
    it('a connection idle past idleTimeout is not handed out: it is recycled and the next one is', () => {
      const { acquire, ready, release, clock, told } = startLedger({ idleTimeout: 1_000 });
      ready(0);
      clock.now = 500;
      ready(1);
      const lease = grantOf(acquire('try').answers);
      release(lease.slot, lease.lease);
      // Slot 0 has been idle since 0, slot 1 since 500; at 1 200 only slot 1 is fit.
      clock.now = 1_200;
      acquire('try'); // takes slot 1 (warmest), fit
      expect(told()).toEqual([[], [], []]);
      const next = acquire('try');
      // Slot 0 is past its idle limit: recycled, and nothing else is free.
      expect(next.answers).toEqual([]);
      expect(told()[0]).toEqual(['recycle']);
    });

    it('a sweep recycles free connections that would pass idleTimeout before the next sweep', () => {
      const { ledger, ready, clock, told, context } = startLedger({ idleTimeout: 1_000 });
      ready(0);
      ready(1);
      clock.now = 1_000 - SWEEP_INTERVAL - 1;
      ledger.send({ type: 'sweep' });
      expect(told()).toEqual([[], [], []]);
      clock.now = 1_000 - SWEEP_INTERVAL;
      ledger.send({ type: 'sweep' });
      expect(told()).toEqual([['recycle'], ['recycle'], []]);
      expect(context().free).toEqual([]);
    });

    it("honours the server's Keep-Alive: timeout, less a margin, on that connection", () => {
      const { ledger, acquire, ready, release, clock, told, context } = startLedger();
      ready(0);
      ready(1);
      const lease = grantOf(acquire('try').answers);
      // timeout=5: trusted minus one second, so 4 s.
      release(lease.slot, lease.lease, false, 5_000);
      expect(context().idleLimit[lease.slot]).toBe(4_000);
      clock.now = 4_000 - SWEEP_INTERVAL;
      ledger.send({ type: 'sweep' });
      // Only the connection the server announced its timeout on is recycled.
      expect(told()[lease.slot]).toEqual(['recycle']);
      expect(told()[1 - lease.slot]).toEqual([]);
      // timeout=1 leaves half of it: 500 ms.
      const other = grantOf(acquire('try').answers);
      release(other.slot, other.lease, false, 1_000);
      expect(context().idleLimit[other.slot]).toBe(500);
    });

    it('recycles a connection older than maxConnectionAge when it is released, instead of reusing it', () => {
      const { acquire, ready, release, clock, told } = startLedger({ maxConnectionAge: 10_000 });
      ready(0);
      const waiter = acquire('wait');
      const lease = grantOf(waiter.answers);
      const next = acquire('wait');
      // random() is 0.5: this connection's age limit is 10 000 * (1 - 0.1 * 0.5) = 9 500.
      clock.now = 9_499;
      release(lease.slot, lease.lease);
      expect(told()[0]).toEqual([]);
      const again = grantOf(next.answers);
      clock.now = 9_500;
      const last = acquire('wait');
      release(again.slot, again.lease);
      expect(told()[0]).toEqual(['recycle']);
      expect(last.answers).toEqual([]);
    });

    it('without limits the clock is never read', () => {
      const { acquire, ready, release, ledger } = startLedger();
      const reads = { count: 0 };
      const context = ledger.getSnapshot().context as { now: () => number };
      const now = context.now;
      Object.assign(context, { now: () => (reads.count++, now()) });
      ready(0);
      for (let i = 0; i < 10; i++) {
        const lease = grantOf(acquire('try').answers);
        release(lease.slot, lease.lease);
      }
      ledger.send({ type: 'sweep' });
      expect(reads.count).toBe(0);
    });
  });

  describe('its desk (the callers\' way in, without the actor)', () => {
    it('applies a caller event at once, on the state the actor holds, and runs what it defers after it', () => {
      const { ledger, ready, context, told } = startLedger({ idleTimeout: 1_000 });
      const desk = new LedgerDesk(ledger);
      for (let slot = 0; slot < SLOTS; slot++) ready(slot);
      let granted: number[] = [];
      desk.send({ type: 'acquire', mode: 'try', waiter: 0, reply: { granted: (slot, lease) => (granted = [slot, lease]), refused: () => {} } });
      expect(granted[0]).toBe(2);
      expect(context().leases[2]).toBe(granted[1]);
      // A release that recycles: the slot is told once the release has been applied.
      desk.send({ type: 'release', slot: 2, lease: granted[1]!, recycle: true, keepAlive: -1, settlesAt: -1 });
      expect(told()[2]).toEqual(['recycle']);
      expect(context().free).toEqual([0, 1]);
    });

    it('applies an event sent from inside a reply after the one being applied, never inside it', () => {
      const { ledger, ready, context } = startLedger();
      const desk = new LedgerDesk(ledger);
      ready(0);
      const order: string[] = [];
      const lease = { slot: -1, lease: 0 };
      // The waiter's grant comes inside the slot's release; it releases at once, re-entering the ledger.
      desk.send({ type: 'acquire', mode: 'try', waiter: 0, reply: { granted: (slot, id) => Object.assign(lease, { slot, lease: id }), refused: () => {} } });
      desk.send({
        type: 'acquire',
        mode: 'wait',
        waiter: 7,
        reply: {
          granted: (slot, id) => {
            order.push('granted');
            desk.send({ type: 'release', slot, lease: id, recycle: false, keepAlive: -1, settlesAt: -1 });
            order.push(`released, leased: ${context().leases[slot]}`);
          },
          refused: () => {},
        },
      });
      desk.send({ type: 'release', slot: lease.slot, lease: lease.lease, recycle: false, keepAlive: -1, settlesAt: -1 });
      // Inside the callback the release had not been applied yet (the slot was still leased); then it was.
      expect(order[0]).toBe('granted');
      expect(order[1]).not.toBe('released, leased: 0');
      expect(context().leases[0]).toBe(0);
      expect(context().free).toEqual([0]);
      expect(context().queued).toEqual([]);
    });
  });
});

