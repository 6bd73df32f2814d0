/**
 * A real HTTP/1.1 server on loopback that a test can break at any moment, the
 * way production servers and the boxes in front of them break: refuse new
 * connections, drop or reset every socket, swallow requests, answer slowly,
 * close keep-alive connections without warning, stop and come back on the same
 * port. It counts what it received, per connection, so a test can assert which
 * socket served what and how many times the client reconnected.
 */
import http from 'node:http';
import type net from 'node:net';
import { FaultServer } from './fault-server.js';

export type FaultHttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface FaultHttpServerOptions {
  /** Answers each request that gets through the faults; by default `200 ok`. */
  handler?: FaultHttpHandler;
  /** Loopback by default: a fault server is for tests, never for a network. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

const okHandler: FaultHttpHandler = (_req, res) => {
  res.end('ok');
};

/**
 * `requestsPerConnection` grows by one entry per connection, for the server's life:
 * fine for a test, not for a long soak. There, call `forgetClosed()` now and then:
 * it drops the counts of the connections closed so far, so what is kept is bounded
 * by the connections open (plus those closed since the last call).
 */
export class FaultHttpServer extends FaultServer {
  readonly server: http.Server;
  /**
   * Requests received on each connection, in the order connections were accepted;
   * after `forgetClosed()`, of the connections not forgotten, still in that order.
   */
  readonly requestsPerConnection: number[] = [];
  #requests = 0;
  #connectionClose = false;
  #handler: FaultHttpHandler;
  /** Each socket's entry in `requestsPerConnection` (the same object as in `#entries`). */
  #connectionEntry = new WeakMap<net.Socket, { position: number; closed: boolean }>();
  /** Parallel to `requestsPerConnection`. */
  readonly #entries: { position: number; closed: boolean }[] = [];

  constructor(options: FaultHttpServerOptions = {}) {
    super(options.host, (socket) => {
      const entry = { position: this.requestsPerConnection.push(0) - 1, closed: false };
      this.#entries.push(entry);
      this.#connectionEntry.set(socket, entry);
      socket.once('close', () => (entry.closed = true));
      this.server.emit('connection', socket);
    });
    this.#handler = options.handler ?? okHandler;
    this.server = http.createServer((req, res) => this.#receive(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** `http://host:port`. */
  get url(): string {
    return `http://${this.listener.host}:${this.port}`;
  }

  /** Open server-side sockets. */
  get sockets(): ReadonlySet<net.Socket> {
    return this.listener.sockets;
  }

  /** Requests received so far, answered or not. */
  get requests(): number {
    return this.#requests;
  }

  /** While on, every response carries `Connection: close` and the server closes the socket after it. */
  connectionClose(on = true): void {
    this.#connectionClose = on;
  }

  override heal(): void {
    super.heal();
    this.#connectionClose = false;
  }

  /** Drops the counts of every connection closed so far from `requestsPerConnection` (the open ones stay, in order); returns how many. */
  forgetClosed(): number {
    let kept = 0;
    for (let i = 0; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (entry.closed) continue;
      this.requestsPerConnection[kept] = this.requestsPerConnection[i]!;
      this.#entries[kept] = entry;
      entry.position = kept++;
    }
    const forgotten = this.#entries.length - kept;
    this.#entries.length = kept;
    this.requestsPerConnection.length = kept;
    return forgotten;
  }

  #receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.#requests++;
    const entry = this.#connectionEntry.get(req.socket)!;
    const served = ++this.requestsPerConnection[entry.position]!;
    const faults = this.faults;
    if (faults.blackHole) return;
    if (faults.delay > 0) {
      const timer = setTimeout(() => this.#answer(req, res, served), faults.delay);
      res.once('close', () => clearTimeout(timer));
    } else {
      this.#answer(req, res, served);
    }
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse, served: number): void {
    const faults = this.faults;
    if (this.#connectionClose) res.setHeader('connection', 'close');
    if (faults.closeAfter !== undefined && served >= faults.closeAfter) {
      // The stale keep-alive case: the response looks reusable, then the socket goes.
      res.once('finish', () => req.socket.end());
    }
    this.#handler(req, res);
  }
}

/** Starts a fault HTTP server on loopback (a free port unless `port` is given). */
export async function startFaultHttpServer(options: FaultHttpServerOptions = {}): Promise<FaultHttpServer> {
  const server = new FaultHttpServer(options);
  await server.listenOn(options.port ?? 0);
  return server;
}
