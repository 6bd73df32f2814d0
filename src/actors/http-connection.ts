/**
 * One HTTP/1.1 connection: an undici `Client` bound to exactly one dialed socket.
 *
 * undici would reconnect a Client lazily on the next request after its socket
 * dies, handing a caller a fresh dial on the hot path. Here the Client's
 * `connect` hook gives it the pre-dialed socket once and refuses every later
 * connect, so the socket's death is final: the slot sees `lost`, is poisoned,
 * and heals in the background with a new connection.
 */
import type net from 'node:net';
import { Client } from 'undici';
import { LifelineError } from '../errors.js';
import type { SlotConnection } from '../machines/slot.js';
import { toLifelineError } from '../pool/error-map.js';

export interface HttpConnectionOptions {
  /** `http://host:port` or `https://host:port`; no path, no credentials. */
  origin: string;
  headersTimeout: number;
  bodyTimeout: number;
}

/**
 * undici closes an idle socket after its keepAliveTimeout (4 s by default). A
 * slot's connection lives until the server closes it, so the idle timer is set
 * far out; a server's `Keep-Alive: timeout=N` hint still shortens it.
 */
const IDLE_FOREVER = 600_000;

export class HttpConnection implements SlotConnection {
  readonly client: Client;
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  #lostError: LifelineError | undefined;
  #dead = false;
  readonly #listeners = new Set<(error: Error | undefined) => void>();

  constructor(socket: net.Socket, options: HttpConnectionOptions) {
    this.#socket = socket;
    let handedOver = false;
    // Until undici reads the socket nobody does, and bytes the server sends before the
    // first request would sit in its buffer, to be parsed later as the answer to that
    // request: a desync. Nothing can be an answer before a question, so such bytes
    // poison the idle connection at once and the slot heals before anyone is handed it.
    const onEarlyData = (chunk: Buffer) => {
      this.#lostError ??= new LifelineError('MALFORMED_RESPONSE', `the server sent ${chunk.length} bytes before any request`);
      socket.destroy();
    };
    socket.on('data', onEarlyData);
    this.client = new Client(options.origin, {
      connect: (_opts, callback) => {
        if (handedOver || socket.destroyed) {
          process.nextTick(callback, new LifelineError('CONNECTION_LOST', 'the connection is closed'), null);
          return;
        }
        handedOver = true;
        // From here undici reads the socket (paused mode, on 'readable'); hold the bytes for it.
        socket.off('data', onEarlyData);
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
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
    });
    // undici reports socket errors to the request in flight; this listener keeps an idle
    // socket's error (ECONNRESET) from becoming an uncaught exception, and reports the
    // loss at once: a socket emits 'error' only once destroyed. That is a turn before
    // 'close', and before the promise of a request that completed just as undici gave up
    // on the socket (a stray response behind it) lets its caller release the slot.
    socket.on('error', (error) => {
      this.#noteError(error);
      this.#lose();
    });
    // 'disconnect' is undici telling us it gave up on the socket (a parser error, a
    // keep-alive hint that expired); without this a slot could hold a Client with no socket.
    this.client.on('disconnect', (_origin, _targets, error) => {
      this.#noteError(error);
      socket.destroy();
    });
    // The server's FIN is the end of a keep-alive connection: report it at once rather
    // than at 'close' (a turn or more later), so the slot leaves the free list before a
    // caller can be handed a socket that will only answer "other side closed".
    socket.once('end', () => this.#lose());
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#lose();
        this.client.destroy().catch(() => {});
        resolve();
      });
    });
  }

  /**
   * Keeps the first error as a lifeline code, so the slot's `lost` (and the flight
   * recorder's reason) names it as a caller would see it. undici's informational
   * errors (`reset` after `Connection: close`, an expired keep-alive) are its own
   * decision to close, not a failure: they leave no error.
   */
  #noteError(error: Error): void {
    if ((error as { code?: unknown }).code === 'UND_ERR_INFO') return;
    this.#lostError ??= toLifelineError(error);
  }

  #lose(): void {
    if (this.#dead) return;
    this.#dead = true;
    for (const listener of this.#listeners) listener(this.#lostError);
    this.#listeners.clear();
  }

  get dead(): boolean {
    return this.#dead;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  onLost(listener: (error: Error | undefined) => void): () => void {
    if (this.#dead) {
      queueMicrotask(() => listener(this.#lostError));
      return () => {};
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
