/**
 * The dialer of a pool's slots (`ConnectionDialer`): which origin a slot dials
 * (an `OriginAssignment`), in its turn (a `DialLimiter`, if any), and the undici
 * connection bound to the socket it gets. It also keeps the sockets and dials
 * in flight, so `close()` can wait for the last of them.
 */
import type { CancelSignal } from '../transport/cancel.js';
import { ConnectAttempt } from '../transport/connect-attempt.js';
import { dial, type DialTarget } from '../transport/dial.js';
import { limitedDial } from '../transport/dial-limiter.js';
import { DialRamp, type RampDone } from '../transport/dial-ramp.js';
import { HttpConnection, type HttpConnectionOptions } from '../transport/http-connection.js';
import { Http2Connection, type Http2ConnectionOptions } from '../transport/http2-connection.js';
import { alpnFor } from '../transport/http2-options.js';
import type { PoolConnection } from '../transport/pool-connection.js';
import { LifelineError } from '../errors.js';
import type { ConnectionDialer, DialOutcome } from '../machines/slot.js';
import type { PoolOrigin, ResolvedPoolOptions } from './options.js';
import type { OriginAssignment } from './origins.js';

/**
 * The most replacement dials a pool has under way at once. A slot's first connect is not
 * held back; a replacement dial waits for its turn in a `DialRamp`: one at first, twice as
 * many after each connect, up to this (see dial-ramp.ts for why).
 */
export const REPLACEMENT_DIALS = 8;

/**
 * How long a replacement dial holds its turn (ms): a dial still under way then (a black hole,
 * a far venue's TLS handshake) goes on, and the next dial starts.
 */
export const REPLACEMENT_TURN = 250;

/** How long after a connect the replacement dials it makes room for start (ms): see `#start`. */
export const REPLACEMENT_PAUSE = 1;

/** How one origin is dialed, and what its connections are built with. */
interface OriginDial {
  target: DialTarget;
  connection: HttpConnectionOptions;
  /** What its HTTP/2 connections are built with (`protocol` 'http2', or 'auto' when ALPN picks h2). */
  http2: Http2ConnectionOptions;
}

export class SlotDialer implements ConnectionDialer {
  /** Every connection dialed and not yet closed, so close() can wait for the last socket. */
  readonly connections = new Set<PoolConnection>();
  /** Dials in flight; close() waits for them to settle (an aborted dial settles once its socket is gone). */
  readonly dials = new Set<Promise<unknown>>();
  readonly #options: ResolvedPoolOptions;
  readonly #assignment: OriginAssignment;
  /** Where each origin is dialed, and what its connections are built with (one object per origin, shared by its connections): replaced by `setOrigins`. */
  #origins: OriginDial[] = [];
  /** Whether each slot has connected once: only a first connect tries every origin in turn. */
  readonly #connected: boolean[];
  /** Holds replacement dials back: one at first, more as they connect (see `REPLACEMENT_DIALS`). */
  readonly #replacements = new DialRamp(REPLACEMENT_DIALS);
  /** Each slot's dial under way, by slot index: cancelling aborts it, and only the current one reports. */
  readonly #dialing: ConnectAttempt[];
  /** Each slot's replacement dial still waiting for its turn: withdrawing it takes it out of the queue. */
  readonly #waiting: ((() => void) | undefined)[];

  constructor(options: ResolvedPoolOptions, assignment: OriginAssignment) {
    this.#options = options;
    this.#assignment = assignment;
    this.#connected = new Array<boolean>(options.supervisor.connections).fill(false);
    this.#dialing = Array.from({ length: options.supervisor.connections }, () => new ConnectAttempt());
    this.#waiting = new Array<(() => void) | undefined>(options.supervisor.connections).fill(undefined);
    this.setOrigins(options.origins);
  }

