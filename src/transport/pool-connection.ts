/**
 * What a pool's lease needs from the connection it holds, whichever HTTP it speaks: an
 * HTTP/1.1 connection (`http-connection.ts`, an undici Client on the socket) or an HTTP/2
 * one (`http2-connection.ts`, a node:http2 session on it). Both take requests as undici
 * dispatches (`client.dispatch(options, handler)`), so the lease's handlers serve both.
 */
import type { Dispatcher } from 'undici';
import type { LifelineError } from '../errors.js';
import type { SlotConnection } from '../machines/slot.js';
import type { RequestOutcome } from './http-connection.js';

/** What a PING found (see `PoolConnection.answers`). */
export type Liveness = 'answered' | 'gone' | 'silent';

export interface PoolConnection extends SlotConnection {
  /** Takes one request: undici's dispatch protocol. */
  readonly client: { dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean };
  /** Whether a request may be sent on it now. */
  readonly usable: boolean;
  /** Complete responses served so far. */
  readonly served: number;
  /**
   * Whether a request that dies on it unanswered met the stale race, and not a connection that never
   * worked: read when the request settles. HTTP/1.1: it served a response before (one request at a
   * time, so the same as when the request went out). HTTP/2: its server had spoken on it (its SETTINGS
   * came), so streams opened at once on a new connection count too (see http2-connection.ts).
   */
  readonly reused: boolean;
  /** The turn from which it may be handed to another caller, or -1 when it may be at once. */
  readonly settlesAt: number;
  /**
   * HTTP/2: whether it still answers: `answered` (a PING's ack), `gone` (it ended first, or had),
   * `silent` (neither within `http2.pingTimeout`). A replay after a connection died asks first: the
   * server that died took its other connections too, and their ends may not have been read yet.
   * Absent on HTTP/1.1, whose replay needs no such check.
   */
  answers?(): Promise<Liveness>;
  /** A request is about to be dispatched on it. */
  begin(): void;
  /** A request begun on it has settled. */
  finish(outcome: RequestOutcome, error?: LifelineError): void;
  /** A response head said `Connection: close`. */
  announceClose(): void;
}
