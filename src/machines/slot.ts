/**
 * The slot machine: the life of one keep-alive connection.
 *
 * ```
 *  connecting --dial.done--> healthy --lost / recycle--> poisoned
 *      |                                                    |  teardown.done
 *    dial.error                                             v
 *      +----------------------> backoff <-------------------+
 *                                  |  after(retryDelay)
 *                                  +--> connecting
 *  any --close--> closed (final)
 * ```
 *
 * A healthy slot is either free or leased: the lease is the supervisor's
 * business (its ledger, `ledger.ts`), and a slot is reported `busy` while it is
 * healthy and leased. Leases stay out of this machine on purpose: a lease and
 * a release are the two events of every request, and as machine events they
 * cost 2-4 us each; the ledger answers them in a fraction of that. What the
 * slot needs to know of a lease it is told: `recycle`, when a caller's request
 * left the connection unfit for reuse (`Connection: close`, a request aborted
 * in flight, a body too large).
 *
 * Pure: no sockets here. The `dial` actor is a placeholder the pool replaces
 * with `machine.provide({ actors: { dial } })`; tests provide their own. The
 * slot reports to its supervisor (`parent`, passed in through input) with
 * `slot.ready`, `slot.down` and `slot.failed`.
 */
import { assign, fromCallback, fromPromise, sendTo, setup, type AnyActorRef, type SnapshotFrom } from 'xstate';
import type { BackoffPolicy } from './backoff.js';

/** What a slot needs from a live connection; the pool's HTTP connection implements it. */
export interface SlotConnection {
  /** Close the socket now. Idempotent. */
  destroy(): void;
  /** Settles once the socket is fully closed. Never rejects. */
  readonly closed: Promise<void>;
  /** Calls `listener` once when the socket dies (idle or busy); returns an unsubscribe. */
  onLost(listener: (error: Error | undefined) => void): () => void;
}

export interface SlotInput {
  /** Index of the slot in its pool, reported back in every event. */
  index: number;
  /** The supervisor that receives `slot.ready`, `slot.down` and `slot.failed`. */
  parent: AnyActorRef;
  backoff: BackoffPolicy;
  random: () => number;
  /** A connection that stays up this long resets the failure count (ms). */
  stableAfter: number;
}

export interface SlotContext extends SlotInput {
  connection: SlotConnection | undefined;
  /** Consecutive failures since the last stable connection. */
  attempts: number;
  /** The delay chosen on entering `backoff` (ms). */
  retryDelay: number;
  lastError: Error | undefined;
  /**
   * The type of the event that entered the current state. A flight recorder
   * subscribed to the slot reads it from the snapshot, so a pool's recording needs
   * no XState inspector, which would cost every event of the system, leases included.
   */
  cause: string;
}

export type SlotEvent =
  | { type: 'lost'; error: Error | undefined }
  /** From the ledger: the connection must not be reused. */
  | { type: 'recycle' }
  | { type: 'close' };

/** Events a slot sends its supervisor. */
export type SlotReport =
  | { type: 'slot.ready'; slot: number; connection: SlotConnection }
  | { type: 'slot.down'; slot: number }
  | { type: 'slot.failed'; slot: number; error: Error };

/** The states of the slot machine. */
export type SlotMachineState = 'connecting' | 'healthy' | 'poisoned' | 'backoff' | 'closed';

/** The plain-string states a slot is in, as `stats()` and inspection report them: `busy` is healthy and leased. */
export type SlotState = SlotMachineState | 'busy';

