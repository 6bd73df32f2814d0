/**
 * What `pool.stats()` and `feed.stats()` return: plain counts, read by the
 * metrics and the dashboard as well as by callers. Here, in a leaf, so that
 * telemetry reads them without importing the pool or the feed.
 */
import type { FeedState } from '../machines/feed.js';

/**
 * A count of slots by state (`healthy + busy + draining + connecting + backoff + poisoned + closed == connections`),
 * and what the pool has lived through since `connect()`.
 */
export interface PoolStats {
  connections: number;
  healthy: number;
  busy: number;
  /** HTTP/2 slots whose server sent GOAWAY: their streams finish, none starts on them; then they dial anew. 0 for HTTP/1.1. */
  draining: number;
  connecting: number;
  backoff: number;
  poisoned: number;
  /** Slots stopped by `close()`; 0 while the pool is open. */
  closed: number;
  /** Callers waiting in `acquire()`. */
  waiting: number;
  /** HTTP/2 streams leased now, over every connection (a slot carries up to its server's stream limit); 0 for HTTP/1.1 connections, whose leases `busy` counts. */
  streams: number;
  /** Connections opened since connect(). */
  dials: number;
  /** Connections that ended normally: closed by the server after serving a response, or retired by the pool. Never backed off. */
  cleanEnds: number;
  /** Failed dials, and connections that failed (before their first response, or under a request: reset, timeout, protocol error). */
  failures: number;
  /** Times a slot entered backoff: only failures lead there. */
  backoffs: number;
  /** Requests `pool.request` sent again on another connection because they never left the process. */
  resends: number;
  /** Idempotent requests `pool.request` replayed after dying, unanswered, on a reused connection (the stale race). */
  replays: number;
}

/** A feed's state and what it has lived through since `connect()`. */
export interface FeedStats {
  state: FeedState;
  /** Messages received since connect(). */
  messages: number;
  /** Messages dropped by full `messages()` buffers. */
  dropped: number;
  /** Slow-consumer episodes: times a `messages()` reader fell behind until its buffer overflowed (the `slow` event). */
  slowConsumers: number;
  /** Connections opened since connect() (the first one included). */
  connections: number;
  /** Consecutive failures since the feed was last stably live. */
  attempts: number;
  /** The endpoint of the current or last connect, as scheme://host:port (`(url provider)` until a URL provider first answered). */
  url: string;
  /** The subprotocol the server chose for the current connection ('' for none); undefined while not connected. */
  protocol: string | undefined;
  subscriptions: number;
  /** Messages waiting in the send queue (`send(text, { queue: true })`) for the feed to go live. */
  queued: number;
  /** The last error's code, if any. */
  lastError: string | undefined;
}
