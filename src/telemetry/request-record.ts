/**
 * A request's record: the `lifeline:pool:request` channel's payload, and what the pool's
 * `requestLog` ring keeps for `pool.history()`. Types only, importing nothing: the dashboard's
 * page script reads the same records (as with record.ts).
 */

/** When each step of a request happened: wall-clock ms since the epoch, fractional. A step not reached is undefined. */
export interface RequestTimes {
  /** It began waiting for a connection: `pool.request` and `pool.dispatcher` (each attempt its own wait); undefined for `lease.request`. */
  queued: number | undefined;
  /** Its lease was granted (for `lease.request`, when the caller got the lease). */
  acquired: number | undefined;
  /** undici handed the whole request to the socket (not proof the server read it). */
  written: number | undefined;
  /** The response head arrived. */
  headers: number | undefined;
  /** The response was complete, or the request failed. */
  done: number;
}

/** One send of a request that settled: each attempt of a `pool.request` is one record, sharing the request's `id`. */
export interface RequestRecord {
  kind: 'request';
  /** The request's id (`LifelineError.requestId` on its error): one for all attempts of a `pool.request`. */
  id: number;
  /** scheme://host:port of the connection it went on. */
  origin: string;
  slot: number;
  /** The HTTP method, as sent. */
  method: string;
  /** The path as sent (base path and query included), secret query values replaced by `[redacted]`. */
  path: string;
  /** 1 for the first send, then 2, 3... */
  attempt: number;
  /** Whether this send repeats an earlier one (`repeat` is not `first`). */
  replayed: boolean;
  /**
   * Why it was sent: `first`; `resend` (the one before never left the process); `replay` (the one
   * before died unanswered on a reused connection); `retry` (the caller's `retry` option).
   */
  repeat: 'first' | 'resend' | 'replay' | 'retry';
  /** The response status, or undefined when the request failed. */
  status: number | undefined;
  /** The `LifelineError` code the request failed with, or undefined when a response came. */
  error: string | undefined;
  /** On a failure, whether the server may have seen it (`LifelineError.sent`); else undefined. */
  sent: 'never-left' | 'written-no-response' | 'partial-response' | undefined;
  /** From the send (the lease's request) to the whole response or the failure, in ms. */
  durationMs: number;
  times: RequestTimes;
  /** `Date.now()` as it settled, the state changes' clock: where it sorts among them in `pool.history()`. */
  at: number;
}
