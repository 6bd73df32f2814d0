/**
 * The feed machine: the life of one WebSocket market-data feed.
 *
 * ```
 *  connecting --open--> connected.subscribing --all sent / all acked--> connected.healthy (live)
 *      |                      |                                          |  missed pong, stale,
 *    failed              lost / ack timeout                              |  lost (close, error)
 *      v                      v                                          v
 *   backoff <------------ poisoned <-------------------------------------+
 *      |  after(retryDelay)          (maxReconnects reached: closed, with an error)
 *      +--> connecting
 *  any --close--> closing --> closed (final)
 * ```
 *
 * Pure: the `open` actor (dial a WebSocket) is a placeholder the Feed provides.
 * Messages do not pass through the machine: they go from the socket straight to
 * the Feed's listeners, so a busy feed costs no machine event per message. The
 * machine sees only what changes its state: open, lost, acks, missed pongs,
 * staleness, and the caller's subscribe/unsubscribe/close.
 */
import type { TimedClock } from '../clock.js';
import { assign, fromPromise, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { teardown } from './teardown.js';
import { LifelineError } from '../errors.js';
import type { BackoffPolicy } from './backoff.js';

/** What the feed machine needs from an open WebSocket; src/transport/websocket.ts implements it over ws. */
export interface FeedConnection {
  send(text: string): void;
  /** Sends, and settles once the frame is handed to the socket; rejects with `NOT_LIVE` if the socket closed first. */
  sendAndConfirm(text: string): Promise<void>;
  ping(): void;
  /** Sends a normal close (1000) and settles once the socket is gone (terminating it if the peer is slow). */
  close(): Promise<void>;
  /** Drops the socket at once. Idempotent. */
  destroy(): void;
  readonly closed: Promise<void>;
  /** The subprotocol the server chose ('' for none). */
  readonly protocol: string;
  /** Clock time of the last message received (see `FeedClock.now`). */
  readonly lastMessageAt: number;
  /**
   * Reports `pong` and `lost`, and `message` too when `messages` is set (only the
   * ack check asks: the hot path delivers messages elsewhere). Returns an unsubscribe.
   */
  onEvent(listener: (event: FeedConnectionEvent) => void, options?: { messages?: boolean }): () => void;
  /**
   * Watches the connection while the feed is connected (the transport's `ConnectionWatch`):
   * reports `lost` when it dies, misses a pong or goes quiet, and `ack` for each message
   * `isAck` recognises. One watch at a time; `unwatch()` ends it, and nothing is reported after.
   */
  watch(options: FeedWatchOptions, report: (event: FeedWatchEvent) => void): void;
  unwatch(): void;
}

/** What the watch of a connected feed checks. */
export interface FeedWatchOptions {
  isAck: ((data: string | Buffer, isBinary: boolean) => boolean) | undefined;
  heartbeat: HeartbeatOptions | undefined;
  staleAfter: number | undefined;
  clock: FeedClock;
}

/** What the watch reports: the machine's own events. */
export type FeedWatchEvent = { type: 'lost'; error: LifelineError } | { type: 'ack' };

export type FeedConnectionEvent =
  | { type: 'pong' }
  | { type: 'message'; data: string | Buffer; isBinary: boolean }
  | { type: 'lost'; error: LifelineError };

/** The clock a feed runs on: lifeline's one `Clock`, with its `now()` (xstate's `SimulatedClock` is one). */
export type FeedClock = TimedClock;

export interface HeartbeatOptions {
  /** Send a WebSocket ping this often (ms). */
  interval: number;
  /** Poison the feed when its pong has not come back this long after the ping (ms). */
  timeout: number;
}

/** How a connect ended, as the opener reports it: these are the machine's own events. */
export type FeedOpenOutcome = { type: 'open.done'; connection: FeedConnection } | { type: 'open.error'; error: unknown };

/**
 * Opens the feed's connections; the Feed passes its own in the input, so one machine definition
 * serves every feed. A connect is a call and two events, not an invoked promise actor: as for a
 * pool's slots, the actor and its AbortController per connect cost more than the connect's bookkeeping.
 */
export interface FeedOpener {
  /**
   * Connects to `url` (`urls[index]`); `report` is called once with the outcome, never after
   * `cancel()`, never synchronously.
   */
  open(url: FeedEndpoint, index: number, report: (outcome: FeedOpenOutcome) => void): void;
  /** Abandons the connect under way, if any; a socket it still brings is closed, unreported. */
  cancel(): void;
}

/**
 * A text the feed sends or dials but an XState inspector must not read: a URL whose query holds
 * a token, a subscription that carries an API key. Machine input, context and events are what
 * an inspector sees, so they hold the text sealed; only the opener and the socket `reveal()` it.
 * The Feed's seals show themselves scrubbed to JSON and util.inspect (src/feed/sealed-text.ts).
 */
export interface SealedText {
  reveal(): string;
}

/**
 * One endpoint of a feed: a URL (sealed), or a function the opener calls for one before each
 * connect (a URL provider). The machine only counts failures against it; replacing the list
 * (`setUrls`) keeps the count of each endpoint found in both lists (see {@link sameEndpoint}).
 */
export type FeedEndpoint = SealedText | ((...args: never[]) => unknown);

/** The same endpoint: the same URL, or the same provider function. */
export function sameEndpoint(a: FeedEndpoint, b: FeedEndpoint): boolean {
  if (typeof a === 'function' || typeof b === 'function') return a === b;
  return a.reveal() === b.reveal();
}

/** The same text (a subscription given again, or the one to forget). */
const sameText = (a: SealedText, b: SealedText) => a.reveal() === b.reveal();

/**
 * What the feed machine reads of a feed's options: the Feed resolves and checks them into this
 * one object and passes it as it is. Machine input and context are what an XState inspector
 * sees, so nothing secret is here in the clear: URLs and subscriptions are sealed, and headers,
 * TLS options and providers' answers stay with the connector.
 */
export interface FeedMachineOptions {
  urls: readonly FeedEndpoint[];
  /** Sent, in order, on every connect: sealed, as a subscription may carry a key. */
  subscriptions: readonly SealedText[];
  backoff: BackoffPolicy;
  random: () => number;
  /** Live this long: failures are forgotten (ms). */
  stableAfter: number;
  /** Reconnect attempts before giving up; Infinity for never. */
  maxReconnects: number;
  /** Wait in `subscribing` for each subscription to be acknowledged (`isAck`). */
  isAck: ((data: string | Buffer, isBinary: boolean) => boolean) | undefined;
  ackTimeout: number;
  heartbeat: HeartbeatOptions | undefined;
  staleAfter: number | undefined;
  clock: FeedClock;
}

export interface FeedInput {
  options: FeedMachineOptions;
  /** How to connect. */
  opener: FeedOpener;
}

export interface FeedContext extends FeedMachineOptions {
  opener: FeedOpener;
  connection: FeedConnection | undefined;
  /** Index into `urls` of the current (or next) connection; -1 when `setUrls` dropped the current one. */
  urlIndex: number;
  /** Recent failures per URL; the next connect prefers the URL with the fewest. */
  failures: number[];
  /** Consecutive failures since the feed was last live for `stableAfter`. */
  attempts: number;
  /** Reconnect attempts since the last stable spell, checked against maxReconnects. */
  reconnects: number;
  retryDelay: number;
  pendingAcks: number;
  lastError: LifelineError | undefined;
  /**
   * The type of the event that entered the current state (`xstate.done.actor.open`,
   * `lost`, `xstate.after.retryDelay.feed.backoff`...), noted by each state's entry.
   * The flight recorder, subscribed to the feed, reads it from the snapshot, so
   * recording a feed needs no XState inspector.
   */
  cause: string;
}

export type FeedEvent =
  | { type: 'subscribe'; message: SealedText }
  | { type: 'unsubscribe'; subscription: SealedText; message: SealedText | undefined }
  | { type: 'ack' }
  | { type: 'lost'; error: LifelineError }
  | { type: 'close' }
  /** Replaces the endpoints; the next connect chooses among the new ones. */
  | { type: 'setUrls'; urls: readonly FeedEndpoint[] }
  | FeedOpenOutcome;

export type FeedState = 'connecting' | 'subscribing' | 'healthy' | 'poisoned' | 'backoff' | 'closing' | 'closed';

/** Live this long (ms) and the feed's failure count resets. */
export const FEED_STABLE_AFTER = 5_000;

function asLifelineError(value: unknown): LifelineError {
  if (value instanceof LifelineError) return value;
  return new LifelineError('CONNECT_FAILED', value instanceof Error ? value.message : String(value), { cause: value });
}

/** The URL with the fewest recent failures; ties go to the earliest in the list. */
export function pickUrl(failures: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < failures.length; i++) if (failures[i]! < failures[best]!) best = i;
  return best;
}

