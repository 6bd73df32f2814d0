/**
 * Every error lifeline produces is a `LifelineError` with a stable `code`.
 * Callers branch on the code, never on the message; a code is never reused
 * for a second meaning. The underlying error, if any, is kept in `cause`.
 *
 * ```ts
 * try { await pool.request({ path: '/order', method: 'POST', body }) }
 * catch (err) { if (err instanceof LifelineError && err.code === 'ACQUIRE_TIMEOUT') shed() }
 * ```
 */
export const ERROR_CODES = {
  INVALID_OPTIONS: 'an option passed to connect() (or the list given to feed.setUrls()) is missing or has the wrong type or range',
  INVALID_REQUEST: "a request's or an acquire's own options were malformed (path, method, headers, query, body, a timeout, the signal); nothing was sent",
  ORIGIN_MISMATCH: "a request through the pool's dispatcher named an origin that is not the pool's; nothing was sent",
  CONNECT_FAILED: 'a connection could not be established (refused, TLS failure, or past connectTimeout)',
  POOL_CLOSED: 'the pool is closed or closing',
  ACQUIRE_TIMEOUT: 'no connection became free before the acquire deadline',
  ACQUIRE_ABORTED: "the caller's AbortSignal fired while waiting for a connection",
  DEADLINE_EXCEEDED: "the request's deadline passed before its response was complete (`sent` says whether the server may have seen it)",
  LEASE_RELEASED: 'the lease was used after release()',
  LEASE_BUSY: 'the lease already has a request in flight (one request at a time per connection)',
  CONNECTION_LOST: 'the connection died while the request was in flight (`sent` tells a refused write from a reset after it)',
  STREAM_REFUSED: "an HTTP/2 server refused the request's stream (REFUSED_STREAM, or above the last stream id of its GOAWAY): it did not process it, and `pool.request` sends it again on another connection whatever its method",
  STREAM_RESET: "an HTTP/2 server reset the request's stream (RST_STREAM with an error code); that request alone failed, the connection lives on",
  HEADERS_TIMEOUT: 'the response headers did not arrive within headersTimeout',
  BODY_TIMEOUT: 'the response body stalled for longer than bodyTimeout',
  BODY_TOO_LARGE: 'the response body exceeded maxBodySize (with decompress, the decoded body)',
  BODY_DECODE_FAILED: 'the response body could not be decoded by its content-encoding (corrupt or truncated gzip, deflate or br data)',
  MALFORMED_RESPONSE: 'the server sent a response that is not valid HTTP/1.1',
  REQUEST_ABORTED: "the caller's AbortSignal fired while the request was in flight (or the caller destroyed a streamed body before its end)",
  READ_TIMEOUT: 'a streamed response body sat full and unread for readTimeout; its request was abandoned and its connection retired',
  REQUEST_FAILED: 'the request failed for a reason lifeline does not classify (see cause)',
  MESSAGE_TOO_LARGE: 'a WebSocket message exceeded maxMessageSize',
  HEARTBEAT_TIMEOUT: "no answer came back within the heartbeat's timeout: a feed's pong (heartbeat.timeout), an HTTP/2 connection's PING ack (http2.pingTimeout)",
  FEED_STALE: 'no message arrived for staleAfter',
  ACK_TIMEOUT: 'a subscription was not acknowledged within ackTimeout',
  FEED_LOST: 'the WebSocket closed or failed while the feed was connected',
  RECONNECTS_EXHAUSTED: 'the feed gave up after maxReconnects reconnect attempts',
  FEED_CLOSED: 'the feed is closed',
  NOT_LIVE: 'the feed is not live (connecting, subscribing or backing off)',
  SEND_QUEUE_FULL: "a send({ queue: true }) found the feed's send queue full (sendQueue.size); the message was not queued",
  SEND_EXPIRED: 'a queued send waited sendQueue.maxAge without the feed going live; it was not sent',
  LISTEN_FAILED: 'the dashboard could not listen on its host and port',
  RATE_LIMITED: "the pool's governor had no budget for the request in time, or the venue paused or banned it (`retryAfter`: ms until it may go); nothing was sent",
  SIGN_FAILED: "the `sign` hook threw or returned something that is no headers or query to add; nothing was sent",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const brand = Symbol.for('lifeline.error');

/**
 * How far a failed request got, so a caller can tell whether the server may have acted on it:
 * - `unsent`: it never left the process; the server cannot have seen it;
 * - `unanswered`: it was written (maybe in part), and no byte of a response came: the server
 *   may or may not have acted on it;
 * - `partial`: part of a response came: the server received it and acted.
 *
 * The coarse verdict `pool.request`'s resend and replay rules read; {@link Sent} is the finer one.
 */
export type Delivery = 'unsent' | 'unanswered' | 'partial';

/**
 * Whether a failed request reached the server, as far as the client can know (README, "Errors"):
 * - `never-left`: undici never wrote it, or the socket refused the write (`write ECONNRESET`,
 *   `EPIPE`: the peer had reset the connection before it). The server never had the request; certain;
 * - `written-no-response`: handed to the socket without a write error, and no byte of a response
 *   came (`read ECONNRESET`, a timeout, a deadline): it may have reached the server, which may
 *   have acted on it. Nothing a client sees can tell more;
 * - `partial-response`: a response head came: the server received it and acted; certain.
 */
export type Sent = 'never-left' | 'written-no-response' | 'partial-response';

export class LifelineError extends Error {
  override readonly name = 'LifelineError';
  readonly code: ErrorCode;
  /** On an error from a request: how far it got (see {@link Delivery}); undefined on other errors. */
  delivery: Delivery | undefined;
  /** On an error from a request: whether it went out on a connection that had already served a response. */
  reused: boolean | undefined;
  /**
   * The facts of an error from a request that reached a lease (`lease.request`, `pool.request`,
   * `pool.dispatcher`): undefined on every other error. `requestId` is the request's id, as on
   * the `lifeline:pool:request` channel and in `pool.history()` (one id for all the attempts of
   * a `pool.request`); `attempt` counts from 1 (2 and up: a resend, replay or retry); `slot` and
   * `origin` (scheme://host:port) name the connection of the attempt that failed; `sent` says
   * whether the server may have seen it ({@link Sent}).
   */
  requestId: number | undefined;
  slot: number | undefined;
  origin: string | undefined;
  attempt: number | undefined;
  sent: Sent | undefined;
  /** On `RATE_LIMITED`: ms until the governor expects budget for the request (or the venue's pause ends). */
  retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string = ERROR_CODES[code], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  /** `instanceof` holds across duplicate copies of the package in one process. */
  static override [Symbol.hasInstance](value: unknown): value is LifelineError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

export function isLifelineError(value: unknown, code?: ErrorCode): value is LifelineError {
  return value instanceof LifelineError && (code === undefined || value.code === code);
}
