/**
 * One HTTP/1.1 connection: an undici `Client` bound to exactly one dialed socket.
 *
 * undici would reconnect a Client lazily on the next request after its socket
 * dies, handing a caller a fresh dial on the hot path. Here the Client's
 * `connect` hook gives it the pre-dialed socket once and refuses every later
 * connect, so the socket's death is final: the slot is told, and heals in the
 * background with a new connection.
 *
 * The connection also judges how it ended (DESIGN.md, "The central distinction"):
 *
 * ```
 *  ends while idle, after serving a response ............. clean (idleFor: how long it was idle)
 *  a response said Connection: close ...................... clean, announced as the head arrives
 *  a request lifeline aborted (deadline, abort, too large) clean (lifeline retired it)
 *  a reused connection dies before any byte of a response  clean (the stale race: the server closed it idle)
 *  ends before its first complete response ................ failure (unless it sat unused for stableAfter)
 *  a reset, timeout or protocol error on a request ........ failure
 * ```
 *
 * The lease tells it when a request starts and how it settled (`begin`, `finish`);
 * a socket event and a request's settlement may come in either order, so the
 * verdict waits for the request in flight.
 */
import type net from 'node:net';
import { Client } from 'undici';
import { LifelineError } from '../errors.js';
import type { ConnectionEnd, SlotConnection } from '../machines/slot.js';
import { ConnectionEndNotice } from './connection-end.js';
import { toLifelineError } from './error-map.js';
import { settled, SETTLE_TURNS, thisTurn } from './turn.js';

export interface HttpConnectionOptions {
  /**
   * `http://host:port` or `https://host:port`; no path, no credentials. Parsed once per origin:
   * undici parses a string for every Client, that is for every connection (3% of a replacement).
   */
  origin: URL;
  headersTimeout: number;
  bodyTimeout: number;
  /** Monotonic ms: idle times. */
  now: () => number;
  /** A connection that sat unused this long before the server closed it ended cleanly (ms). */
  stableAfter: number;
}

/**
 * How a request on the connection settled, as the lease saw it:
 * - `ok`: a complete response;
 * - `retired`: lifeline gave up on it (abort, deadline, release, a body too large);
 * - `unsent`: it never reached the socket;
 * - `unanswered`: written, and the connection died before any byte of a response;
 * - `failed`: any other error (a reset mid-response, a timeout, a protocol error).
 */
export type RequestOutcome = 'ok' | 'retired' | 'unsent' | 'unanswered' | 'failed';

/**
 * undici closes an idle socket after its keepAliveTimeout (4 s by default). A
 * slot's connection lives until the server closes it, so the idle timer is set
 * far out; a server's `Keep-Alive: timeout=N` hint still shortens it.
 */
const IDLE_FOREVER = 600_000;

/**
 * What lifeline closes an idle connection's socket, and its undici Client, with: one error
 * for all, its stack formatted once. Each way of closing without it builds an error per
 * connection that nobody reads: a socket destroyed with no error makes undici build one
 * for the close, a Client destroyed with none builds one, and Node formats the stack of
 * every error a socket is destroyed with. A pool whose server ended 16 connections at once
 * spent more on those than on its slot machines. Nothing is on the connection when it is
 * used (no request in flight), so no caller ever sees it.
 */
const RETIRED = new LifelineError('CONNECTION_LOST', 'the connection was closed by lifeline');
void RETIRED.stack;

/** Why a request's error retires its connection (a `retired` outcome), as the slot records it. */
const RETIRED_BY: Partial<Record<string, string>> = {
  REQUEST_ABORTED: 'aborted',
  DEADLINE_EXCEEDED: 'deadline',
  LEASE_RELEASED: 'released',
  BODY_TOO_LARGE: 'body-too-large',
  BODY_DECODE_FAILED: 'body-decode-failed',
};

/** A failure with no error of its own (the server's FIN under a request): the slot still records why. */
function closedUnder(): LifelineError {
  return new LifelineError('CONNECTION_LOST', 'the server closed the connection before the response was complete');
}

