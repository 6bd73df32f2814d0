/**
 * The base of the fault servers: what every one of them can do to its
 * connections, whatever the protocol.
 */
import type net from 'node:net';
import { unrefClock, withNow, type Clock, type TimedClock } from '../clock.js';
import { Listener } from './listener.js';

/** The faults both protocols share; `heal()` clears them. */
export interface CommonFaults {
  blackHole: boolean;
  delay: number;
  closeAfter: number | undefined;
}

const noCommonFaults = (): CommonFaults => ({ blackHole: false, delay: 0, closeAfter: undefined });

/** The HTTP and WebSocket fault servers extend it with their own faults. */
export abstract class FaultServer {
  protected readonly listener: Listener;
  protected faults = noCommonFaults();
  /**
   * The clock the server's own timers run on (`delay()`, and the HTTP server's idle
   * timeouts), and its `now()` stamps the request log: the test's clock when it passes
   * one (xstate's `SimulatedClock`), so that a delay passes when the test moves time,
   * exactly, on a loaded machine too. Real, unref'd timers by default.
   */
  protected readonly clock: TimedClock;
  #closed = false;

  protected constructor(host: string | undefined, onSocket: (socket: net.Socket, index: number) => void, clock?: Clock) {
    this.listener = new Listener(host ?? '127.0.0.1', onSocket);
    this.clock = clock ? withNow(clock) : unrefClock;
  }

  get port(): number {
    return this.listener.port;
  }

  /** Connections accepted at the TCP level so far. */
  get connections(): number {
    return this.listener.accepted;
  }

  /**
   * Connections accepted so far that have closed since, whoever closed them. Once a
   * client is done (its pool or feed closed), `closedConnections === connections`:
   * it closed every connection it opened, none leaked.
   */
  get closedConnections(): number {
    return this.listener.closed;
  }

  /** Whether new connections are accepted (false after `refuse()` or `stop()`). */
  get listening(): boolean {
    return this.listener.listening;
  }

  /** Starts listening on `port` (0 picks a free one). */
  listenOn(port: number): Promise<void> {
    return this.listener.listen(port);
  }

  /**
   * While on, new requests (HTTP) or handshakes (WebSocket) are read and never
   * answered: the load balancer that accepts and forwards into the void.
   */
  blackHole(on = true): void {
    this.faults.blackHole = on;
  }

  /** Delays every HTTP response or WebSocket handshake by `ms` (0 turns it off), on the server's clock. */
  delay(ms: number): void {
    this.faults.delay = ms;
  }

  /**
   * Closes each connection once it has received `n` requests or messages.
   *
   * HTTP: a FIN right after the nth response, with no `Connection: close` warning.
   * The response is written in full (it says `Connection: keep-alive`), then the
   * socket is ended (`socket.end()`, a FIN, not a reset). It is a normal end, not a
   * fault: the connection served n complete responses, as an exiting nginx worker's
   * or a server at its request limit does without saying so. A client must count it
   * as a clean end, and must not hand the connection out again in the moment between
   * the response and the FIN (the stale keep-alive race).
   *
   * WebSocket: with a 1001 close (going away).
   */
  closeAfter(n: number | undefined): void {
    this.faults.closeAfter = n;
  }

  /** Clears every fault, so the server behaves again. */
  heal(): void {
    this.faults = noCommonFaults();
  }

  /** Stops listening, so new connections are refused (ECONNREFUSED); open sockets stay up. */
  refuse(): Promise<void> {
    return this.listener.refuse();
  }

  /** Listens again on the same port. */
  accept(): Promise<void> {
    return this.restart();
  }

  /** Destroys every open socket: the client sees the connection end without a goodbye. */
  dropAll(): void {
    this.listener.dropAll();
  }

  /** Resets every open socket: the client sees ECONNRESET. */
  resetAll(): void {
    this.listener.resetAll();
  }

  /** Refuses new connections and drops every open one. */
  stop(): Promise<void> {
    return this.listener.stop();
  }

  /** Listens again on the same port (after `stop()` or `refuse()`). */
  restart(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the fault server is closed'));
    return this.listener.listen();
  }

  /** Stops for good: `restart()` and `accept()` reject afterwards. */
  close(): Promise<void> {
    this.#closed = true;
    return this.listener.stop();
  }
}
