/**
 * The slot machine: the life of one keep-alive connection.
 *
 * ```
 *  connecting --dial.done--> healthy --ended / recycle (a clean end)--> connecting   (at once, nothing counted)
 *      |                        |   \
 *    dial.error              lost    goaway (HTTP/2, streams open: a clean end) --> draining --drained--> connecting
 *      v                        v
 *   backoff <-------------- poisoned (teardown)
 *      |  after(retryDelay)
 *      +--> connecting
 *  any --close--> closed (final)
 * ```
 *
 * `draining` is HTTP/2's graceful end: the server's GOAWAY lets the streams under its last id
 * finish and takes no new ones. The slot keeps its connection while they do, the ledger leases
 * nothing more on it (`slot.draining`) and counts the streams still out, and the connection's last
 * stream to finish (`drained`) sends the slot to dial its replacement. An HTTP/1.1 connection
 * carries one request and never drains: its end is `ended`, as before, in the same four events.
 *
 * The central distinction: a server's normal end of a connection is not a
 * failure. A connection that served a complete response and then ends (the
 * server's FIN while idle, `Connection: close`, an HTTP/1.0 response, an idle
 * timeout) is a clean end, and so is every connection lifeline retires itself
 * (`recycle`: idle and age limits, a server's `Keep-Alive`, a body too large,
 * an abort in flight). After a clean end the slot dials a replacement at once:
 * no delay, no failure counted. Only failures back off: a dial that fails, a
 * connection that dies before its first complete response, a reset or protocol
 * error or timeout on a request in flight. The connection tells which it was
 * (`SlotConnection.onEnd`); counting real servers' normal ends as failures drove
 * slots into growing backoff against nginx and python's http.server (issue 14).
 *
 * A healthy slot is either free or leased: the lease is the supervisor's
 * business (its ledger, `ledger.ts`), and a slot is reported `busy` while it is
 * healthy and leased. Leases stay out of this machine on purpose: a lease and a
 * release are the two events of every request, and as machine events they cost
 * 2-4 us each; the ledger answers them in a fraction of that.
 *
 * Pure: no sockets here. Connections come from a `ConnectionDialer` in the
 * input (the pool's opens sockets; tests pass their own), and the slot reports
 * `slot.ready` and `slot.down` to the ledger and `slot.failed` to its supervisor
 * (`ledger` and `parent`, also passed in through input).
 */