/** The default for `stableAfter`: a connection must stay up this long before failures are forgotten. */
export const SLOT_STABLE_AFTER = 1_000;

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export const slotMachine = setup({
  types: {
    context: {} as SlotContext,
    events: {} as SlotEvent,
    input: {} as SlotInput,
  },
  actors: {
    /** Replaced by the pool: opens one connection, aborted through its signal when the state exits. */
    dial: fromPromise<SlotConnection, { index: number }>(async () => {
      throw new Error('slotMachine: no dial actor provided');
    }),
    /** Turns the connection's death into a `lost` event; stopping it closes the connection. */
    watch: fromCallback<SlotEvent, SlotConnection>(({ input: connection, sendBack }) => {
      const off = connection.onLost((error) => sendBack({ type: 'lost', error }));
      return () => {
        off();
        connection.destroy();
      };
    }),
    /** Waits until the old socket is gone, so a slot never holds two. */
    teardown: fromPromise<void, SlotConnection | undefined>(async ({ input: connection }) => {
      if (!connection) return;
      // Never rejects: a slot heals whatever the old socket does on its way out.
      try {
        connection.destroy();
      } catch {}
      await connection.closed;
    }),
  },
  delays: {
    retryDelay: ({ context }) => context.retryDelay,
    stableAfter: ({ context }) => context.stableAfter,
  },
  actions: {
    reportReady: sendTo(
      ({ context }) => context.parent,
      ({ context }): SlotReport => ({ type: 'slot.ready', slot: context.index, connection: context.connection! }),
    ),
    reportDown: sendTo(
      ({ context }) => context.parent,
      ({ context }): SlotReport => ({ type: 'slot.down', slot: context.index }),
    ),
    noteCause: assign({ cause: ({ event }) => event.type }),
    countFailure: assign({ attempts: ({ context }) => context.attempts + 1 }),
    forgetFailures: assign({ attempts: 0, lastError: undefined }),
    forgetConnection: assign({ connection: undefined }),
    chooseRetryDelay: assign({
      // The first reconnect after a healthy spell is immediate; later ones back off.
      retryDelay: ({ context }) => (context.attempts <= 1 ? 0 : context.backoff(context.attempts - 1, context.random)),
    }),
  },
}).createMachine({
  id: 'slot',
  context: ({ input }) => ({
    ...input,
    connection: undefined,
    attempts: 0,
    retryDelay: 0,
    lastError: undefined,
    cause: 'xstate.init',
  }),
  initial: 'connecting',
  on: {
    close: '.closed',
  },
  states: {
    connecting: {
      entry: 'noteCause',
      invoke: {
        id: 'dial',
        src: 'dial',
        input: ({ context }) => ({ index: context.index }),
        onDone: {
          target: 'healthy',
          actions: assign({ connection: ({ event }) => event.output }),
        },
        onError: {
          target: 'backoff',
          actions: [
            'countFailure',
            assign({ lastError: ({ event }) => asError(event.error) }),
            sendTo(
              ({ context }) => context.parent,
              ({ context, event }): SlotReport => ({
                type: 'slot.failed',
                slot: context.index,
                error: asError(event.error),
              }),
            ),
          ],
        },
      },
    },
    healthy: {
      entry: ['noteCause', 'reportReady'],
      exit: 'reportDown',
      invoke: { id: 'watch', src: 'watch', input: ({ context }) => context.connection! },
      after: {
        stableAfter: { actions: 'forgetFailures' },
      },
      on: {
        lost: {
          target: 'poisoned',
          actions: ['countFailure', assign({ lastError: ({ event }) => event.error })],
        },
        recycle: 'poisoned',
      },
    },
    poisoned: {
      entry: 'noteCause',
      invoke: {
        id: 'teardown',
        src: 'teardown',
        input: ({ context }) => context.connection,
        onDone: { target: 'backoff', actions: 'forgetConnection' },
      },
    },
    backoff: {
      entry: ['noteCause', 'chooseRetryDelay'],
      after: {
        retryDelay: 'connecting',
      },
    },
    closed: {
      type: 'final',
      entry: ['noteCause', ({ context }) => context.connection?.destroy()],
    },
  },
});

export type SlotSnapshot = SnapshotFrom<typeof slotMachine>;

/** Maps a slot snapshot to its machine state; whether a healthy slot is leased (busy) only the supervisor knows. */
export function slotState(snapshot: SlotSnapshot): SlotMachineState {
  return snapshot.status === 'active' ? (snapshot.value as SlotMachineState) : 'closed';
}