export class HttpConnection implements SlotConnection {
  #client: Client | undefined;
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  readonly #options: HttpConnectionOptions;
  readonly #connectedAt: number;
  /** The verdict, once given (listeners are told once). */
  readonly #ended = new ConnectionEndNotice();
  /** The socket is gone (or going); the verdict may still wait for the request in flight. */
  #dead = false;
  /** The first error the socket died with, mapped to a lifeline code only when a failure needs it. */
  #deathCause: Error | undefined;
  #deathError: LifelineError | undefined;
  /** No more requests: a response said close, or the slot retired it. */
  #closing = false;
  #retiring = false;
  #inFlight = false;
  #served = 0;
  #lastResponseAt: number;
  /** The turn in which the last response completed (see `settling`). */
  #respondedIn = -1;

  constructor(socket: net.Socket, options: HttpConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#connectedAt = this.#lastResponseAt = options.now();
    socket.on('data', this.#onEarlyData);
    // undici reports socket errors to the request in flight; this listener keeps an idle
    // socket's error (ECONNRESET) from becoming an uncaught exception, and reports the
    // death at once: a socket emits 'error' only once destroyed, a turn before 'close'.
    socket.on('error', (error) => this.#die(error));
    // The server's FIN is the end of a keep-alive connection: report it at once rather
    // than at 'close' (a turn or more later), so the slot leaves the free list before a
    // caller can be handed a socket that will only answer "other side closed".
    // `on`, not `once`: a socket emits each of these at most once, and `once` costs every idle
    // connection a wrapper object and a bound function per listener.
    socket.on('end', () => this.#die(undefined));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#die(undefined);
        this.#client?.destroy(RETIRED).catch(() => {});
        resolve();
      });
    });
  }

  /**
   * The undici Client bound to the socket, made for the first request. A Client costs about
   * 11 us to build: a pool whose server ended 16 connections at once built 16 for the
   * replacements while the caller waiting for the first one waited, and a connection that
   * never serves (or ends before it does) needs none.
   */
  get client(): Client {
    return (this.#client ??= this.#bindClient());
  }

  /**
   * Until undici reads the socket nobody does, and bytes the server sends before the
   * first request would sit in its buffer, to be parsed later as the answer to that
   * request: a desync. Nothing can be an answer before a question, so such bytes
   * poison the idle connection at once and the slot heals before anyone is handed it.
   */
  readonly #onEarlyData = (chunk: Buffer) => {
    this.#deathError ??= new LifelineError('MALFORMED_RESPONSE', `the server sent ${chunk.length} bytes before any request`);
    this.#socket.destroy();
  };

  #bindClient(): Client {
    const socket = this.#socket;
    const options = this.#options;
    let handedOver = false;
    const client = new Client(options.origin, {
      connect: (_opts, callback) => {
        if (handedOver || socket.destroyed) {
          process.nextTick(callback, new LifelineError('CONNECTION_LOST', 'the connection is closed'), null);
          return;
        }
        handedOver = true;
        // From here undici reads the socket (paused mode, on 'readable'); hold the bytes for it.
        socket.off('data', this.#onEarlyData);
        socket.pause();
        // undici unrefs the socket whenever it is idle, and refs it only if it unref'd it itself.
        socket.ref();
        // Must be asynchronous: undici's client ignores a connect callback that re-enters it.
        process.nextTick(callback, null, socket);
      },
      pipelining: 1,
      allowH2: false,
      keepAliveTimeout: IDLE_FOREVER,
      keepAliveMaxTimeout: IDLE_FOREVER,
      // undici trusts a server's `Keep-Alive: timeout=N` less 2 s, and below that closes the socket
      // after every response (timeout=1: one request per connection). The pool honours the hint
      // itself (the ledger recycles an idle connection a margin before it), so undici ignores it.
      keepAliveTimeoutThreshold: -IDLE_FOREVER,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
    });
    // 'disconnect' is undici telling us it gave up on the socket (a parser error, a
    // keep-alive hint that expired); without this a slot could hold a Client with no socket.
    client.on('disconnect', (_origin, _targets, error) => {
      this.#die(error);
      socket.destroy();
    });
    return client;
  }

  /** Whether a request may be sent on it now. */
  get usable(): boolean {
    return !this.#dead && !this.#closing && !this.#retiring && !this.#socket.destroyed;
  }

  /** Complete responses served so far: a request on a connection that served one is on a reused connection. */
  get served(): number {
    return this.#served;
  }

  get reused(): boolean {
    return this.#served > 0;
  }

  /**
   * The turn from which it may be handed to another caller, or -1 when it may be at once.
   * A FIN right behind its last response may not have been read yet (see `turn.ts`);
   * undici waits one turn before writing to a reused socket, which is not always
   * enough, and then the next caller's request is already on it. lifeline waits before
   * handing the connection out, so no caller gets it.
   */
  get settlesAt(): number {
    return this.#respondedIn < 0 || settled(this.#respondedIn) ? -1 : this.#respondedIn + SETTLE_TURNS;
  }

  /** A request is about to be dispatched on it. */
  begin(): void {
    this.#inFlight = true;
  }

  /** The request begun last has settled; see {@link RequestOutcome}. `error`, its error: why a `retired` one retires it. */
  finish(outcome: RequestOutcome, error?: LifelineError): void {
    this.#inFlight = false;
    switch (outcome) {
      case 'ok':
        this.#served++;
        this.#lastResponseAt = this.#options.now();
        this.#respondedIn = thisTurn();
        if (this.#dead) this.#judgeIdleEnd();
        break;
      case 'retired':
        this.#verdict({ clean: true, error: undefined, idleFor: -1, reason: (error && RETIRED_BY[error.code]) ?? 'released' });
        break;
      case 'unanswered':
        // The stale race: the server closed the connection as idle while the request was on its way.
        if (this.#served > 0) this.#verdict({ clean: true, error: undefined, idleFor: this.#options.now() - this.#lastResponseAt, reason: 'server-closed' });
        else this.#verdict({ clean: false, error: this.#failure ?? error ?? closedUnder(), idleFor: -1 });
        break;
      case 'failed':
        this.#verdict({ clean: false, error: this.#failure ?? error ?? closedUnder(), idleFor: -1 });
        break;
      case 'unsent':
        if (this.#dead) this.#judgeIdleEnd();
        break;
    }
    if (this.#retiring || this.#ended.end) this.#socket.destroy();
  }

  /** The response head said `Connection: close`: the slot may start its replacement now. */
  announceClose(): void {
    this.#closing = true;
    this.#verdict({ clean: true, error: undefined, idleFor: -1, reason: 'connection-close' });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  retire(): void {
    this.#retiring = true;
    this.#ended.silence();
    if (!this.#inFlight) this.#socket.destroy(RETIRED);
  }

  onEnd(listener: (end: ConnectionEnd) => void): void {
    this.#ended.listen(listener);
  }

  /** The socket died: judge the end now if no request is in flight, else when it settles. */
  #die(error: Error | undefined): void {
    // undici's informational errors (`reset` after `Connection: close`, an expired keep-alive)
    // are its own decision to close, not a failure: they leave no error.
    if (error && (error as { code?: unknown }).code !== 'UND_ERR_INFO') this.#deathCause ??= error;
    if (this.#dead) return;
    this.#dead = true;
    if (!this.#inFlight) this.#judgeIdleEnd();
  }

  /** The death's error as a caller would see it; mapped on demand: a clean end needs none. */
  get #failure(): LifelineError | undefined {
    if (this.#deathError === undefined && this.#deathCause !== undefined) this.#deathError = toLifelineError(this.#deathCause);
    return this.#deathError;
  }

  /** An end with no request in flight. */
  #judgeIdleEnd(): void {
    const error = this.#failure;
    const now = this.#options.now();
    if (error?.code === 'MALFORMED_RESPONSE') this.#verdict({ clean: false, error, idleFor: -1 });
    else if (this.#served > 0) this.#verdict({ clean: true, error: undefined, idleFor: now - this.#lastResponseAt, reason: 'server-closed' });
    // Never used: a server's close of a connection that sat idle a while is its policy for idle
    // connections; one that ends soon after the connect is a server refusing us.
    else if (now - this.#connectedAt >= this.#options.stableAfter && !error) this.#verdict({ clean: true, error: undefined, idleFor: -1, reason: 'server-closed' });
    else this.#verdict({ clean: false, error: error ?? new LifelineError('CONNECTION_LOST', 'the server closed the connection before any response'), idleFor: -1 });
  }

  #verdict(end: ConnectionEnd): void {
    this.#ended.give(end);
  }
}
