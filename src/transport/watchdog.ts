/**
 * What watches a feed's connection while the feed machine is connected: the
 * socket's death, the heartbeat (a ping every interval, a pong expected within
 * timeout), staleness (some message within staleAfter, re-armed for the
 * remainder rather than ticking per message) and subscription acknowledgements.
 *
 * It reports `lost` or `ack`; the machine starts it on entering `connected` and
 * stops it on leaving. Plain timers and one listener on the connection, not two
 * invoked callback actors: those were about a third of an idle feed's heap.
 */
import { LifelineError } from '../errors.js';
import type { FeedConnection, FeedWatchEvent, FeedWatchOptions } from '../machines/feed.js';

export class ConnectionWatch {
  readonly #connection: FeedConnection;
  readonly #options: FeedWatchOptions;
  readonly #report: (event: FeedWatchEvent) => void;
  readonly #timers = new Set<unknown>();
  readonly #off: () => void;
  #pongDeadline: unknown;
  #stopped = false;

  constructor(connection: FeedConnection, options: FeedWatchOptions, report: (event: FeedWatchEvent) => void) {
    this.#connection = connection;
    this.#options = options;
    this.#report = report;
    const { isAck, heartbeat, staleAfter, clock } = options;
    this.#off = connection.onEvent(
      (event) => {
        if (event.type === 'lost') this.#lost(event.error);
        else if (event.type === 'pong') this.#pong();
        else if (isAck?.(event.data, event.isBinary)) this.#report({ type: 'ack' });
      },
      { messages: isAck !== undefined },
    );
    if (heartbeat) this.#arm(() => this.#ping(), heartbeat.interval);
    if (staleAfter !== undefined) {
      const start = clock.now();
      this.#arm(() => this.#checkStale(start), staleAfter);
    }
  }

  /** No more reports; every timer cleared. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#off();
    for (const id of this.#timers) this.#options.clock.clearTimeout(id);
    this.#timers.clear();
  }

  #arm(fn: () => void, ms: number): unknown {
    const clock = this.#options.clock;
    const id = clock.setTimeout(() => {
      this.#timers.delete(id);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.add(id);
    return id;
  }

  #ping(): void {
    const heartbeat = this.#options.heartbeat!;
    this.#connection.ping();
    if (this.#pongDeadline === undefined) {
      this.#pongDeadline = this.#arm(
        () => this.#lost(new LifelineError('HEARTBEAT_TIMEOUT', `no pong within heartbeat.timeout (${heartbeat.timeout} ms)`)),
        heartbeat.timeout,
      );
    }
    this.#arm(() => this.#ping(), heartbeat.interval);
  }

  #pong(): void {
    if (this.#pongDeadline === undefined) return;
    this.#options.clock.clearTimeout(this.#pongDeadline);
    this.#timers.delete(this.#pongDeadline);
    this.#pongDeadline = undefined;
  }

  #checkStale(since: number): void {
    const staleAfter = this.#options.staleAfter!;
    const quiet = this.#options.clock.now() - Math.max(this.#connection.lastMessageAt, since);
    if (quiet >= staleAfter) this.#lost(new LifelineError('FEED_STALE', `no message for staleAfter (${staleAfter} ms)`));
    else this.#arm(() => this.#checkStale(since), staleAfter - quiet);
  }

  #lost(error: LifelineError): void {
    if (!this.#stopped) this.#report({ type: 'lost', error });
  }
}