import { assign, fromPromise, sendTo, setup, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { teardown } from './teardown.js';
import type { BackoffPolicy } from './backoff.js';

/** How a connection ended: `clean` for a normal end (see the module comment), else a failure, with its error if any. */
export interface ConnectionEnd {
  clean: boolean;
  error: Error | undefined;
  /**
   * For a server's close of an idle connection that had served a response: how long it had
   * been idle (ms), from which the supervisor learns the server's idle timeout; else -1.
   */
  idleFor: number;
  /**
   * Why a clean end came: `server-closed` (the server ended it after serving), or the cause
   * lifeline retired it for (`connection-close`, `deadline`, `aborted`, `body-too-large`...).
   */
  reason?: string;
  /**
   * A clean end that leaves the connection carrying the streams it has to their end (an HTTP/2
   * GOAWAY with streams open): the slot waits in `draining` for {@link SlotConnection.onDrained}.
   */
  draining?: boolean;
}

/** What a slot needs from a live connection; the pool's HTTP connection implements it. */
export interface SlotConnection {
  /** Close the socket now. Idempotent. */
  destroy(): void;
  /**
   * No more requests, and no more word of its end: close once the request in flight, if
   * any, has settled (at once when none is). The slot retires a connection it leaves while
   * a caller may still be reading the last response on it. Idempotent.
   */
  retire(): void;
  /** Settles once the socket is fully closed. Never rejects. */
  readonly closed: Promise<void>;
  /**
   * Calls `listener` once when the connection ends, or is known to be ending (a response
   * said `Connection: close`), with whether that was a clean end, unless `retire()` came first.
   */
  onEnd(listener: (end: ConnectionEnd) => void): void;
  /**
   * Whether it carries many leases at once (HTTP/2 streams): then the ledger leases it up to
   * `capacity` times, and no single request's failure retires it. Absent: one lease at a time.
   */
  readonly multiplexed?: boolean;
  /** How many leases it may carry at once now (the server's SETTINGS_MAX_CONCURRENT_STREAMS, capped). Read live by the ledger. */
  readonly capacity?: number;
  /** Calls `listener` whenever `capacity` changes; one listener (the ledger's), dropped by `retire()`. */
  onCapacity?(listener: (() => void) | undefined): void;
  /**
   * After an end that said `draining`: calls `listener` once, when the last stream it carried has
   * finished or the connection is gone (a microtask later if that is already so). Dropped by `retire()`.
   */
  onDrained?(listener: () => void): void;
}

/** How a slot's dial ended, as the dialer reports it: these are the slot's own events. */
export type DialOutcome = { type: 'dial.done'; connection: SlotConnection } | { type: 'dial.error'; error: Error };

/**
 * Opens a slot's connections. A dial is a call and two events, not an invoked actor:
 * creating, starting and stopping a promise actor (and its AbortController) for every
 * connection was two thirds of the slot machine's cost per reconnect (about 60 of 90 us,
 * measured alone), paid once per connection a server ends in the normal course.
 */
export interface ConnectionDialer {
  /** Starts a dial for slot `index`; `report` is called once with its outcome, never after `cancel(index)`, never synchronously. */
  dial(index: number, report: (outcome: DialOutcome) => void): void;
  /** Abandons slot `index`'s dial, if one is under way; a socket it still brings is closed, unreported. */
  cancel(index: number): void;
}

/**
 * What every slot of a pool shares: one object, kept by reference in each slot's
 * context. A slot's context is copied at every `assign`; holding these seven fields
 * in it directly made each copy twice as large, and each idle slot carry its own set.
 */
export interface SlotShared {
  /** The supervisor: receives `slot.failed`. */
  parent: AnyActorRef;
  /** The lease ledger: receives `slot.ready` and `slot.down`. */
  ledger: AnyActorRef;
  /** Opens the slots' connections: started on entering `connecting`, cancelled on leaving it. */
  dialer: ConnectionDialer;
  backoff: BackoffPolicy;
  random: () => number;
  /** A connection that stays up this long resets the failure count (ms). */
  stableAfter: number;
  /** Monotonic ms, on the pool's clock: how long a connection stayed up. */
  now: () => number;
}

export interface SlotInput {
  /** Index of the slot in its pool, reported back in every event. */
  index: number;
  shared: SlotShared;
}

/** What a slot has lived through since it started: summed over slots by `pool.stats()`. */
export interface SlotCounts {
  /** Connections opened. */
  dials: number;
  /** Connections that ended cleanly: closed by the server after serving, or retired by lifeline. */
  cleanEnds: number;
  /** Failed dials and connections that failed. */
  failures: number;
  /** Times the slot entered backoff (only a failure leads there). */
  backoffs: number;
}

export interface SlotContext {
  readonly index: number;
  /** The pool's, by reference. */
  readonly shared: SlotShared;
  connection: SlotConnection | undefined;
  /** Consecutive failures since the last stable connection. */
  attempts: number;
  /** The delay chosen on entering `backoff` (ms). */
  retryDelay: number;
  /** When the current connection came up (`now()`). */
  upSince: number;
  lastError: Error | undefined;
  /** Why the connection last left `healthy` cleanly (`server-closed`, `idle`, `deadline`...): the recorded reason. */
  endReason: string | undefined;
  /**
   * The type of the event that entered the current state. A flight recorder
   * subscribed to the slot reads it from the snapshot, so a pool's recording needs
   * no XState inspector, which would cost every event of the system, leases included.
   */
  cause: string;
  /** Mutated in place by the slot's own actions: counters, read by `stats()`, never a reason to notify. */
  readonly counts: SlotCounts;
}

export type SlotEvent =
  | DialOutcome
  /** The connection ended cleanly, or announced it will (`Connection: close`). */
  | { type: 'ended'; idleFor: number; reason?: string }
  /** The connection failed. */
  | { type: 'lost'; error: Error | undefined }
  /** HTTP/2: the server's GOAWAY, with streams open on the connection: they finish, none start (a clean end). */
  | { type: 'goaway' }
  /** The draining connection's last stream has finished (or the connection is gone). */
  | { type: 'drained' }
  /** From the ledger: retire the connection (a limit, a caller's verdict, homing) and dial a new one. */
  | { type: 'recycle'; reason?: string }
  | { type: 'close' };

/** Events a slot sends its supervisor. */
export type SlotReport =
  | { type: 'slot.ready'; slot: number; connection: SlotConnection }
  /** The slot's connection takes no new leases; those out finish on it, and `slot.down` follows. */
  | { type: 'slot.draining'; slot: number }
  /** The slot's connection is gone or going; `idleFor` as in {@link ConnectionEnd} (-1 when not an idle close). */
  | { type: 'slot.down'; slot: number; idleFor: number }
  | { type: 'slot.failed'; slot: number; error: Error };

/** The states of the slot machine. */
export type SlotMachineState = 'connecting' | 'healthy' | 'draining' | 'poisoned' | 'backoff' | 'closed';

/** The plain-string states a slot is in, as `stats()` and inspection report them: `busy` is healthy and leased. */
export type SlotState = SlotMachineState | 'busy';

/** The default for `stableAfter`: a connection must stay up this long before failures are forgotten. */
export const SLOT_STABLE_AFTER = 1_000;

/**
 * Whether the connection now leaving `healthy` stayed up `stableAfter` ms: then it forgives
 * the failures before it (a timestamp, not a timer per connection).
 */
function stableSpell(context: SlotContext): boolean {
  return context.attempts > 0 && context.shared.now() - context.upSince >= context.shared.stableAfter;
}

/** The delay before the next dial after `attempts` consecutive failures: the first retry after a healthy spell is immediate. */
function retryDelayAfter(context: SlotContext, attempts: number): number {
  return attempts <= 1 ? 0 : context.shared.backoff(attempts - 1, context.shared.random);
}

// Each transition updates the context with one `assign` that also notes its cause: every
// assign copies the context, and a reconnect (end, dial) made five copies where two do.
export const slotMachine = setup({
  types: {
    context: {} as SlotContext,
    events: {} as SlotEvent,
    input: {} as SlotInput,
  },
  actors: {
    teardown,
  },
  delays: {
    retryDelay: ({ context }) => context.retryDelay,
  },
  actions: {
    reportReady: sendTo(
      ({ context }) => context.shared.ledger,
      ({ context }): SlotReport => ({ type: 'slot.ready', slot: context.index, connection: context.connection! }),
    ),
    /** Leaving `healthy` or `draining`: its connection is gone, or, for a GOAWAY, drains (one event either way). */
    reportDown: sendTo(
      ({ context }) => context.shared.ledger,
      ({ context, event }): SlotReport =>
        event.type === 'goaway' ? { type: 'slot.draining', slot: context.index } : { type: 'slot.down', slot: context.index, idleFor: event.type === 'ended' ? event.idleFor : -1 },
    ),
    reportFailed: sendTo(
      ({ context }) => context.shared.parent,
      ({ context }): SlotReport => ({ type: 'slot.failed', slot: context.index, error: context.lastError! }),
    ),
    noteCause: assign({ cause: ({ event }) => event.type }),
    /** The dial's outcome comes back as `dial.done` or `dial.error`; leaving `connecting` first cancels it. */
    startDial: ({ context, self }) =>
      context.shared.dialer.dial(context.index, (outcome) => {
        // A slot stopped with its pool (no exit action cancels the dial then) takes no connection.
        if (self.getSnapshot().status === 'active') self.send(outcome);
        else if (outcome.type === 'dial.done') outcome.connection.destroy();
      }),
    cancelDial: ({ context }) => context.shared.dialer.cancel(context.index),
    /**
     * The connection's end becomes `ended` (clean) or `lost` (a failure). A listener and not an
     * invoked callback actor: healing 16 slots at once spent a tenth of its CPU creating, starting
     * and stopping those actors. `retire` on exit silences it, so a retired connection's late
     * end never reaches the slot's next connection; a slot stopped with its pool (no exit
     * action runs then) ignores it.
     */
    watchConnection: ({ context, self }) =>
      context.connection!.onEnd((end) => {
        // A slot stopped with its pool (no exit action runs then) hears no more of its connection.
        if (self.getSnapshot().status !== 'active') return;
        self.send(!end.clean ? { type: 'lost', error: end.error } : end.draining ? { type: 'goaway' } : { type: 'ended', idleFor: end.idleFor, reason: end.reason });
      }),
    /** A draining connection tells when its last stream is done (a listener, as `watchConnection`). */
    watchDrained: ({ context, self }) => {
      const connection = context.connection!;
      const drained = () => {
        if (self.getSnapshot().status === 'active') self.send({ type: 'drained' });
      };
      if (connection.onDrained) connection.onDrained(drained);
      else queueMicrotask(drained);
    },
    /** Closed at once, or once the caller reading its last response is done; a GOAWAY's connection drains first. */
    retireConnection: ({ context, event }) => {
      if (event.type !== 'goaway') context.connection?.retire();
    },
    // Counters are bumped in place: an assign per count would copy the context on every connect.
    countDial: ({ context }) => void context.counts.dials++,
    countCleanEnd: ({ context }) => void context.counts.cleanEnds++,
    countFailure: ({ context }) => void context.counts.failures++,
    countBackoff: ({ context }) => void context.counts.backoffs++,
    /** Up: the connection, and when it came up. */
    noteUp: assign(({ context, event }) => ({
      cause: event.type,
      upSince: context.shared.now(),
      connection: event.type === 'dial.done' ? event.connection : undefined,
    })),
    /** A clean end: the connection is forgotten (it closes on its own); failures are forgiven if it was stable. */
    noteCleanEnd: assign(({ context, event }) => {
      const endReason = event.type === 'ended' || event.type === 'recycle' ? event.reason : undefined;
      return stableSpell(context)
        ? { attempts: 0, lastError: undefined, cause: event.type, connection: undefined, endReason }
        : { cause: event.type, connection: undefined, endReason };
    }),
    /** A GOAWAY: a clean end whose connection is kept while its streams finish. */
    noteDraining: assign(({ context, event }) =>
      stableSpell(context) ? { attempts: 0, lastError: undefined, cause: event.type, endReason: 'goaway' } : { cause: event.type, endReason: 'goaway' },
    ),
    /** The drained connection is forgotten (retired on leaving `draining`). */
    noteDrained: assign(({ event }) => ({ cause: event.type, connection: undefined })),
    /** A connection that failed: one more failure (after forgiving those before a stable one); it is torn down next. */
    noteLost: assign(({ context, event }) => ({
      attempts: (stableSpell(context) ? 0 : context.attempts) + 1,
      lastError: event.type === 'lost' ? event.error : undefined,
      cause: event.type,
    })),
    /** A dial that failed: one more failure, and the delay before the next dial. */
    noteDialFailed: assign(({ context, event }) => {
      const attempts = context.attempts + 1;
      return {
        attempts,
        lastError: event.type === 'dial.error' ? event.error : undefined,
        cause: event.type,
        retryDelay: retryDelayAfter(context, attempts),
      };
    }),
    /** The failed connection is gone: back off before the next dial. */
    noteTornDown: assign(({ context, event }) => ({ cause: event.type, connection: undefined, retryDelay: retryDelayAfter(context, context.attempts) })),
  },
}).createMachine({
  id: 'slot',
  context: ({ input }) => ({
    index: input.index,
    shared: input.shared,
    connection: undefined,
    attempts: 0,
    retryDelay: 0,
    upSince: 0,
    lastError: undefined,
    endReason: undefined,
    cause: 'xstate.init',
    counts: { dials: 0, cleanEnds: 0, failures: 0, backoffs: 0 },
  }),
  initial: 'connecting',
  on: {
    close: '.closed',
  },
  states: {
    connecting: {
      entry: 'startDial',
      exit: 'cancelDial',
      on: {
        'dial.done': { target: 'healthy', actions: ['countDial', 'noteUp'] },
        'dial.error': { target: 'backoff', actions: ['countFailure', 'noteDialFailed', 'reportFailed'] },
      },
    },
    healthy: {
      entry: ['watchConnection', 'reportReady'],
      exit: ['retireConnection', 'reportDown'],
      on: {
        ended: { target: 'connecting', actions: ['countCleanEnd', 'noteCleanEnd'] },
        recycle: { target: 'connecting', actions: ['countCleanEnd', 'noteCleanEnd'] },
        lost: { target: 'poisoned', actions: ['countFailure', 'noteLost'] },
        goaway: { target: 'draining', actions: ['countCleanEnd', 'noteDraining'] },
      },
    },
    draining: {
      entry: 'watchDrained',
      exit: ['retireConnection', 'reportDown'],
      on: {
        drained: { target: 'connecting', actions: 'noteDrained' },
      },
    },
    poisoned: {
      invoke: {
        id: 'teardown',
        src: 'teardown',
        input: ({ context }) => context.connection,
        onDone: { target: 'backoff', actions: 'noteTornDown' },
      },
    },
    backoff: {
      entry: 'countBackoff',
      after: {
        retryDelay: { target: 'connecting', actions: 'noteCause' },
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
