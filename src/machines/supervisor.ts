/**
 * The supervisor machine: one per pool. It spawns a slot actor per connection
 * and the lease ledger that owns the free list and the waiting callers, and it
 * holds the pool's modes.
 *
 * ```
 *  open: starting --all ready / lazy--> running (every sweepInterval: tell the ledger to sweep)
 *          | first dial failed (eager)
 *          v
 *  closing (ledger refuses waiters; wait for leases to end, up to drainTimeout) --> closed (final)
 * ```
 *
 * Callers talk to the ledger (`context.ledger`), the supervisor's hot half: an
 * acquire or a release is applied to its state at once, by its own transition,
 * through its desk (`LedgerDesk`; see `ledger.ts` for why it is a transition
 * function and not a machine, and why callers do not go through its mailbox). Slots report a connection up or down straight to the ledger, and a
 * failed dial to the supervisor (an eager pool closes on a first one); the
 * ledger tells the supervisor when a slot has connected for the first time.
 * Passing every report through this machine cost two macrosteps per heal.
 * Stopping the supervisor stops the ledger and every slot with it.
 */
import { assign, sendTo, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { BackoffPolicy } from './backoff.js';
import { ledgerLogic, SWEEP_INTERVAL, type ConnectionLimits, type LedgerActor, type LedgerEvent, type LedgerReport } from './ledger.js';
import { slotMachine, slotState, type ConnectionDialer, type SlotReport, type SlotShared, type SlotState } from './slot.js';

export type SupervisorEvent = { type: 'close' } | Extract<SlotReport, { type: 'slot.failed' }> | LedgerReport;

/**
 * What the supervisor and its slots read of a pool's options: the pool resolves and checks
 * them into this one object and passes it as it is. Machine input is what an XState inspector
 * sees of an actor, so it holds no secret: no URL, header or TLS key is read here.
 */
export interface SupervisorOptions extends ConnectionLimits {
  connections: number;
  strategy: 'lifo' | 'round-robin';
  /** Resolve `connect()` at once and let slots connect in the background. */
  lazy: boolean;
  /** How long `close()` waits for leased slots before closing them anyway (ms). */
  drainTimeout: number;
  backoff: BackoffPolicy;
  random: () => number;
  /** Monotonic ms on the pool's clock: connection ages and idle times. */
  now: () => number;
  /** A connection that stays up this long resets its slot's failure count (ms). */
  stableAfter: number;
}

export interface SupervisorInput {
  options: SupervisorOptions;
  /** Opens every slot's connections. */
  dialer: ConnectionDialer;
}

type SlotRef = ActorRefFrom<typeof slotMachine>;

export interface SupervisorContext {
  options: SupervisorOptions;
  dialer: ConnectionDialer;
  slots: SlotRef[];
  /** The free list, the leases and the waiters. */
  ledger: LedgerActor;
  /** First connects so far: an eager pool runs once every slot has had one. */
  ready: number;
  /** Why the pool closed on its own (an eager connect that failed). */
  failure: Error | undefined;
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actors: { slot: slotMachine, ledger: ledgerLogic },
  guards: {
    eager: ({ context }) => !context.options.lazy,
    /** Lazy pools run at once; eager ones once every slot has connected. */
    startedUp: ({ context }) => context.options.lazy || context.ready >= context.options.connections,
  },
  delays: {
    drainTimeout: ({ context }) => context.options.drainTimeout,
    sweepInterval: SWEEP_INTERVAL,
  },
  actions: {
    spawnSlots: assign({
      slots: ({ context, spawn, self }) => {
        // Filled in place: the ledger, spawned first, holds this very array (it tells slots to recycle).
        // One object every slot keeps by reference (see SlotShared).
        const { backoff, random, stableAfter, now, connections } = context.options;
        const shared: SlotShared = { parent: self as AnyActorRef, ledger: context.ledger as AnyActorRef, backoff, random, stableAfter, now, dialer: context.dialer };
        for (let index = 0; index < connections; index++) {
          // `slot N` as the dashboard, history and stats name it: `system.get('slot 0')`.
          context.slots.push(spawn('slot', { id: `slot-${index}`, systemId: `slot ${index}`, input: { index, shared } }));
        }
        return context.slots;
      },
    }),
    sweep: sendTo(({ context }) => context.ledger, { type: 'sweep' } satisfies LedgerEvent),
    countReady: assign({ ready: ({ context }) => context.ready + 1 }),
    tellLedgerClose: sendTo(({ context }) => context.ledger, { type: 'close' } satisfies LedgerEvent),
    recordFailure: assign({
      failure: ({ event }) => (event.type === 'slot.failed' ? event.error : undefined),
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input: { options, dialer }, spawn, self }) => {
    // The ledger is spawned first, with the array the slots are spawned into (it tells slots to recycle).
    const slots: SlotRef[] = [];
    const ledger = spawn('ledger', {
      id: 'ledger',
      systemId: 'ledger',
      input: {
        slots,
        size: options.connections,
        parent: self as AnyActorRef,
        strategy: options.strategy,
        idleTimeout: options.idleTimeout,
        maxConnectionAge: options.maxConnectionAge,
        now: options.now,
        random: options.random,
      },
    });
    return { options, dialer, slots, ledger, ready: 0, failure: undefined };
  },
  entry: 'spawnSlots',
  initial: 'open',
  states: {
    open: {
      initial: 'starting',
      on: {
        'ledger.connected': { actions: 'countReady' },
        close: { target: 'closing', actions: 'tellLedgerClose' },
      },
      states: {
        starting: {
          always: { guard: 'startedUp', target: 'running' },
          on: {
            'slot.failed': { guard: 'eager', target: '#supervisor.closed', actions: 'recordFailure' },
          },
        },
        running: {
          // The ledger recycles idle and old connections ahead of the server's timers, in the background.
          after: { sweepInterval: { target: 'running', reenter: true, actions: 'sweep' } },
        },
      },
    },
    closing: {
      after: { drainTimeout: 'closed' },
      on: {
        'ledger.drained': 'closed',
      },
    },
    closed: {
      type: 'final',
    },
  },
});

export type SupervisorActor = ActorRefFrom<typeof supervisorMachine>;

/** Each slot's state by index: the slot machine's, with a healthy slot the ledger has leased out reported `busy`. */
export function slotStates(context: SupervisorContext): SlotState[] {
  const leases = context.ledger?.getSnapshot().context.leases;
  return context.slots.map((slot, index) => {
    const state = slotState(slot.getSnapshot());
    return state === 'healthy' && leases !== undefined && leases[index] !== 0 ? 'busy' : state;
  });
}
