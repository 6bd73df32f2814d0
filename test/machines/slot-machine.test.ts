/**
 * The slot machine on its own, with its dial actor replaced and time simulated:
 * the reconnect schedule, the failure count reset, and the reports to the parent.
 */
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, SimulatedClock, type AnyEventObject } from 'xstate';
import { createBackoff, SLOT_BACKOFF, slotMachine, slotState, type ConnectionDialer, type ConnectionEnd, type SlotConnection } from '../../src/testing/index.js';

/** A connection object under the test's control (the machine only needs this interface). */
function controlledConnection() {
  let ended: ((end: ConnectionEnd) => void) | undefined;
  let drained: (() => void) | undefined;
  let destroyed = false;
  let retired = false;
  const connection: SlotConnection & {
    die(): void;
    end(idleFor?: number): void;
    goaway(): void;
    drain(): void;
    readonly destroyed: boolean;
    readonly retired: boolean;
  } = {
    closed: Promise.resolve(),
    destroy: () => {
      destroyed = true;
    },
    retire: () => {
      retired = true;
      ended = undefined;
    },
    onEnd(listener) {
      ended = listener;
    },
    onDrained(listener) {
      drained = listener;
    },
    /** HTTP/2: the server's GOAWAY with streams open, a clean end that drains them first. */
    goaway: () => ended?.({ clean: true, error: undefined, idleFor: -1, reason: 'goaway', draining: true }),
    /** The draining connection's last stream is done. */
    drain: () => drained?.(),
    /** A failure: reset under a request, or closed before its first response. */
    die: () => ended?.({ clean: false, error: new Error('peer closed'), idleFor: -1 }),
    /** A clean end: closed by the server after serving. */
    end: (idleFor = -1) => ended?.({ clean: true, error: undefined, idleFor }),
    get destroyed() {
      return destroyed;
    },
    get retired() {
      return retired;
    },
  };
  return connection;
}

function startSlot(outcomes: ('fail' | 'ok')[]) {
  const clock = new SimulatedClock();
  const reports: AnyEventObject[] = [];
  const parent = createActor(createMachine({ on: { '*': { actions: ({ event }) => reports.push(event) } } })).start();
  const connections: ReturnType<typeof controlledConnection>[] = [];
  const dials: number[] = [];
  // Settles a tick later, as a real dial does; a cancelled dial never reports.
  const cancelled = new Set<number>();
  let dialing = 0;
  let current = 0;
  const dialer: ConnectionDialer = {
    dial(index, report) {
      const id = ++dialing;
      dials.push(clock.now());
      const fail = (outcomes.shift() ?? 'ok') === 'fail';
      void Promise.resolve().then(() => {
        if (cancelled.has(id)) return;
        if (fail) return report({ type: 'dial.error', error: new Error('ECONNREFUSED') });
        const connection = controlledConnection();
        connections.push(connection);
        report({ type: 'dial.done', connection });
      });
      current = id;
    },
    cancel() {
      cancelled.add(current);
    },
  };
  const slot = createActor(slotMachine, {
    clock,
    input: {
      index: 3,
      shared: {
        parent,
        ledger: parent,
        backoff: createBackoff({ jitter: 'none' }, SLOT_BACKOFF),
        random: Math.random,
        stableAfter: 1_000,
        now: () => clock.now(),
        dialer,
      },
    },
  }).start();
  return { clock, slot, reports, dials, connections };
}

