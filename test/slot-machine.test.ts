/**
 * The slot machine on its own, with its dial actor replaced and time simulated:
 * the reconnect schedule, the failure count reset, and the reports to the parent.
 */
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromPromise, SimulatedClock, type AnyEventObject } from 'xstate';
import { createBackoff, SLOT_BACKOFF, slotMachine, slotState, type SlotConnection } from '../src/index.js';

/** A connection object under the test's control (the machine only needs this interface). */
function controlledConnection() {
  let lost: ((error: Error | undefined) => void) | undefined;
  let destroyed = false;
  const connection: SlotConnection & { die(): void; readonly destroyed: boolean } = {
    closed: Promise.resolve(),
    destroy: () => {
      destroyed = true;
    },
    onLost(listener) {
      lost = listener;
      return () => (lost = undefined);
    },
    die: () => lost?.(new Error('peer closed')),
    get destroyed() {
      return destroyed;
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
  const machine = slotMachine.provide({
    actors: {
      dial: fromPromise<SlotConnection, { index: number }>(async () => {
        dials.push(clock.now());
        if ((outcomes.shift() ?? 'ok') === 'fail') throw new Error('ECONNREFUSED');
        const connection = controlledConnection();
        connections.push(connection);
        return connection;
      }),
    },
  });
  const slot = createActor(machine, {
    clock,
    input: {
      index: 3,
      parent,
      backoff: createBackoff({ jitter: 'none' }, SLOT_BACKOFF),
      random: Math.random,
      stableAfter: 1_000,
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

  it('recycle (a lease released unfit for reuse) poisons the slot and tears the connection down', async () => {
    const { slot, connections, reports } = startSlot(['ok']);
    await settle();
    slot.send({ type: 'recycle' });
    expect(slotState(slot.getSnapshot())).toBe('poisoned');
    expect(connections[0]!.destroyed).toBe(true);
    expect(reports.map((r) => r.type)).toEqual(['slot.ready', 'slot.down']);
    // A recycle is not a failure: the connection did nothing wrong on its own.
    expect(slot.getSnapshot().context.attempts).toBe(0);
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