  /** The origins to dial from now on; a dial under way keeps the origin it chose. */
  setOrigins(origins: readonly PoolOrigin[]): void {
    const options = this.#options;
    this.#origins = origins.map((origin) => ({
      target: {
        host: origin.host,
        port: origin.port,
        tls: options.tls,
        alpn: options.tls ? alpnFor(options.protocol) : undefined,
        proxy: options.proxy,
        connectTimeout: options.connectTimeout,
        noDelay: options.noDelay,
        keepAlive: options.keepAlive,
      },
      connection: {
        origin: new URL(origin.origin),
        headersTimeout: options.headersTimeout,
        bodyTimeout: options.bodyTimeout,
        now: options.supervisor.now,
        stableAfter: options.supervisor.stableAfter,
      },
      http2: {
        origin: origin.origin,
        headersTimeout: options.headersTimeout,
        bodyTimeout: options.bodyTimeout,
        now: options.supervisor.now,
        stableAfter: options.supervisor.stableAfter,
        http2: options.http2,
        clock: options.clock,
      },
    }));
  }

  dial(index: number, report: (outcome: DialOutcome) => void): void {
    // A slot's first connect is not held back; a replacement waits for its turn (see REPLACEMENT_DIALS).
    if (!this.#connected[index]) return this.#start(index, report, undefined);
    const turn = this.#replacements.tryAcquire();
    if (turn) return this.#start(index, report, turn);
    this.#waiting[index] = this.#replacements.enqueue((done) => {
      this.#waiting[index] = undefined;
      this.#start(index, report, done);
    });
  }

  cancel(index: number): void {
    const withdraw = this.#waiting[index];
    this.#waiting[index] = undefined;
    withdraw?.();
    this.#dialing[index]!.cancel();
  }

  /** Abandons every dial under way: the pool is closing, and its slots were stopped (no exit action runs then). */
  cancelAll(): void {
    for (let index = 0; index < this.#dialing.length; index++) this.cancel(index);
  }

  /** Starts slot `index`'s dial; its replacement turn, if it holds one, ends when the dial settles, saying whether it connected. */
  #start(index: number, report: (outcome: DialOutcome) => void, turn: RampDone | undefined): void {
    const opening = this.#dialing[index]!.start(
      (signal) => this.#open(index, signal),
      (connection) => report({ type: 'dial.done', connection }),
      (error) => report({ type: 'dial.error', error: error instanceof Error ? error : new Error(String(error)) }),
    );
    if (!turn) return;
    const clock = this.#options.clock;
    const slow = clock.setTimeout(() => turn('slow'), REPLACEMENT_TURN);
    // After a connect, the dials it makes room for start a millisecond later, on a real timer (not the
    // pool's clock: this is the event loop's order, not the pool's time). The caller the connect serves
    // writes its request in the continuations that follow, and on a near venue reads its answer, before
    // the loop turns to the next connects: with them in the same turn (setImmediate), a 16-connection
    // drop answered its first request about 12% later (measured on one core at real-time priority:
    // 2.13-2.27x undici's time against 1.88-1.98x; bench/notes.md). A far venue's heal waits 1 ms a step.
    opening.then(
      () => {
        clock.clearTimeout(slow);
        setTimeout(turn, REPLACEMENT_PAUSE, 'connected');
      },
      () => {
        clock.clearTimeout(slow);
        turn('failed');
      },
    );
  }

  /** One connection for slot `index`: a socket from its origin (or, on a first connect, the next that answers) and the client bound to it. */
  async #open(index: number, signal: CancelSignal): Promise<PoolConnection> {
    const assignment = this.#assignment;
    const generation = assignment.generation;
    let origin = assignment.choose(index);
    let dialed = this.#origins[origin]!;
    const count = this.#origins.length;
    let socket;
    // A slot's first connect tries every origin before it fails: one pod down must not fail connect().
    for (let tried = 1; ; tried++) {
      try {
        socket = await this.#dialOrigin(index, origin, dialed, generation, signal);
        break;
      } catch (error) {
        if (this.#connected[index] || tried >= count || signal.aborted || assignment.generation !== generation) throw error;
        origin = (origin + 1) % count;
        dialed = this.#origins[origin]!;
        assignment.place(index, origin);
      }
    }
    const connection = this.#bind(socket, dialed);
    this.#connected[index] = true;
    this.connections.add(connection);
    void connection.closed.then(() => this.connections.delete(connection));
    if (signal.aborted) connection.destroy();
    return connection;
  }

  /**
   * The connection for a dialed socket, in the protocol the pool speaks: HTTP/2 when asked for
   * (`http2`: ALPN h2 over TLS, else prior knowledge) or when ALPN chose it (`auto`).
   */
  #bind(socket: Awaited<ReturnType<typeof dial>>, dialed: OriginDial): PoolConnection {
    const protocol = this.#options.protocol;
    const alpn = (socket as { alpnProtocol?: string | false }).alpnProtocol;
    if (protocol === 'http2' && this.#options.tls && alpn !== 'h2') {
      socket.destroy();
      throw new LifelineError('CONNECT_FAILED', 'the server did not agree to HTTP/2 (ALPN h2) and the pool speaks HTTP/2 only (protocol: http2)');
    }
    if (protocol === 'http2' || (protocol === 'auto' && alpn === 'h2')) return new Http2Connection(socket, dialed.http2);
    return new HttpConnection(socket, dialed.connection);
  }

  /**
   * One dial on `origin`, in its turn with the shared `dialLimiter`, if any; its outcome is
   * counted against the origin, unless the origins were replaced since (its index may name another).
   */
  async #dialOrigin(index: number, origin: number, dialed: OriginDial, generation: number, signal: CancelSignal) {
    const dialing = limitedDial(this.#options.dialLimiter, signal, () => dial(dialed.target, signal));
    this.dials.add(dialing);
    const settled = () => this.dials.delete(dialing);
    dialing.then(settled, settled);
    const current = () => this.#assignment.generation === generation;
    try {
      const socket = await dialing;
      if (current()) this.#assignment.connected(index, origin);
      return socket;
    } catch (error) {
      if (!signal.aborted && current()) this.#assignment.failed(index, origin);
      throw error;
    }
  }
}
