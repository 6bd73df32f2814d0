/**
 * One HTTP/2 connection: a node:http2 session bound to exactly one dialed socket (TLS with ALPN
 * `h2`, or h2c with prior knowledge). Why node:http2 and not undici's `allowH2` Client:
 * bench/notes.md, "HTTP/2 engine for slots" (undici kills the streams a GOAWAY lets finish, and
 * shows neither SETTINGS nor an unanswered PING).
 *
 * How it ends, as the slot hears it (DESIGN.md, "The central distinction"):
 *
 * ```
 *  GOAWAY (NO_ERROR) after serving, with streams open, or after stableAfter ... clean ('goaway'): streams under the
 *                                 last id finish, none start; with streams open the slot drains (`draining`:
 *                                 `onDrained` when the last is done), else it dials a replacement at once
 *  GOAWAY (NO_ERROR) on a fresh connection that served nothing ................ failure (the server refuses us)
 *  GOAWAY with an error code .................................................. failure
 *  the socket ends while idle, after serving ................................... clean ('server-closed')
 *  the socket ends or resets under open streams, without GOAWAY ................ failure
 *  a PING unanswered for pingTimeout ........................................... failure (HEARTBEAT_TIMEOUT)
 *  a stream reset, refused, aborted or past its deadline ....................... nothing: that stream alone (http2-stream.ts)
 * ```
 *
 * The server's SETTINGS_MAX_CONCURRENT_STREAMS, capped by `http2.maxConcurrentStreams`, is the
 * connection's `capacity`: how many streams the ledger may lease on it at once.
 *
 * `reused`, HTTP/2's stale race: a stream that dies with its connection before any response head
 * is replayed once if idempotent when the server had spoken on the connection (its SETTINGS came).
 * HTTP/1.1 asks that the connection served a response first, so that a server that takes a
 * connection and drops it (or dies at each first request) is not sent everything twice; on HTTP/2
 * that rule would lose every stream opened together on a new connection, as a burst opens them
 * all before the first answer, while the server's SETTINGS prove it took the connection. (Chromium's
 * HTTP/2 session counts as reused once it received a frame, for the same resend.)
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { LifelineError } from '../errors.js';
import type { ConnectionEnd } from '../machines/slot.js';
import { ConnectionEndNotice } from './connection-end.js';
import type { RequestOutcome } from './http-connection.js';
import type { ResolvedHttp2 } from './http2-options.js';
import { dispatchStream, type StreamHost } from './http2-stream.js';
import type { Liveness, PoolConnection } from './pool-connection.js';

const { NGHTTP2_NO_ERROR } = http2.constants;

export interface Http2ConnectionOptions {
  /** `http://host:port` (h2c) or `https://host:port`; no path, no credentials. */
  origin: string;
  headersTimeout: number;
  bodyTimeout: number;
  /** Monotonic ms: idle times, the connection's age. */
  now: () => number;
  /** A connection that sat unused this long before the server ended it ended cleanly (ms). */
  stableAfter: number;
  http2: ResolvedHttp2;
  /** Runs the PING heartbeat and the streams' timeouts (the pool's clock: tests drive it). */
  clock: Clock;
}

export class Http2Connection implements PoolConnection, StreamHost {
  readonly multiplexed = true;
  readonly settlesAt = -1;
  readonly closed: Promise<void>;
  readonly session: http2.ClientHttp2Session;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly clock: Clock;
  readonly now: () => number;
  readonly #socket: net.Socket;
  readonly #options: Http2ConnectionOptions;
  readonly #connectedAt: number;
  #capacityListener: (() => void) | undefined;
  /** The slot, draining after a GOAWAY: told once, when the last stream is done or the connection gone. */
  #drainedListener: (() => void) | undefined;
  readonly #ended = new ConnectionEndNotice();
  #dead = false;
  #goaway = false;
  #retiring = false;
  #inFlight = 0;
  #served = 0;
  /** The server's SETTINGS came: it took the connection and speaks HTTP/2 on it. */
  #proven = false;
  /** The last stream id of the server's GOAWAY (the lowest, if it sent several); Infinity before one. */
  #lastStreamId = Infinity;
  #lastResponseAt: number;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS, capped; the cap until its SETTINGS come. */
  #capacity: number;
  #pingTimer: unknown;
  /** The PING a replay's check is waiting for, shared by every check while it is out (`answers`). */
  #asking: Promise<Liveness> | undefined;
  #pingDeadline: unknown;