/** Lets the dial promise settle (it is a real promise, only timers are simulated). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('slot machine', () => {
  it('connects and reports ready with its connection', async () => {
    const { slot, reports, connections } = startSlot(['ok']);
    expect(slotState(slot.getSnapshot())).toBe('connecting');
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(reports.map((r) => r.type)).toEqual(['slot.ready']);
    expect(reports[0]).toMatchObject({ slot: 3, connection: connections[0] });
  });

  it('follows the backoff schedule while dials fail: first retry immediate, then 100, 200, 400 ms', async () => {
    const { clock, slot, dials, reports } = startSlot(['fail', 'fail', 'fail', 'fail', 'ok']);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await settle();
      expect(slotState(slot.getSnapshot())).toBe('backoff');
      const delay = slot.getSnapshot().context.retryDelay;
      delays.push(delay);
      if (delay > 0) {
        clock.increment(delay - 1);
        expect(slotState(slot.getSnapshot())).toBe('backoff');
      }
      clock.increment(delay > 0 ? 1 : 0);
      expect(slotState(slot.getSnapshot())).toBe('connecting');
    }
    await settle();
    expect(delays).toEqual([0, 100, 200, 400]);
    expect(dials).toEqual([0, 0, 100, 300, 700]);
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(reports.filter((r) => r.type === 'slot.failed')).toHaveLength(4);
  });

  it('a lost connection is poisoned, torn down, and redialed at once after a stable spell', async () => {
    const { clock, slot, connections, reports } = startSlot(['ok', 'ok']);
    await settle();
    clock.increment(1_000); // stable: failures forgotten
    connections[0]!.die();
    expect(slotState(slot.getSnapshot())).toBe('poisoned');
    expect(connections[0]!.destroyed).toBe(true);
    expect(reports.map((r) => r.type)).toEqual(['slot.ready', 'slot.down']);
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('backoff');
    expect(slot.getSnapshot().context.retryDelay).toBe(0);
    clock.increment(0);
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(connections).toHaveLength(2);
  });

  it('a connection that stayed up stableAfter forgives the failed dials before it: the next failure retries at once', async () => {
    const { clock, slot, connections } = startSlot(['fail', 'fail', 'ok', 'ok']);
    for (let i = 0; i < 2; i++) {
      await settle();
      clock.increment(slot.getSnapshot().context.retryDelay);
    }
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(slot.getSnapshot().context.attempts).toBe(2);
    clock.increment(999);
    // Not yet stable: the loss would count a third failure (backoff 200 ms).
    expect(slot.getSnapshot().context.attempts).toBe(2);
    clock.increment(1);
    connections[0]!.die();
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('backoff');
    expect(slot.getSnapshot().context).toMatchObject({ attempts: 1, retryDelay: 0 });
  });

  it('a connection that dies before it is stable keeps counting failures, so a flapping server backs off', async () => {
    const { clock, slot, connections } = startSlot(['ok', 'ok', 'ok']);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await settle();
      connections.at(-1)!.die();
      await settle();
      delays.push(slot.getSnapshot().context.retryDelay);
      clock.increment(slot.getSnapshot().context.retryDelay);
    }
    expect(delays).toEqual([0, 100, 200]);
  });

  it('recycle (the pool retires the connection) is a clean end: the connection is retired and a replacement dialed at once', async () => {
    const { slot, connections, reports } = startSlot(['ok', 'ok']);
    await settle();
    slot.send({ type: 'recycle' });
    expect(slotState(slot.getSnapshot())).toBe('connecting');
    expect(connections[0]!.retired).toBe(true);
    expect(reports.map((r) => r.type)).toEqual(['slot.ready', 'slot.down']);
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    // A recycle is not a failure: the connection did nothing wrong on its own.
    expect(slot.getSnapshot().context.attempts).toBe(0);
    expect(slot.getSnapshot().context.counts).toEqual({ dials: 2, cleanEnds: 1, failures: 0, backoffs: 0 });
  });

  it('a clean end by the server, however soon after the connect and however often, never backs off nor counts a failure', async () => {
    const { slot, connections, reports, dials } = startSlot([]);
    for (let i = 0; i < 5; i++) {
      await settle();
      expect(slotState(slot.getSnapshot())).toBe('healthy');
      // Connection: close on every response, HTTP/1.0, a FIN after serving: no time passes at all.
      connections.at(-1)!.end(i === 4 ? 1_234 : -1);
      expect(slotState(slot.getSnapshot())).toBe('connecting');
    }
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(dials).toEqual([0, 0, 0, 0, 0, 0]);
    expect(slot.getSnapshot().context.counts).toEqual({ dials: 6, cleanEnds: 5, failures: 0, backoffs: 0 });
    expect(connections.slice(0, 5).every((connection) => connection.retired)).toBe(true);
    // The supervisor learns how long the server let an idle connection be.
    expect(reports.filter((r) => r.type === 'slot.down').map((r) => r.idleFor)).toEqual([-1, -1, -1, -1, 1_234]);
  });

  it("GOAWAY with streams open (HTTP/2) drains: a clean end, the connection kept until its last stream is done, then a replacement", async () => {
    const { clock, slot, connections, reports, dials } = startSlot([]);
    await settle();
    clock.increment(1_000);
    connections[0]!.goaway();
    expect(slotState(slot.getSnapshot())).toBe('draining');
    // Counted a clean end at the GOAWAY; the connection is neither retired nor destroyed while its streams finish.
    expect(slot.getSnapshot().context).toMatchObject({ endReason: 'goaway', counts: { dials: 1, cleanEnds: 1, failures: 0, backoffs: 0 } });
    expect(connections[0]!.retired).toBe(false);
    // The ledger leases nothing more on it; no replacement is dialed yet.
    expect(reports.map((r) => r.type)).toEqual(['slot.ready', 'slot.draining']);
    await settle();
    expect(dials).toEqual([0]);
    expect(slotState(slot.getSnapshot())).toBe('draining');
    connections[0]!.drain();
    expect(slotState(slot.getSnapshot())).toBe('connecting');
    expect(connections[0]!.retired).toBe(true);
    expect(reports.map((r) => r.type)).toEqual(['slot.ready', 'slot.draining', 'slot.down']);
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(dials).toEqual([0, 1_000]);
    expect(slot.getSnapshot().context.counts).toEqual({ dials: 2, cleanEnds: 1, failures: 0, backoffs: 0 });
  });

  it('close while draining destroys the draining connection', async () => {
    const { slot, connections } = startSlot([]);
    await settle();
    connections[0]!.goaway();
    slot.send({ type: 'close' });
    expect(slotState(slot.getSnapshot())).toBe('closed');
    expect(connections[0]!.destroyed).toBe(true);
  });

  it('counts failures and backoffs: a failed dial and a lost connection', async () => {
    const { clock, slot, connections } = startSlot(['ok', 'fail', 'ok']);
    await settle();
    connections[0]!.die();
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('backoff');
    clock.increment(slot.getSnapshot().context.retryDelay);
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('backoff');
    clock.increment(slot.getSnapshot().context.retryDelay);
    await settle();
    expect(slotState(slot.getSnapshot())).toBe('healthy');
    expect(slot.getSnapshot().context.counts).toEqual({ dials: 2, cleanEnds: 0, failures: 2, backoffs: 2 });
  });

  it('close from any state ends in closed and destroys the connection', async () => {
    const { slot, connections } = startSlot(['ok']);
    await settle();
    slot.send({ type: 'close' });
    expect(slotState(slot.getSnapshot())).toBe('closed');
    expect(connections[0]!.destroyed).toBe(true);

    const backingOff = startSlot(['fail']);
    await settle();
    expect(slotState(backingOff.slot.getSnapshot())).toBe('backoff');
    backingOff.slot.send({ type: 'close' });
    expect(slotState(backingOff.slot.getSnapshot())).toBe('closed');
    expect(backingOff.clock['timeouts'].size).toBe(0);
  });
});
