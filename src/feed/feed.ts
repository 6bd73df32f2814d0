/**
 * `Feed`: one self-healing WebSocket feed, the public face of a feed machine.
 *
 * ```ts
 * const feed = Feed.connect({
 *   url: 'wss://stream.example.com/ws',
 *   subscriptions: ['{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}'],
 *   heartbeat: { interval: 15_000, timeout: 5_000 },
 *   staleAfter: 30_000,
 * });
 * feed.on('message', (data) => book.apply(JSON.parse(data as string)));
 * for await (const { data } of feed.messages()) { ... }
 * ```
 */
import { EventEmitter } from 'node:events';
import { createActor } from 'xstate';
import { closeActor } from '../transport/close-actor.js';
import { recorderFor } from '../telemetry/options.js';
import { watchStates } from '../telemetry/state-watch.js';
import { FeedObserver } from './observer.js';
import type { FlightRecorder, TransitionRecord } from '../telemetry/recorder.js';
import { LifelineError } from '../errors.js';
import { feedMachine, feedState, type FeedActor, type FeedState } from '../machines/feed.js';
import { MessageQueue, type FeedMessage } from './message-queue.js';
import { FeedConnector } from './connector.js';
import { sealMessage } from './sealed-text.js';
import { SendQueue } from './send-queue.js';
import { checkBoolean, checkKnownKeys, checkObject } from '../validate.js';
import { holdProcess } from './process-hold.js';
import { resolveFeedOptions, resolveSetUrls, type FeedOptions, type ResolvedFeedOptions } from './options.js';
import type { UrlProvider } from './providers.js';
import type { FeedStats } from '../telemetry/stats.js';

export type { FeedStats } from '../telemetry/stats.js';

export type { FeedActor } from '../machines/feed.js';


/** Options of one `feed.send`. */
export interface SendOptions {
  /**
   * While the feed is not live (connecting, subscribing, backing off), queue the message
   * instead of refusing it with NOT_LIVE: it is sent, in order, right after the subscriptions
   * on the next connect. Bounded by the `sendQueue` option. Default false.
   */
  queue?: boolean;
}

export interface FeedEvents {
  message: [data: string | Buffer, isBinary: boolean];
  state: [state: FeedState];
  error: [error: LifelineError];
  /**
   * A `messages()` reader fell behind and its buffer overflowed: once per episode (until that
   * reader has emptied its buffer again), however many messages it drops (`stats().dropped`).
   */
  slow: [];
}

