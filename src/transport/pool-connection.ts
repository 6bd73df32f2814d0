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

export interface PoolConnection extends SlotConnection {
  /** Takes one request: undici's dispatch protocol. */
  readonly client: { dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean };
  /** Whether a request may be sent on it now. */
  readonly usable: boolean;
  /** Complete responses served so far: a request on a connection that served one is on a reused connection. */
  readonly served: number;
  /** The turn from which it may be handed to another caller, or -1 when it may be at once. */
  readonly settlesAt: number;
  /** A request is about to be dispatched on it. */
  begin(): void;
  /** A request begun on it has settled. */
  finish(outcome: RequestOutcome, error?: LifelineError): void;
  /** A response head said `Connection: close`. */
  announceClose(): void;
}