export const feedMachine = setup({
  types: {
    context: {} as FeedContext,
    events: {} as FeedEvent,
    input: {} as FeedInput,
  },
  actors: {
    teardown,
    /** A normal close for a caller's `close()`. Never rejects: `closed` follows whatever happens. */
    shutdown: fromPromise<void, FeedConnection | undefined>(async ({ input: connection }) => {
      if (connection) await connection.close().catch(() => {});
    }),
  },
  delays: {
    retryDelay: ({ context }) => context.retryDelay,
    stableAfter: ({ context }) => context.stableAfter,
    ackTimeout: ({ context }) => context.ackTimeout,
  },
  guards: {
    allAcked: ({ context }) => context.isAck === undefined || context.pendingAcks <= 0,
    reconnectsExhausted: ({ context }) => context.reconnects > context.maxReconnects,
  },
  actions: {
    sendSubscriptions: ({ context }) => {
      for (const message of context.subscriptions) context.connection!.send(message.reveal());
    },
    expectAcks: assign({ pendingAcks: ({ context }) => (context.isAck ? context.subscriptions.length : 0) }),
    countAck: assign({ pendingAcks: ({ context }) => context.pendingAcks - 1 }),
    recordSubscribe: assign({
      subscriptions: ({ context, event }) =>
        event.type === 'subscribe' && !context.subscriptions.some((s) => sameText(s, event.message))
          ? [...context.subscriptions, event.message]
          : context.subscriptions,
    }),
    recordUnsubscribe: assign({
      subscriptions: ({ context, event }) =>
        event.type === 'unsubscribe' ? context.subscriptions.filter((s) => !sameText(s, event.subscription)) : context.subscriptions,
    }),
    sendSubscribe: ({ context, event }) => {
      if (event.type === 'subscribe') context.connection?.send(event.message.reveal());
    },
    sendUnsubscribe: ({ context, event }) => {
      if (event.type === 'unsubscribe' && event.message !== undefined) context.connection?.send(event.message.reveal());
    },
    /** A failed connect or a lost connection counts against the feed and against the URL in use. */
    countFailure: assign({
      attempts: ({ context }) => context.attempts + 1,
      failures: ({ context }) => context.failures.map((n, i) => (i === context.urlIndex ? n + 1 : n)),
    }),
    recordLost: assign({
      lastError: ({ event }) => (event.type === 'lost' ? event.error : undefined),
    }),
    forgetFailures: assign({
      attempts: 0,
      reconnects: 0,
      failures: ({ context }) => context.failures.map((n, i) => (i === context.urlIndex ? 0 : n)),
    }),
    chooseRetry: assign({
      // Unlike a pool slot, even the first retry is jittered: a venue restart drops every
      // feed at once, and an immediate retry from all of them is the reconnect storm.
      retryDelay: ({ context }) => context.backoff(Math.max(1, context.attempts), context.random),
      urlIndex: ({ context }) => pickUrl(context.failures),
      reconnects: ({ context }) => context.reconnects + 1,
    }),
    forgetConnection: assign({ connection: undefined }),
    /**
     * An endpoint in both lists keeps its failure count (as nats' `set_server_pool`); a new one
     * starts at 0. A connection in use stays up: the new list counts from the next connect.
     */
    replaceUrls: assign(({ context, event }) => {
      if (event.type !== 'setUrls') return {};
      const at = (url: FeedEndpoint) => context.urls.findIndex((old) => sameEndpoint(old, url));
      const current = context.urls[context.urlIndex];
      return {
        urls: event.urls,
        failures: event.urls.map((url) => context.failures[at(url)] ?? 0),
        urlIndex: current === undefined ? -1 : event.urls.findIndex((url) => sameEndpoint(url, current)),
      };
    }),
    giveUp: assign({
      lastError: ({ context }) =>
        new LifelineError('RECONNECTS_EXHAUSTED', `gave up after ${context.maxReconnects} reconnect attempts`, {
          cause: context.lastError,
        }),
    }),
    destroyConnection: ({ context }) => context.connection?.destroy(),
    /**
     * The connection is watched while connected (death, heartbeat, staleness, acks): a call on
     * the connection, not two invoked callback actors, which were about a third of an idle
     * feed's heap. A feed stopped with its owner (no exit action runs then) hears no more.
     */
    watchConnection: ({ context, self }) =>
      context.connection!.watch({ isAck: context.isAck, heartbeat: context.heartbeat, staleAfter: context.staleAfter, clock: context.clock }, (event) => {
        if (self.getSnapshot().status === 'active') self.send(event);
      }),
    unwatchConnection: ({ context }) => context.connection?.unwatch(),
    /** The outcome comes back as `open.done` or `open.error`; leaving `connecting` first cancels it. */
    startOpen: ({ context, self }) =>
      context.opener.open(context.urls[context.urlIndex]!, context.urlIndex, (outcome) => {
        // A feed stopped with its owner (no exit action cancels the connect then) takes no connection.
        if (self.getSnapshot().status === 'active') self.send(outcome);
        else if (outcome.type === 'open.done') outcome.connection.destroy();
      }),
    cancelOpen: ({ context }) => context.opener.cancel(),
    noteCause: assign({ cause: ({ event }) => event.type }),
  },
}).createMachine({
  id: 'feed',
  context: ({ input: { options, opener } }) => ({
    ...options,
    opener,
    connection: undefined,
    urlIndex: 0,
    failures: options.urls.map(() => 0),
    attempts: 0,
    reconnects: 0,
    retryDelay: 0,
    pendingAcks: 0,
    lastError: undefined,
    cause: 'xstate.init',
  }),
  initial: 'connecting',
  on: {
    close: '.closing',
    subscribe: { actions: 'recordSubscribe' },
    unsubscribe: { actions: 'recordUnsubscribe' },
    setUrls: { actions: 'replaceUrls' },
  },
  states: {
    connecting: {
      entry: ['noteCause', 'startOpen'],
      exit: 'cancelOpen',
      on: {
        'open.done': {
          target: 'connected',
          actions: assign({ connection: ({ event }) => event.connection }),
        },
        'open.error': {
          target: 'backoff',
          actions: ['countFailure', assign({ lastError: ({ event }) => asLifelineError(event.error) })],
        },
      },
    },
    connected: {
      initial: 'subscribing',
      entry: 'watchConnection',
      exit: 'unwatchConnection',
      on: {
        lost: { target: 'poisoned', actions: ['countFailure', 'recordLost'] },
      },
      states: {
        subscribing: {
          entry: ['noteCause', 'expectAcks', 'sendSubscriptions'],
          always: { guard: 'allAcked', target: 'healthy' },
          after: {
            ackTimeout: {
              target: '#feed.poisoned',
              actions: [
                assign({
                  lastError: ({ context }) =>
                    new LifelineError('ACK_TIMEOUT', `${context.pendingAcks} subscription(s) not acknowledged within ackTimeout (${context.ackTimeout} ms)`),
                }),
                assign({ attempts: ({ context }) => context.attempts + 1 }),
              ],
            },
          },
          on: {
            ack: { actions: 'countAck' },
            subscribe: { actions: ['recordSubscribe', 'sendSubscribe'] },
            unsubscribe: { actions: ['recordUnsubscribe', 'sendUnsubscribe'] },
          },
        },
        healthy: {
          entry: 'noteCause',
          after: { stableAfter: { actions: 'forgetFailures' } },
          on: {
            subscribe: { actions: ['recordSubscribe', 'sendSubscribe'] },
            unsubscribe: { actions: ['recordUnsubscribe', 'sendUnsubscribe'] },
          },
        },
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
      always: { guard: 'reconnectsExhausted', target: 'closed', actions: 'giveUp' },
      entry: ['noteCause', 'chooseRetry'],
      after: { retryDelay: 'connecting' },
    },
    closing: {
      entry: 'noteCause',
      invoke: {
        id: 'shutdown',
        src: 'shutdown',
        input: ({ context }) => context.connection,
        onDone: 'closed',
      },
    },
    closed: {
      type: 'final',
      entry: ['noteCause', 'destroyConnection', 'forgetConnection'],
    },
  },
});

export type FeedSnapshot = SnapshotFrom<typeof feedMachine>;

/** Maps a feed snapshot to its plain-string state. */
export function feedState(snapshot: FeedSnapshot): FeedState {
  if (snapshot.status !== 'active') return 'closed';
  const value = snapshot.value;
  if (typeof value === 'string') return value as FeedState;
  return value.connected;
}

/** A running feed machine, as `feed.actor` exposes it. */
export type FeedActor = ActorRefFrom<typeof feedMachine>;
