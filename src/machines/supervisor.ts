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
import { assign, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
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
  | { type: 'acquire'; mode: 'try' | 'wait'; waiter: number; reply: AcquireReply }
  /** The caller gave up: its AbortSignal fired or its deadline (a timer on the pool's clock) passed. */
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

/**
 * Why the hot-path actions mutate `free`, `leases`, `connections` and `waiters`
 * in place instead of `assign`ing copies: an acquire or release is the one event
 * a trading hot path sends per request, and xstate's assign plus a copied array
 * made the acquire+release pair cost about 3x a mutation (measured on Node 20:
 * try+release 24 -> 14 us, wait+hand-off 20 -> 5.5 us per cycle; the hot-path
 * benchmark of issue 6 will keep this honest). These four are bookkeeping owned by
 * this actor alone; nothing outside reads them except through `getSnapshot()`,
 * which sees the current values. Everything that changes the machine's state
 * (open, closing, closed) still goes through transitions.
 */
function grantTo(context: SupervisorContext, slot: number, reply: AcquireReply, tellSlot: boolean): void {
  const lease = context.nextLease++;
  context.leases[slot] = lease;
  if (tellSlot) context.slots[slot]!.send({ type: 'lease' });
  reply.granted({ slot, lease, connection: context.connections[slot]! });
}

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
    spawnSlots: assign({
      slots: ({ context, spawn, self }) =>
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
    }),

    /** LIFO: the last slot pushed (the warmest connection) is the first handed out. */
    acquire: ({ context, event }) => {
      if (event.type !== 'acquire') return;
      const slot = context.free.pop();
      if (slot !== undefined) grantTo(context, slot, event.reply, true);
      else if (event.mode === 'wait') context.waiters.push({ id: event.waiter, reply: event.reply });
      // A `try` with nothing free gets no answer: the caller reads that as "none".
    },

    cancelWaiter: ({ context, event }) => {
      if (event.type !== 'acquire.cancel') return;
      const index = context.waiters.findIndex((w) => w.id === event.waiter);
      if (index < 0) return; // already served: the grant won the race
      const [waiter] = context.waiters.splice(index, 1);
      waiter!.reply.refused(event.code);
    },

    release: ({ context, event }) => {
      if (event.type !== 'release') return;
      const { slot, lease } = event;
      // A stale lease: the slot died (and may have been reissued) since this lease was granted.
      if (context.leases[slot] !== lease) return;
      const ref = context.slots[slot]!;
      if (event.recycle) {
        context.leases[slot] = 0;
        ref.send({ type: 'release', recycle: true });
        return;
      }
      const waiter = context.waiters.shift();
      // Hand-off: the slot stays busy and goes straight to the first waiter.
      if (waiter) return grantTo(context, slot, waiter.reply, false);
      context.leases[slot] = 0;
      context.free.push(slot);
      ref.send({ type: 'release', recycle: false });
    },

    slotReady: ({ context, event }) => {
      if (event.type !== 'slot.ready') return;
      context.connections[event.slot] = event.connection;
      context.ready++;
      const waiter = context.waiters.shift();
      if (waiter) grantTo(context, event.slot, waiter.reply, true);
      else context.free.push(event.slot);
    },

    slotDown: ({ context, event }) => {
      if (event.type !== 'slot.down') return;
      const { slot } = event;
      context.connections[slot] = undefined;
      context.leases[slot] = 0;
      const index = context.free.indexOf(slot);
      if (index >= 0) context.free.splice(index, 1);
    },

    refuseAcquire: ({ event }) => {
      if (event.type === 'acquire') event.reply.refused('POOL_CLOSED');
    },

    refuseWaiters: ({ context }) => {
      const waiters = context.waiters.splice(0);
      context.free.length = 0;
      for (const waiter of waiters) waiter.reply.refused('POOL_CLOSED');
    },

    /** During close a released slot is not reused; its lease simply ends. */
    endLease: ({ context, event }) => {
      if (event.type === 'release' && context.leases[event.slot] === event.lease) context.leases[event.slot] = 0;
    },

    recordFailure: assign({
      failure: ({ event }) => (event.type === 'slot.failed' ? event.error : undefined),
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
