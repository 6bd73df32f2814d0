/**
 * A real HTTP/1.1 server on loopback that a test can break at any moment, the
 * way production servers and the boxes in front of them break: refuse new
 * connections, drop or reset every socket, swallow requests, answer slowly,
 * close keep-alive connections without warning, stop and come back on the same
 * port. It counts what it received, per connection, so a test can assert which
 * socket served what and how many times the client reconnected.
 *
 * It also lives the normal life of real servers, which end connections on
 * purpose and are healthy doing it: `Connection: close` on the nth response
 * (nginx `keepalive_requests`), HTTP/1.0 responses (python's http.server), idle
 * timeouts announced with `Keep-Alive: timeout=N` or silent (nginx
 * `keepalive_timeout N N` and `keepalive_timeout N`), a FIN right after the nth
 * response (`closeAfter`), and a graceful close of every connection (an nginx
 * reload). A client should count none of these as a failure.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Clock } from '../clock.js';
import { FaultServer } from './fault-server.js';
import { HeldResponses } from './held-responses.js';
import { logRequest, type LoggedRequest } from './request-log.js';

export type FaultHttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface FaultHttpServerOptions {
  /** Answers each request that gets through the faults; by default `200 ok`. */
  handler?: FaultHttpHandler;
  /** Loopback by default: a fault server is for tests, never for a network. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /**
   * The clock the server's timers run on (`delay()`, `idleTimeout()`, `keepAliveTimeout()`)
   * and that stamps `requestLog`: the test's (xstate's `SimulatedClock`), or real time by default.
   */
  clock?: Clock;
  /** Header and query parameter names scrubbed from `requestLog`, beyond those that look secret (case-insensitive). */
  secretNames?: string[];
}

const okHandler: FaultHttpHandler = (_req, res) => {
  res.end('ok');
};

/** What the server knows of one accepted connection. */
interface ConnectionEntry {
  /** Its place among the connections accepted (0 for the first), for the request log. */
  index: number;
  /** Its index in `requestsPerConnection`. */
  position: number;
  closed: boolean;
  /** Responses to requests received, not yet done (or abandoned). */
  responses: Set<http.ServerResponse>;
  /** Set while the connection is idle after serving, with `idleTimeout()` or `keepAliveTimeout()` on (a timer of the server's clock). */
  idleTimer: unknown;
  /** `endAll()` asked for a FIN once the requests in flight are answered, and `Connection: close` on those not yet started. */
  ending: boolean;
}

/** The idle limit of `idleTimeout()` / `keepAliveTimeout()`. */
interface IdleLimit {
  ms: number;
  /** The `Keep-Alive: timeout=N` value, when the limit is announced. */
  announced: number | undefined;
}

function checkCount(what: string, n: number | undefined): void {
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= 1)) throw new RangeError(`${what}: a whole number >= 1, or undefined to turn it off (got ${String(n)})`);
}

/**
 * Makes `res` an HTTP/1.0 response: the status line says `HTTP/1.0`, no
 * `Connection` or `Keep-Alive` header (HTTP/1.0 closes unless asked otherwise),
 * no chunked encoding (HTTP/1.0 has none: a streamed body ends at EOF), and the
 * server closes the connection after it. Node's `ServerResponse` writes
 * `HTTP/1.1` in the status line it hands `_storeHeader`; this rewrites that line
 * on this response alone.
 */
