/**
 * Model-based tests of a pool slot: every path `xstate/graph` finds through the
 * slot machine is driven on a real one-connection pool against a real fault
 * server, and after every step the slot must have entered exactly the state
 * the model says, with the pool's stats and the server's counts agreeing.
 *
 * Time is the pool's simulated clock: backoff moves only
 * when a step says so. A dial cannot be held open on loopback, so the step that
 * starts one (building the pool, or the backoff timer) looks ahead and makes
 * the server accept or refuse before the dial begins.
 */
import { expect } from 'vitest';
import { SimulatedClock, type EventObject } from 'xstate';
import { ClientPool, isLifelineError } from '../../src/index.js';
import type { SlotState } from '../../src/machines/slot.js';
import { slotMachine } from '../../src/machines/slot.js';
import { logSlot, pathFromEvents, type ModelPath, type StateLog } from '../../src/testing/index.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { expectConserved } from '../helpers/pool.js';
import { modelSuite, plainState, stays, waitUntil, type Step } from '../helpers/model.js';

const DRAIN_TIMEOUT = 1_000;
/**
 * How the real system makes each event with a payload happen. `lost` is a failure: the
 * fresh connection reset before serving anything, or cut under a request in flight. `ended`
 * is a clean end: a response that says `Connection: close` (the scenario below adds the
 * server's FIN on an idle connection that served).
 */
const faults: (EventObject & { fault: string })[] = [
  { type: 'lost', fault: 'reset' },
  { type: 'lost', fault: 'cut' },
  { type: 'ended', fault: 'close' },
];

interface Run {
  server: TestServer;
  pool: ClientPool;
  clock: SimulatedClock;
  log: StateLog<SlotState>;
  closing: Promise<void> | undefined;
  /** Connections the server had accepted when the slot last entered `connecting`. */
  dialsBefore: number;
}

/** Makes the server accept or refuse the dial that is about to start, as the path's next step needs. */
async function prepareDial(server: TestServer, next: EventObject | undefined): Promise<void> {
  if (next?.type === 'dial.error') await server.refuse();
  else await server.accept();
}

async function start(path: ModelPath): Promise<Run> {
  const server = await startHttpServer();
  await prepareDial(server, path.steps[1]?.event);
  const clock = new SimulatedClock();
  const pool = await ClientPool.connect({
    url: server.url,
    connections: 1,
    lazy: true,
    clock,
    drainTimeout: DRAIN_TIMEOUT,
    backoff: { initial: 100, max: 400, jitter: 'none' },
  });
  return { server, pool, clock, log: logSlot(pool, 0), closing: undefined, dialsBefore: 0 };
}

function slotContext(run: Run) {
  return run.pool.actor.getSnapshot().context.slots[0]!.getSnapshot().context;
}

/** A clean end redials at once: the server accepts or refuses that dial as the next step needs. */
async function expectingDial(run: Run, next: EventObject | undefined): Promise<void> {
  await prepareDial(run.server, next);
  run.dialsBefore = run.server.connections;
}