  constructor(socket: net.Socket, options: Http2ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#connectedAt = this.#lastResponseAt = options.now();
    this.#capacity = options.http2.maxConcurrentStreams;
    const url = new URL(options.origin);
    this.authority = url.host;
    this.scheme = url.protocol === 'https:' ? 'https' : 'http';
    this.headersTimeout = options.headersTimeout;
    this.bodyTimeout = options.bodyTimeout;
    this.clock = options.clock;
    this.now = options.now;
    // Before node:http2's own listeners: a stream closed by the socket's death then knows it (`dead`).
    socket.on('error', (error) => this.#die(error));
    socket.on('end', () => this.#die(undefined));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#die(undefined);
        this.session.destroy();
        resolve();
      });
    });
    this.session = http2.connect(options.origin, {
      createConnection: () => socket,
      peerMaxConcurrentStreams: options.http2.maxConcurrentStreams,
      settings: { enablePush: false },
    });
    this.session.on('error', (error) => this.#die(error));
    this.session.on('close', () => this.#die(undefined));
    this.session.on('goaway', (code, lastStreamID) => this.#onGoaway(code, lastStreamID));
    this.session.on('remoteSettings', (settings) => this.#onSettings(settings));
    // An idle pool lets the process exit, as its HTTP/1.1 sockets do: ref'd only while a stream is open.
    this.session.unref();
    this.#schedulePing();
  }

  /** The connection takes requests itself: `client.dispatch` as on an undici Client. */
  get client(): this {
    return this;
  }

  /** How many streams it may carry at once: the server's limit, capped by `http2.maxConcurrentStreams`. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Streams open now. */
  get streams(): number {
    return this.#inFlight;
  }

  /** Called when `capacity` changes (the server's SETTINGS); one listener, the ledger's. */
  onCapacity(listener: (() => void) | undefined): void {
    this.#capacityListener = listener;
  }

  get dead(): boolean {
    return this.#dead || this.session.destroyed;
  }

  get usable(): boolean {
    return !this.#dead && !this.#goaway && !this.#retiring && !this.#socket.destroyed && !this.session.closed && !this.session.destroyed;
  }

  get served(): number {
    return this.#served;
  }

  get lastStreamId(): number {
    return this.#lastStreamId;
  }

  get reused(): boolean {
    return this.#proven;
  }

  /**
   * One PING for every replay asking at once: node:http2 keeps at most 10 unanswered, and cancelled
   * the rest at once (a burst of replays read that as silence and went out unchecked).
   */
  answers(): Promise<Liveness> {
    if (!this.usable) return Promise.resolve('gone');
    return (this.#asking ??= this.#ask());
  }

  #ask(): Promise<Liveness> {
    return new Promise((resolve) => {
      const clock = this.#options.clock;
      let timer: unknown = clock.setTimeout(() => done(this.dead ? 'gone' : 'silent'), this.#options.http2.pingTimeout);
      const done = (found: Liveness) => {
        if (timer === undefined) return;
        clock.clearTimeout(timer);
        timer = undefined;
        this.#asking = undefined;
        resolve(found);
      };
      void this.closed.then(() => done('gone'));
      try {
        this.session.ping((error) => done(error === null ? 'answered' : this.dead ? 'gone' : 'silent'));
      } catch {
        done(this.dead ? 'gone' : 'silent');
      }
    });
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    dispatchStream(this, options, handler);
    return true;
  }

  begin(): void {
    if (this.#inFlight++ === 0) this.session.ref();
  }

  finish(outcome: RequestOutcome): void {
    if (outcome === 'ok') {
      this.#served++;
      this.#lastResponseAt = this.#options.now();
    }
    if (--this.#inFlight > 0) return;
    this.#inFlight = 0;
    if (!this.session.destroyed) this.session.unref();
    this.#drained();
    if (this.#retiring) this.destroy();
  }

  /** HTTP/2 has no `Connection: close` (RFC 9113, 8.2.2): GOAWAY says it. */
  announceClose(): void {}

  destroy(): void {
    this.#stopPing();
    this.session.destroy();
    this.#socket.destroy();
  }

  retire(): void {
    this.#retiring = true;
    this.#ended.silence();
    this.#capacityListener = undefined;
    this.#drainedListener = undefined;
    this.#stopPing();
    if (this.#inFlight === 0) this.destroy();
    // Streams open (a GOAWAY's last ones, a caller still reading): no new ones, closed when they are done.
    else if (!this.session.closed) this.session.close();
  }

  onEnd(listener: (end: ConnectionEnd) => void): void {
    this.#ended.listen(listener);
  }

  onDrained(listener: () => void): void {
    if (this.#inFlight === 0 || this.dead) queueMicrotask(listener);
    else this.#drainedListener = listener;
  }

  #drained(): void {
    const listener = this.#drainedListener;
    this.#drainedListener = undefined;
    listener?.();
  }

  #onSettings(settings: http2.Settings): void {
    this.#proven = true;
    const limit = Math.max(0, Math.min(settings.maxConcurrentStreams ?? this.#options.http2.maxConcurrentStreams, this.#options.http2.maxConcurrentStreams));
    if (limit === this.#capacity) return;
    this.#capacity = limit;
    this.#capacityListener?.();
  }

  /** node:http2 reports a GOAWAY once per frame (and has been seen to repeat it): judged at the first. */
  #onGoaway(code: number, lastStreamID: number): void {
    // Read by each stream as it closes: one above it was not processed, whatever the code (RFC 9113, 6.8).
    this.#lastStreamId = Math.min(this.#lastStreamId, lastStreamID);
    if (this.#goaway) return;
    this.#goaway = true;
    if (this.#ended.end) return;
    const now = this.#options.now();
    if (code !== NGHTTP2_NO_ERROR) {
      this.#verdict({ clean: false, error: new LifelineError('CONNECTION_LOST', `the HTTP/2 server sent GOAWAY with error code ${code}`), idleFor: -1 });
    } else if (this.#served > 0 || this.#inFlight > 0 || now - this.#connectedAt >= this.#options.stableAfter) {
      // The server's graceful end (a reload, its idle or request limit): streams under its last id finish.
      const draining = this.#inFlight > 0;
      this.#verdict({ clean: true, error: undefined, idleFor: !draining && this.#served > 0 ? now - this.#lastResponseAt : -1, reason: 'goaway', draining });
    } else {
      this.#verdict({ clean: false, error: new LifelineError('CONNECTION_LOST', 'the HTTP/2 server sent GOAWAY before serving any request'), idleFor: -1 });
    }
  }

  #die(error: Error | undefined): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#stopPing();
    // A draining connection that died has nothing left to finish (its streams fail with it).
    this.#drained();
    if (this.#ended.end) return;
    const now = this.#options.now();
    if (error) {
      this.#verdict({ clean: false, error: new LifelineError('CONNECTION_LOST', `the HTTP/2 connection was lost: ${error.message}`, { cause: error }), idleFor: -1 });
    } else if (this.#inFlight > 0) {
      this.#verdict({ clean: false, error: new LifelineError('CONNECTION_LOST', 'the server closed the HTTP/2 connection under open streams, without GOAWAY'), idleFor: -1 });
    } else if (this.#served > 0) {
      this.#verdict({ clean: true, error: undefined, idleFor: now - this.#lastResponseAt, reason: 'server-closed' });
    } else if (now - this.#connectedAt >= this.#options.stableAfter) {
      this.#verdict({ clean: true, error: undefined, idleFor: -1, reason: 'server-closed' });
    } else {
      this.#verdict({ clean: false, error: new LifelineError('CONNECTION_LOST', 'the server closed the HTTP/2 connection before any response'), idleFor: -1 });
    }
  }

  #schedulePing(): void {
    const { pingInterval } = this.#options.http2;
    if (pingInterval <= 0 || this.#ended.end || this.#retiring || this.#dead) return;
    this.#pingTimer = this.#options.clock.setTimeout(() => this.#ping(), pingInterval);
  }

  /**
   * One PING, its ack awaited for `pingTimeout`: a connection alive at TCP level whose server
   * stopped answering (a hung process, a black-holed path) is poisoned, and its streams fail.
   */
  #ping(): void {
    this.#pingTimer = undefined;
    if (this.#ended.end || this.#retiring || this.#dead) return;
    const clock = this.#options.clock;
    const { pingTimeout } = this.#options.http2;
    this.#pingDeadline = clock.setTimeout(() => this.#pingTimedOut(), pingTimeout);
    try {
      this.session.ping((error) => {
        if (this.#pingDeadline === undefined) return;
        clock.clearTimeout(this.#pingDeadline);
        this.#pingDeadline = undefined;
        if (!error) this.#schedulePing();
      });
    } catch {
      // Too many PINGs unanswered (node:http2 caps them), or the session is closing: the deadline judges.
    }
  }

  #pingTimedOut(): void {
    this.#pingDeadline = undefined;
    if (this.#ended.end || this.#dead) return;
    const timeout = this.#options.http2.pingTimeout;
    this.#verdict({ clean: false, error: new LifelineError('HEARTBEAT_TIMEOUT', `the HTTP/2 server answered no PING within ${timeout} ms`), idleFor: -1 });
    this.destroy();
  }

  #stopPing(): void {
    const clock = this.#options.clock;
    if (this.#pingTimer !== undefined) clock.clearTimeout(this.#pingTimer);
    if (this.#pingDeadline !== undefined) clock.clearTimeout(this.#pingDeadline);
    this.#pingTimer = this.#pingDeadline = undefined;
  }

  #verdict(end: ConnectionEnd): void {
    if (this.#ended.end) return;
    this.#stopPing();
    this.#ended.give(end);
  }
}