function speakHttp10(res: http.ServerResponse, contentLength: boolean): void {
  const internal = res as unknown as { _storeHeader(firstLine: string, headers: unknown): void };
  const store = internal._storeHeader;
  internal._storeHeader = function (this: unknown, firstLine: string, headers: unknown) {
    store.call(this, firstLine.replace(/^HTTP\/1\.1 /, 'HTTP/1.0 '), headers);
  };
  res.shouldKeepAlive = false;
  // Removed before the handler runs, so that Node neither announces nor frames them.
  res.removeHeader('connection');
  res.removeHeader('transfer-encoding');
  if (!contentLength) res.removeHeader('content-length');
}

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
  /**
   * Every request received, answered or not, in arrival order: method, path, headers
   * (secrets scrubbed), body, time on the server's clock, connection. See `LoggedRequest`.
   * Grows for the server's life: `clearRequestLog()` empties it.
   */
  readonly requestLog: readonly LoggedRequest[] = [];
  #requests = 0;
  #hold: HeldResponses | undefined;
  readonly #secretNames: ReadonlySet<string>;
  #connectionClose = false;
  #keepAliveRequests: number | undefined;
  #http10: { contentLength: boolean } | undefined;
  #idle: IdleLimit | undefined;
  /** Node's own `keepAliveTimeout`, put aside while an idle limit of ours is on. */
  #nodeKeepAliveTimeout: number | undefined;
  #handler: FaultHttpHandler;
  /** Each socket's entry (the same object as in `#entries`). */
  #connectionEntry = new WeakMap<net.Socket, ConnectionEntry>();
  /** Parallel to `requestsPerConnection`. */
  readonly #entries: ConnectionEntry[] = [];

  constructor(options: FaultHttpServerOptions = {}) {
    super(
      options.host,
      (socket, index) => {
        const entry: ConnectionEntry = { index, position: this.requestsPerConnection.push(0) - 1, closed: false, responses: new Set(), idleTimer: undefined, ending: false };
        this.#entries.push(entry);
        this.#connectionEntry.set(socket, entry);
        socket.once('close', () => {
          entry.closed = true;
          this.#clearIdle(entry);
        });
        this.server.emit('connection', socket);
      },
      options.clock,
    );
    this.#secretNames = new Set((options.secretNames ?? []).map((name) => name.toLowerCase()));
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

  /**
   * The nth response on each connection carries `Connection: close`, and the
   * server closes the connection after it (a FIN once the response is written), as
   * nginx does with `keepalive_requests n`. A normal end: the server said so, in
   * the response. `undefined` turns it off.
   */
  keepAliveRequests(n: number | undefined): void {
    checkCount('keepAliveRequests', n);
    this.#keepAliveRequests = n;
  }

  /**
   * While on, every response is an HTTP/1.0 one, as python's `http.server` sends:
   * status line `HTTP/1.0`, no `Connection` or `Keep-Alive` header, and the
   * server closes the connection (a FIN) after every response. A normal end.
   *
   * With `contentLength: true` (the default) a body given at once (`res.end(body)`)
   * carries `Content-Length`; with `false`, or when the handler streams its body,
   * the body has no length and ends when the connection does (EOF-delimited; HTTP/1.0
   * has no chunked encoding). `http10(false)` turns it off.
   */
  http10(on = true, options: { contentLength?: boolean } = {}): void {
    this.#http10 = on ? { contentLength: options.contentLength ?? true } : undefined;
  }

  /**
   * Closes a connection (a FIN) once it has been idle `ms` after serving its last
   * response, without announcing it: nginx's default (`keepalive_timeout 75s`, no
   * second parameter), and most servers'. The idle time counts from the end of a
   * connection's last response; a connection that never served a request is left
   * alone. While on, Node's own `keepAliveTimeout` (and its `Keep-Alive: timeout=60`
   * header) is off. `undefined` turns it off. Replaces `keepAliveTimeout()`.
   */
  idleTimeout(ms: number | undefined): void {
    if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) throw new RangeError(`idleTimeout: a time in ms > 0, or undefined to turn it off (got ${String(ms)})`);
    this.#setIdle(ms === undefined ? undefined : { ms, announced: undefined });
  }

  /**
   * Announces `Keep-Alive: timeout=<seconds>` on every keep-alive response, and
   * keeps its word: closes a connection (a FIN) once it has been idle that long
   * after its last response, as nginx does with `keepalive_timeout N N`. A normal
   * end, announced. `undefined` turns it off. Replaces `idleTimeout()`.
   */
  keepAliveTimeout(seconds: number | undefined): void {
    checkCount('keepAliveTimeout', seconds);
    this.#setIdle(seconds === undefined ? undefined : { ms: seconds * 1000, announced: seconds });
  }

  /**
   * A graceful close of every open connection at once, as an nginx reload (or a
   * graceful restart) does: an idle connection gets a FIN now; a busy one gets its
   * responses in flight, then a FIN. A response whose head is not written yet says
   * `Connection: close` (nginx's old worker does the same); one already under way
   * is finished as it began. New connections are still accepted (the new workers).
   * A normal end of every connection, unlike `dropAll()` (sockets destroyed,
   * responses in flight cut) and `resetAll()` (ECONNRESET). A request held by
   * `blackHole()` is never answered, so its connection stays open.
   */
  endAll(): void {
    for (const socket of this.sockets) {
      const entry = this.#connectionEntry.get(socket);
      if (!entry || entry.responses.size === 0) {
        socket.end();
        continue;
      }
      entry.ending = true;
      for (const res of entry.responses) if (!res.headersSent) res.setHeader('connection', 'close');
    }
  }

  /**
   * Holds every response from now on until `release()` on the handle: each request that
   * gets through the other faults is read, logged and left unanswered, then answered (after
   * `delay()`, if on) when the test releases it. One hold at a time: a new one releases the last.
   *
   * ```ts
   * const held = server.hold();
   * const order = pool.request({ method: 'POST', path: '/order', body });
   * await held.arrived();          // the server has the order
   * server.dropAll();              // ...and the connection dies before the answer
   * ```
   */
  hold(): HeldResponses {
    this.#hold?.release();
    const hold = new HeldResponses((released) => {
      if (this.#hold === released) this.#hold = undefined;
    });
    this.#hold = hold;
    return hold;
  }

  /** Empties `requestLog` (for a long soak; its indexes go on counting). */
  clearRequestLog(): void {
    (this.requestLog as LoggedRequest[]).length = 0;
  }

  /** Clears the faults, and the normal-life behaviours too: a plain keep-alive server again. A hold stays until released. */
  override heal(): void {
    super.heal();
    this.#connectionClose = false;
    this.#keepAliveRequests = undefined;
    this.#http10 = undefined;
    this.#setIdle(undefined);
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

  #setIdle(idle: IdleLimit | undefined): void {
    if (idle && this.#nodeKeepAliveTimeout === undefined) {
      this.#nodeKeepAliveTimeout = this.server.keepAliveTimeout;
      this.server.keepAliveTimeout = 0;
    } else if (!idle && this.#nodeKeepAliveTimeout !== undefined) {
      this.server.keepAliveTimeout = this.#nodeKeepAliveTimeout;
      this.#nodeKeepAliveTimeout = undefined;
    }
    this.#idle = idle;
  }

  /** A response is done (or abandoned): the connection may be idle now. */
  #settled(socket: net.Socket, entry: ConnectionEntry, res: http.ServerResponse): void {
    entry.responses.delete(res);
    if (entry.responses.size > 0 || socket.destroyed) return;
    if (entry.ending) {
      socket.end();
      return;
    }
    const idle = this.#idle;
    if (!idle) return;
    entry.idleTimer = this.clock.setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.responses.size === 0) socket.end();
    }, idle.ms);
  }

  #clearIdle(entry: ConnectionEntry): void {
    if (entry.idleTimer === undefined) return;
    this.clock.clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }

  #receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    const index = this.#requests++;
    const socket = req.socket;
    const entry = this.#connectionEntry.get(socket)!;
    entry.responses.add(res);
    this.#clearIdle(entry);
    res.once('close', () => this.#settled(socket, entry, res));
    const served = ++this.requestsPerConnection[entry.position]!;
    const logged = logRequest(req, { index, at: this.clock.now(), connection: entry.index, onConnection: served }, this.#secretNames);
    (this.requestLog as LoggedRequest[]).push(logged);
    if (this.faults.blackHole) return;
    if (this.#hold) this.#hold.add(logged, () => this.#dispatch(req, res, served));
    else this.#dispatch(req, res, served);
  }

  /** Answers now, or after `delay()` on the server's clock; not at all once the client is gone. */
  #dispatch(req: http.IncomingMessage, res: http.ServerResponse, served: number): void {
    if (res.closed) return;
    const delay = this.faults.delay;
    if (delay > 0) {
      const timer = this.clock.setTimeout(() => this.#answer(req, res, served), delay);
      res.once('close', () => this.clock.clearTimeout(timer));
    } else {
      this.#answer(req, res, served);
    }
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse, served: number): void {
    const faults = this.faults;
    const closing =
      this.#connectionClose ||
      (this.#keepAliveRequests !== undefined && served >= this.#keepAliveRequests) ||
      res.getHeader('connection') === 'close'; // endAll() came first
    if (closing) res.setHeader('connection', 'close');
    if (this.#http10) speakHttp10(res, this.#http10.contentLength);
    // Setting the header turns Node's own (`timeout=60`) off, for this response.
    else if (!closing && this.#idle?.announced !== undefined) res.setHeader('keep-alive', `timeout=${this.#idle.announced}`);
    if (faults.closeAfter !== undefined && served >= faults.closeAfter) {
      // A FIN right after the nth response, which looked reusable: a normal end, and the stale keep-alive race.
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
