/**
 * `node:diagnostics_channel` events of pools and feeds, for APMs and loggers
 * that want them without a meter.
 *
 * Channel                      | Published when                                   | Payload
 * ---------------------------- | ------------------------------------------------ | -----------------------
 * `lifeline:pool:acquire`      | an acquire or tryAcquire is answered             | {@link AcquireMessage}
 * `lifeline:pool:request`      | a request dispatched on a lease settles          | {@link RequestMessage}
 * `lifeline:slot:state`        | a slot's connection changes state                | {@link SlotStateMessage}
 * `lifeline:feed:state`        | a feed changes state                             | {@link FeedStateMessage}
 * `lifeline:feed:message`      | a feed receives a message                        | {@link FeedMessageInfo}
 *
 * ```ts
 * import diagnostics from 'node:diagnostics_channel';
 * import { POOL_REQUEST_CHANNEL, type RequestMessage } from 'lifeline-supervisor';
 * diagnostics.subscribe(POOL_REQUEST_CHANNEL, (message) => log(message as RequestMessage));
 * ```
 *
 * A payload is built only while its channel has a subscriber (undici's rule):
 * without one, a hook costs a `hasSubscribers` check and nothing is allocated.
 * Payloads carry no secrets: origins and URLs are scheme://host:port; a request's path
 * comes with secret query values (and every known secret value) replaced; no header or
 * body is ever included.
 */
import diagnostics from 'node:diagnostics_channel';
import type { FeedState } from '../machines/feed.js';
import type { SlotMachineState } from '../machines/slot.js';
import type { RequestRecord } from './request-record.js';

export const POOL_ACQUIRE_CHANNEL = 'lifeline:pool:acquire';
export const POOL_REQUEST_CHANNEL = 'lifeline:pool:request';
export const SLOT_STATE_CHANNEL = 'lifeline:slot:state';
export const FEED_STATE_CHANNEL = 'lifeline:feed:state';
export const FEED_MESSAGE_CHANNEL = 'lifeline:feed:message';

/** `lifeline:pool:acquire`: one acquire answered. */
export interface AcquireMessage {
  /** The pool's origin, scheme://host:port. */
  origin: string;
  /** `try` for `tryAcquire()`, `wait` for `acquire()` and `request()`. */
  mode: 'try' | 'wait';
  /**
   * `granted`; `unavailable` for a try that found no free connection; else the
   * code the wait was refused with (`ACQUIRE_TIMEOUT`, `ACQUIRE_ABORTED`,
   * `DEADLINE_EXCEEDED`, `POOL_CLOSED`).
   */
  outcome: string;
  /** From the acquire call to its answer (ms); 0 for a try. */
  waitMs: number;
}

/**
 * `lifeline:pool:request`: one send of a request settled (each attempt of a retried `pool.request`
 * is one, sharing the request's `id`). The same object goes into the `requestLog` ring.
 */
export type RequestMessage = RequestRecord;

/** `lifeline:slot:state`: a slot machine moved (leases are not state changes: `busy` is never reported here). */
export interface SlotStateMessage {
  origin: string;
  slot: number;
  from: SlotMachineState;
  to: SlotMachineState;
  /**
   * Why, as the flight recorder records it (the same function decides both: change-reason.ts):
   * into `poisoned` or `backoff`, a failure: its error code (`CONNECTION_LOST`, `CONNECT_FAILED`...,
   * `CONNECTION_LOST` when it had none). From `healthy` to `connecting`, a clean end: `ENDED` (the
   * server ended the connection after serving) or `RECYCLED` (lifeline retired it), the cause in
   * `detail`. Undefined for the steps of healing and for `closed`.
   */
  reason: string | undefined;
  /**
   * A failure's message (scrubbed); for a clean end its cause: `server-closed`, or `idle`, `age`,
   * `keep-alive`, `learned-idle`, `homing`, `connection-close`, `deadline`, `aborted`,
   * `body-too-large`, `body-decode-failed`, `released`.
   */
  detail: string | undefined;
  /** The system error behind a failure (`ECONNREFUSED`, `ECONNRESET`...), if any. */
  errno: string | undefined;
}

/** `lifeline:feed:state`: a feed moved. */
export interface FeedStateMessage {
  /** The endpoint in use, scheme://host:port. */
  url: string;
  from: FeedState;
  to: FeedState;
  /** The code of the error that caused the change (`FEED_LOST`, `ACK_TIMEOUT`...), if one did. */
  reason: string | undefined;
}

/** `lifeline:feed:message`: a message received (its content is not included). */
export interface FeedMessageInfo {
  url: string;
  /** Size in bytes (UTF-8 for text). */
  bytes: number;
  isBinary: boolean;
}

export const acquireChannel = diagnostics.channel(POOL_ACQUIRE_CHANNEL);
export const requestChannel = diagnostics.channel(POOL_REQUEST_CHANNEL);
export const slotStateChannel = diagnostics.channel(SLOT_STATE_CHANNEL);
export const feedStateChannel = diagnostics.channel(FEED_STATE_CHANNEL);
export const feedMessageChannel = diagnostics.channel(FEED_MESSAGE_CHANNEL);

/**
 * Publishes a payload. Call it only inside `if (channel.hasSubscribers)`, so the
 * payload object (and any closure) is never made for nobody.
 */
export function publish(channel: diagnostics.Channel, message: object): void {
  channel.publish(message);
}

/** The short, stable code of an error for a payload or attribute: its `code`, else its name. */
export function errorCode(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'Error';
}