/** A listener that throws must not break the socket's read loop: rethrow it on its own turn, as xstate does. */
function reportListenerError(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

/** Set by the class: the feed's flight recorder, for the dashboard and the tests. */
let recorderOf: (feed: Feed) => FlightRecorder | undefined;

/** @internal The flight recorder of `feed` (`history` option), or undefined when recording is off. */
export function feedRecorder(feed: Feed): FlightRecorder | undefined {
  return recorderOf(feed);
}

export class Feed extends EventEmitter<FeedEvents> implements AsyncDisposable {
  static {
    recorderOf = (feed) => feed.#recorder;
  }

  /** The feed machine's actor, for inspection. */
  readonly actor: FeedActor;
  /** The flight recorder (`history` option), or undefined when recording is off. */
  readonly #recorder: FlightRecorder | undefined;
  readonly #options: ResolvedFeedOptions;
  readonly #queues = new Set<MessageQueue>();
  /** Metrics and diagnostics hooks (`meter` option, `lifeline:feed:*` channels). */
  readonly #metrics: FeedObserver;
  readonly #connector: FeedConnector;
  /** Made on the first queued send: most feeds never queue one. */
  #sendQueue: SendQueue | undefined;
  #messages = 0;
  #dropped = 0;
  #slowConsumers = 0;
  #closing: Promise<void> | undefined;
  /** Lets the process exit: set while the feed holds it open (`ref`), called once it is closed. */
  #release: (() => void) | undefined;

  private constructor(options: ResolvedFeedOptions) {
    super();
    this.#options = options;
    this.#connector = new FeedConnector(options, (data, isBinary) => this.#deliver(data, isBinary));
    this.actor = createActor(feedMachine, {
      clock: options.machine.clock,
      input: { options: options.machine, opener: this.#connector },
      // Named by its first URL as errors name it (scheme://host:port, no path or query: either may hold a key).
      systemId: this.#connector.url,
      // Given here, not through `actor.system.inspect` after: the inspector sees the feed's birth.
      inspect: options.inspection.inspect,
    });
    watchStates(this.actor, {
      state: feedState,
      changed: ({ to, error, snapshot }) => {
        // Live: what was queued goes first, right after the subscriptions (before any listener can send).
        if (to === 'healthy') this.#sendQueue?.flush(snapshot.context.connection!);
        else if (to === 'closing' || to === 'closed') this.#refuseQueued();
        // Every new error comes with a change of state: why the feed was poisoned, or gave up.
        if (error && this.listenerCount('error') > 0) this.#safeEmit('error', error);
        this.#safeEmit('state', to);
        if (to === 'closed') {
          this.#endQueues();
          this.#letGo();
        }
      },
      failed: (error) => {
        this.#letGo();
        this.#refuseQueued();
        this.#safeEmit('error', new LifelineError('FEED_CLOSED', 'the feed stopped on an internal error', { cause: error }));
      },
    });
    this.#metrics = new FeedObserver(this, options.inspection.meter);
    // Subscribed to the feed like the rest: no inspector, which would see every event and every child actor.
    this.#recorder = recorderFor(options.inspection);
    this.#recorder?.watch('feed', this.actor, feedState);
  }

  /**
   * Starts a feed and returns it at once; it connects, subscribes and heals in
   * the background. Throws `INVALID_OPTIONS` for a bad option. Until `close()`,
   * the feed keeps the process alive (unless `ref: false`).
   */
  static connect(options: FeedOptions): Feed {
    const feed = new Feed(resolveFeedOptions(options));
    if (feed.#options.ref) feed.#release = holdProcess();
    feed.actor.start();
    return feed;
  }

  /** `connecting`, `subscribing`, `healthy` (live), `poisoned`, `backoff`, `closing` or `closed`. */
  get state(): FeedState {
    return feedState(this.actor.getSnapshot());
  }

  /** Keeps `message` among the subscriptions (re-sent on every connect) and sends it now if connected. */
  subscribe(message: string): void {
    if (typeof message !== 'string') throw new LifelineError('INVALID_REQUEST', 'Expected a subscription to be a string');
    // Sealed: the machine's events and context are what an inspector sees, and a subscription may carry a key.
    this.actor.send({ type: 'subscribe', message: sealMessage(message, this.#options.inspection) });
  }

  /** Forgets `subscription`; if connected, sends `message` (the server's unsubscribe request), when given. */
  unsubscribe(subscription: string, message?: string): void {
    if (typeof subscription !== 'string' || (message !== undefined && typeof message !== 'string')) {
      throw new LifelineError('INVALID_REQUEST', 'Expected a subscription and an unsubscribe message to be strings');
    }
    const inspection = this.#options.inspection;
    this.actor.send({
      type: 'unsubscribe',
      subscription: sealMessage(subscription, inspection),
      message: message === undefined ? undefined : sealMessage(message, inspection),
    });
  }

  /**
   * Sends a text message, and settles once it is handed to the socket. While the feed is not
   * live it rejects with `NOT_LIVE`, or with `{ queue: true }` waits in the send queue for the
   * next connect (`SEND_QUEUE_FULL`, `SEND_EXPIRED`: see the `sendQueue` option). Rejects with
   * `FEED_CLOSED` once the feed is closing or closed, a queued message too.
   *
   * ```ts
   * await feed.send(JSON.stringify({ method: 'ping' }), { queue: true });
   * ```
   */
  send(text: string, options?: SendOptions): Promise<void> {
    let queue: boolean;
    try {
      queue = wantsQueue(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const snapshot = this.actor.getSnapshot();
    const state = feedState(snapshot);
    if (state === 'closed' || state === 'closing' || this.#closing) {
      return Promise.reject(new LifelineError('FEED_CLOSED', 'the feed is closed'));
    }
    if (state !== 'healthy') {
      if (!queue) return Promise.reject(new LifelineError('NOT_LIVE', `the feed is not live (${state})`));
      this.#sendQueue ??= new SendQueue(this.#options.sendQueue, this.#options.machine.clock);
      return this.#sendQueue.add(text);
    }
    // Healthy: the machine holds the connection it went live on.
    return snapshot.context.connection!.sendAndConfirm(text);
  }

  /**
   * An async iterator over the messages from now on, through a bounded buffer
   * (`messageBuffer`, overflow policy `overflow`). It ends when the feed closes;
   * `break` out of the loop to stop it.
   */
  messages(): AsyncIterableIterator<FeedMessage> {
    const queue = new MessageQueue(
      this.#options.messageBuffer,
      this.#options.overflow === 'drop-oldest',
      (episode) => {
        this.#dropped++;
        if (!episode) return;
        this.#slowConsumers++;
        this.#safeEmit('slow');
      },
      (q) => this.#queues.delete(q),
    );
    if (this.actor.getSnapshot().status !== 'active') queue.end();
    else this.#queues.add(queue);
    return queue;
  }

  /** The feed's last state changes (up to `history`), oldest first, as JSON-ready records. Secrets are scrubbed. */
  history(): TransitionRecord[] {
    return this.#recorder?.history() ?? [];
  }

  stats(): FeedStats {
    const context = this.actor.getSnapshot().context;
    return {
      state: this.state,
      messages: this.#messages,
      dropped: this.#dropped,
      slowConsumers: this.#slowConsumers,
      connections: this.#connector.connections,
      attempts: context.attempts,
      url: this.#connector.url,
      protocol: context.connection?.protocol,
      subscriptions: context.subscriptions.length,
      queued: this.#sendQueue?.length ?? 0,
      lastError: context.lastError?.code,
    };
  }

  /**
   * Replaces the feed's endpoints (as the `urls` option takes them: URL strings, `URL`s, URL
   * providers). It takes effect at the next connect: a live connection stays up. An endpoint in
   * both lists (the same URL, or the same provider function) keeps its count of recent
   * failures, which orders the next connects (fewest first); a new one starts at none.
   * Throws `INVALID_OPTIONS` for a bad list, `FEED_CLOSED` once the feed is closing or closed.
   *
   * ```ts
   * feed.setUrls(['wss://a.example.com/ws', 'wss://b.example.com/ws']);
   * ```
   */
  setUrls(urls: readonly (string | URL | UrlProvider)[]): void {
    const state = this.state;
    if (state === 'closed' || state === 'closing' || this.#closing) throw new LifelineError('FEED_CLOSED', 'the feed is closed');
    const endpoints = resolveSetUrls(urls, this.#options.inspection);
    this.#connector.listed = true;
    this.actor.send({ type: 'setUrls', urls: endpoints });
  }

  /** Sends a normal close and resolves once the socket is gone and every timer stopped. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    await closeActor(this.actor);
    // Stopping the machine aborted a connect in flight; it settles once its socket is gone.
    await this.#connector.settled();
    this.#letGo();
    this.#metrics.stop();
    this.#endQueues();
  }

  /** A closing or closed feed sends nothing more: what waits in the send queue is refused. */
  #refuseQueued(): void {
    if (!this.#sendQueue?.length) return;
    const error = this.actor.getSnapshot().context.lastError;
    const cause = error?.code === 'RECONNECTS_EXHAUSTED' ? error : undefined;
    this.#sendQueue.refuseAll(new LifelineError('FEED_CLOSED', 'the feed closed before a queued message could be sent', { cause }));
  }

  /** Stops holding the process open: once closed, by close() or on its own (reconnects exhausted). */
  #letGo(): void {
    this.#release?.();
    this.#release = undefined;
  }

  #deliver(data: string | Buffer, isBinary: boolean): void {
    this.#messages++;
    if (this.#metrics.observesMessages) this.#metrics.message(data, isBinary);
    try {
      this.emit('message', data, isBinary);
    } catch (error) {
      reportListenerError(error);
    }
    if (this.#queues.size > 0) for (const queue of this.#queues) queue.push(data, isBinary);
  }

  #safeEmit<K extends keyof FeedEvents>(event: K, ...args: FeedEvents[K]): void {
    try {
      (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      reportListenerError(error);
    }
  }

  #endQueues(): void {
    const error = this.actor.getSnapshot().context.lastError;
    const exhausted = error?.code === 'RECONNECTS_EXHAUSTED' ? error : undefined;
    for (const queue of this.#queues) queue.end(exhausted);
    this.#queues.clear();
  }
}

/** `send`'s options: only `queue`, a boolean. */
function wantsQueue(options: unknown): boolean {
  if (options === undefined) return false;
  try {
    const given = checkObject('options', options)!;
    checkKnownKeys('options', given, ['queue']);
    return checkBoolean('options.queue', given.queue, false);
  } catch (error) {
    throw new LifelineError('INVALID_REQUEST', error instanceof Error ? error.message : 'Expected `options` to be an object', { cause: error });
  }
}
