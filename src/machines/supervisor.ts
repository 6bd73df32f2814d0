/**
 * The supervisor machine: one per pool. It spawns a slot actor per connection,
 * owns the LIFO free list of healthy slots and the FIFO queue of waiting
 * callers, and answers acquire events.
 *
 * ```
 *  open: starting --all ready / lazy--> running
 *          | first dial failed (eager)
 *          v
 *  closing (refuse waiters; wait for busy slots, up to drainTimeout) --> closed (final)
 * ```
 *
 * Invariants, held after every event:
 * - a slot index is in `free` at most once, and only while the slot is healthy;
 * - `leases[i] !== 0` exactly while slot i is handed out (busy);
 * - a waiter is in `waiters` until it is granted or refused, and is answered once.
 *
 * Callers talk to it with events that carry a reply object, so a `try` acquire
 * is answered synchronously inside `actor.send()`: xstate processes an event at
 * once when the actor is idle.
 */
import { enqueueActions, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { ErrorCode } from '../errors.js';
import type { BackoffPolicy } from './backoff.js';
import { slotMachine, type SlotConnection, type SlotReport } from './slot.js';

/** What a granted caller receives: the slot, a lease number that guards against stale releases, and the connection. */
export interface Grant {
  slot: number;
  lease: number;
  connection: SlotConnection;
}

export interface AcquireReply {
  granted(grant: Grant): void;
  refused(code: ErrorCode): void;
}

export interface Waiter {
  id: number;
  reply: AcquireReply;
}

export type SupervisorEvent =
  /** `try`: answered at once, or not at all when no slot is free. `wait`: queued when none is free. */
  | { type: 'acquire'; mode: 'try' | 'wait'; waiter: number; timeout: number; reply: AcquireReply }
  /** The caller gave up (abort) or its deadline passed. */
  | { type: 'acquire.cancel'; waiter: number; code: ErrorCode }
  | { type: 'release'; slot: number; lease: number; recycle: boolean }
  | { type: 'close' }
  | SlotReport;

export interface SupervisorInput {
  connections: number;
  /** Resolve `connect()` at once and let slots connect in the background. */
  lazy: boolean;
  /** How long `close()` waits for busy slots before closing them anyway (ms). */
  drainTimeout: number;
  backoff: BackoffPolicy;
  random: () => number;
  stableAfter: number;
}

type SlotRef = ActorRefFrom<typeof slotMachine>;

export interface SupervisorContext {
  input: SupervisorInput;
  slots: SlotRef[];
  /** Healthy, unleased slot indexes; the last one is the most recently released (warmest). */
  free: number[];
  /** The lease number a slot is handed out under; 0 when it is not handed out. */
  leases: number[];
  connections: (SlotConnection | undefined)[];
  waiters: Waiter[];
  nextLease: number;
  ready: number;
  /** Why the pool closed on its own (an eager connect that failed). */
  failure: Error | undefined;
}

/** A waiter's deadline timer id; one per waiter so cancelling one leaves the others. */
const timerId = (waiter: number) => `acquire-timeout-${waiter}`;

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actors: { slot: slotMachine },
  guards: {
    eager: ({ context }) => !context.input.lazy,
    /** Lazy pools run at once; eager ones once every slot has connected. */
    startedUp: ({ context }) => context.input.lazy || context.ready >= context.input.connections,
    noLeases: ({ context }) => context.leases.every((lease) => lease === 0),
  },
  delays: {
    drainTimeout: ({ context }) => context.input.drainTimeout,
  },
  actions: {
    spawnSlots: enqueueActions(({ enqueue, context }) => {
      enqueue.assign({
        slots: ({ spawn, self }) =>
          Array.from({ length: context.input.connections }, (_, index) =>
            spawn('slot', {
              id: `slot-${index}`,
              input: {
                index,
                parent: self as AnyActorRef,
                backoff: context.input.backoff,
                random: context.input.random,
                stableAfter: context.input.stableAfter,
              },
            }),
          ),
      });
    }),

    acquire: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'acquire') return;
      const slot = context.free.at(-1);
      if (slot !== undefined) {
        const lease = context.nextLease;
        const leases = context.leases.slice();
        leases[slot] = lease;
        enqueue.assign({ free: context.free.slice(0, -1), leases, nextLease: lease + 1 });
        enqueue.sendTo(context.slots[slot]!, { type: 'lease' });
        const connection = context.connections[slot]!;
        enqueue(() => event.reply.granted({ slot, lease, connection }));
        return;
      }
      if (event.mode === 'try') return;
      enqueue.assign({ waiters: [...context.waiters, { id: event.waiter, reply: event.reply }] });
      if (Number.isFinite(event.timeout)) {
        enqueue.raise(
          { type: 'acquire.cancel', waiter: event.waiter, code: 'ACQUIRE_TIMEOUT' },
          { delay: event.timeout, id: timerId(event.waiter) },
        );
      }
    }),

    cancelWaiter: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'acquire.cancel') return;
      const waiter = context.waiters.find((w) => w.id === event.waiter);
      if (!waiter) return; // already served: the grant won the race
      enqueue.assign({ waiters: context.waiters.filter((w) => w !== waiter) });
      enqueue.cancel(timerId(waiter.id));
      enqueue(() => waiter.reply.refused(event.code));
    }),

    release: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'release') return;
      const { slot, lease } = event;
      // A stale lease: the slot died (and was reissued) since this lease was granted.
      if (context.leases[slot] !== lease) return;
      const ref = context.slots[slot]!;
      const [waiter, ...rest] = context.waiters;
      if (event.recycle) {
        const leases = context.leases.slice();
        leases[slot] = 0;
        enqueue.assign({ leases });
        enqueue.sendTo(ref, { type: 'release', recycle: true });
      } else if (waiter) {
        // Hand-off: the slot stays busy and goes straight to the first waiter.
        const next = context.nextLease;
        const leases = context.leases.slice();
        leases[slot] = next;
        enqueue.assign({ leases, waiters: rest, nextLease: next + 1 });
        enqueue.cancel(timerId(waiter.id));
        const connection = context.connections[slot]!;
        enqueue(() => waiter.reply.granted({ slot, lease: next, connection }));
      } else {
        const leases = context.leases.slice();
        leases[slot] = 0;
        enqueue.assign({ leases, free: [...context.free, slot] });
        enqueue.sendTo(ref, { type: 'release', recycle: false });
      }
    }),

    slotReady: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'slot.ready') return;
      const { slot, connection } = event;
      const connections = context.connections.slice();
      connections[slot] = connection;
      const [waiter, ...rest] = context.waiters;
      if (waiter) {
        const lease = context.nextLease;
        const leases = context.leases.slice();
        leases[slot] = lease;
        enqueue.assign({ connections, leases, waiters: rest, nextLease: lease + 1, ready: context.ready + 1 });
        enqueue.sendTo(context.slots[slot]!, { type: 'lease' });
        enqueue.cancel(timerId(waiter.id));
        enqueue(() => waiter.reply.granted({ slot, lease, connection }));
      } else {
        enqueue.assign({ connections, free: [...context.free, slot], ready: context.ready + 1 });
      }
    }),

    slotDown: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'slot.down') return;
      const { slot } = event;
      const connections = context.connections.slice();
      connections[slot] = undefined;
      const leases = context.leases.slice();
      leases[slot] = 0;
      enqueue.assign({ connections, leases, free: context.free.filter((index) => index !== slot) });
    }),

    refuseAcquire: ({ event }) => {
      if (event.type === 'acquire') event.reply.refused('POOL_CLOSED');
    },

    refuseWaiters: enqueueActions(({ enqueue, context }) => {
      for (const waiter of context.waiters) {
        enqueue.cancel(timerId(waiter.id));
        enqueue(() => waiter.reply.refused('POOL_CLOSED'));
      }
      enqueue.assign({ waiters: [], free: [] });
    }),

    /** During close a released slot is not reused; its lease simply ends. */
    endLease: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'release' || context.leases[event.slot] !== event.lease) return;
      const leases = context.leases.slice();
      leases[event.slot] = 0;
      enqueue.assign({ leases });
    }),

    recordFailure: enqueueActions(({ enqueue, event }) => {
      if (event.type !== 'slot.failed') return;
      enqueue.assign({ failure: event.error });
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    input,
    slots: [],
    free: [],
    leases: Array.from({ length: input.connections }, () => 0),
    connections: Array.from({ length: input.connections }, () => undefined),
    waiters: [],
    nextLease: 1,
    ready: 0,
    failure: undefined,
  }),
  entry: 'spawnSlots',
  initial: 'open',
  states: {
    open: {
      initial: 'starting',
      on: {
        acquire: { actions: 'acquire' },
        'acquire.cancel': { actions: 'cancelWaiter' },
        release: { actions: 'release' },
        'slot.ready': { actions: 'slotReady' },
        'slot.down': { actions: 'slotDown' },
        close: { target: 'closing', actions: 'refuseWaiters' },
      },
      states: {
        starting: {
          always: { guard: 'startedUp', target: 'running' },
          on: {
            'slot.failed': { guard: 'eager', target: '#supervisor.closed', actions: 'recordFailure' },
          },
        },
        running: {},
      },
    },
    closing: {
      always: { guard: 'noLeases', target: 'closed' },
      after: { drainTimeout: 'closed' },
      on: {
        acquire: { actions: 'refuseAcquire' },
        release: { actions: 'endLease' },
        'slot.down': { actions: 'slotDown' },
      },
    },
    closed: {
      type: 'final',
    },
  },
});

export type SupervisorActor = ActorRefFrom<typeof supervisorMachine>;