/** What each model event does to the real pool and server. */
function actions(run: Run, path: ModelPath): Record<string, (step: Step) => Promise<void> | void> {
  const nextEvent = (step: Step) => path.steps[path.steps.indexOf(step as never) + 1]?.event;
  return {
    'dial.done': () => {},
    'dial.error': () => {},
    'teardown.done': () => {},
    recycle: async (step) => {
      // A lease released with its request still in flight leaves the connection unfit for reuse.
      const lease = run.pool.tryAcquire();
      expect(lease, 'tryAcquire on a healthy slot').toBeDefined();
      // The lease's socket is live: a request goes through it first.
      expect((await lease!.request({ path: '/lease' })).status).toBe(200);
      expect(run.pool.stats().busy).toBe(1);
      run.server.blackHole();
      const requestsBefore = run.server.requests;
      const pending = lease!.request({ path: '/hang' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitUntil(() => run.server.requests > requestsBefore, 'the server reads the request');
      run.server.heal();
      // A clean end: the replacement is dialed at once, so the server is set for it first.
      await expectingDial(run, nextEvent(step));
      lease!.release();
      const error = await pending;
      expect(isLifelineError(error) && error.code).toBe('LEASE_RELEASED');
    },
    ended: async (step) => {
      await expectingDial(run, nextEvent(step));
      const fault = (step.event as { fault?: string }).fault;
      if (fault === 'fin') {
        // The server's FIN on an idle connection that served a response.
        expect((await run.pool.request({ path: '/served' })).status).toBe(200);
        await waitUntil(() => run.pool.stats().healthy === 1, 'the slot is free again');
        run.server.dropAll();
      } else {
        run.server.connectionClose(true);
        expect((await run.pool.request({ path: '/close' })).status).toBe(200);
        run.server.connectionClose(false);
      }
    },
    lost: async (step) => {
      if ((step.event as { fault?: string }).fault === 'reset') {
        run.server.resetAll();
        return;
      }
      // Cut under a request in flight: written, then the socket dies before any response.
      run.server.blackHole();
      const requestsBefore = run.server.requests;
      const pending = run.pool.request({ method: 'POST', path: '/cut' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitUntil(() => run.server.requests > requestsBefore, 'the server reads the request');
      run.server.dropAll();
      const error = await pending;
      expect(isLifelineError(error) && error.code).toBe('CONNECTION_LOST');
      run.server.heal();
    },
    'after.retryDelay': async (step) => {
      await prepareDial(run.server, nextEvent(step));
      run.dialsBefore = run.server.connections;
      run.clock.increment(slotContext(run).retryDelay);
    },
    close: () => {
      run.closing ??= run.pool.close();
      // A busy slot is waited for up to drainTimeout, on the pool's clock.
      run.clock.increment(DRAIN_TIMEOUT);
    },
  };
}

/** After step `index`: the slot entered exactly the model's state, and the pool agrees. */
async function check(run: Run, path: ModelPath, index: number): Promise<void> {
  const expected = plainState(path.steps[index]!.state) as SlotState;
  if (index === 0) {
    expect(run.log.current).toBe(expected);
  } else if (stays(path, index)) {
    expect(run.log.unread).toEqual([]);
    expect(run.log.current).toBe(expected);
  } else {
    expect(await run.log.next()).toBe(expected);
  }
  const stats = run.pool.stats();
  expectConserved(stats);
  if (expected === 'healthy' || expected === 'connecting') {
    expect(stats[expected], `stats ${JSON.stringify(stats)}`).toBe(1);
  }
  if (expected === 'healthy') {
    // The slot holds one open socket, the one its last dial opened.
    expect(run.server.sockets.size).toBe(1);
    expect(run.server.connections).toBe(run.dialsBefore + 1);
  }
  if (expected === 'closed') {
    await run.closing;
    expect(run.pool.stats().closed).toBe(1);
    await waitUntil(() => run.server.sockets.size === 0, 'the server sees the socket closed');
  }
}

// Two failed dials, a connection, a loss: the failures count on (the stable spell that forgives them is checked in slot-machine.test.ts).
const failingThenLost = ['dial.error', 'after.retryDelay', 'dial.error', 'after.retryDelay', 'dial.done', 'lost', 'teardown.done'];

modelSuite(
  slotMachine,
  { events: faults },
  8,
  {
    start,
    actions,
    check,
    transient: { poisoned: 'teardown.done' },
    stop: async (run) => {
      await run.pool.close();
    },
  },
  [
    pathFromEvents(slotMachine, failingThenLost.map((type) => (type === 'lost' ? { type, fault: 'cut' } : { type }))),
    pathFromEvents(slotMachine, ['dial.done', 'ended', 'dial.done', 'ended', 'dial.error'].map((type) => (type === 'ended' ? { type, fault: 'fin' } : { type }))),
  ],
);
