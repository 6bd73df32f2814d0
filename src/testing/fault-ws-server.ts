/**
 * A real WebSocket server on loopback that a test can break at any moment, the
 * way market-data venues break: refuse connections, drop or reset them, accept
 * a connection and never finish the handshake, stop answering pings, go silent
 * on a socket that stays open, close after N messages, send a message too large
 * for the client, stop and come back on the same port. It records what each
 * connection received, in order, so a test can assert that subscriptions were
 * replayed on every reconnect.
 */
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../clock.js';
import { FaultServer } from './fault-server.js';

/**
 * The server's end of one WebSocket, as `onMessage` gets it and `clients` lists it: a `ws`
 * WebSocket, typed by what a test needs of it, so that lifeline's types do not require
 * `@types/ws` (cast it to ws's `WebSocket` for the rest).
 */
export interface FaultWsSocket extends EventEmitter {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string | Buffer): void;
  ping(data?: string | Buffer): void;
  close(code?: number, reason?: string | Buffer): void;
  /** Destroys the socket at once, with no closing handshake. */
  terminate(): void;
}

export interface FaultWsServerOptions {
  /** Called for each message that gets through the faults (e.g. to send an acknowledgement). */
  onMessage?: (socket: FaultWsSocket, text: string) => void;
  /** Loopback by default. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The clock `delay()` runs on: the test's (xstate's `SimulatedClock`), or real time by default. */
  clock?: Clock;
}

/** What `forgetClosed()` hands back of one closed WebSocket. */
export interface ClosedWsConnection {
  /** Its place among the WebSockets this server opened (0 for the first). */
  index: number;
  received: string[];
  acceptedAt: number;
  closedAt: number;
}

/**
 * The logs grow by one entry per WebSocket opened, for the server's life: fine for
 * a test, not for a long soak. There, call `forgetClosed()` now and then: it hands
 * back the logs of the connections closed so far and drops them, so what is kept
 * is bounded by the connections open (plus those closed since the last call).
 */
export class FaultWsServer extends FaultServer {
  /**
   * One entry per WebSocket opened: the text messages it received, in order. Index i
   * is the i-th WebSocket opened, until `forgetClosed()` drops entries: then the
   * logs not forgotten, still in the order opened (`received`, `acceptedAt` and
   * `closedAt` stay parallel).
   */
  readonly received: string[][] = [];
  /** `performance.now()` of each WebSocket opened. */
  readonly acceptedAt: number[] = [];
  /**
   * `performance.now()` of each WebSocket's close, undefined while it is open: which of
   * the `received` logs belong to connections still up (a client's current one).
   */
  readonly closedAt: (number | undefined)[] = [];
  /** The index (place among the WebSockets opened) of each entry of the logs, ascending. */
  readonly #indexes: number[] = [];
  #opened = 0;
  readonly #clients = new Set<WebSocket>();
  #answerPings = true;
  #silence = false;
  #onMessage: FaultWsServerOptions['onMessage'];
  // Pongs are answered by hand so that they can be withheld on a live socket.
  #wss = new WebSocketServer({ noServer: true, autoPong: false });
  #http = http.createServer((_req, res) => {
    res.writeHead(426).end('WebSocket only');
  });

  constructor(options: FaultWsServerOptions = {}) {
    super(options.host, (socket) => this.#http.emit('connection', socket), options.clock);
    this.#onMessage = options.onMessage;
    this.#http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#http.on('clientError', (_error, socket) => socket.destroy());
    this.#wss.on('connection', (socket) => this.#open(socket));
  }

  /** Open WebSockets. */
  get clients(): ReadonlySet<FaultWsSocket> {
    return this.#clients;
  }

  /** `ws://host:port`. */
  get url(): string {
    return `ws://${this.listener.host}:${this.port}`;
  }

  /** Sends to every open WebSocket (nothing while silent). */
  broadcast(data: string | Buffer): void {
    for (const socket of this.clients) this.send(socket, data);
  }

  /** Sends to one open WebSocket (nothing while silent). */
  send(socket: FaultWsSocket, data: string | Buffer): void {
    if (!this.#silence && socket.readyState === WebSocket.OPEN) socket.send(data);
  }

  /** While off, pings are read and never answered. */
  answerPings(on = true): void {
    this.#answerPings = on;
  }

  /** While on, nothing is sent to clients (broadcasts, acknowledgements), but pings are answered: a stuck upstream. */
  silence(on = true): void {
    this.#silence = on;
  }

  /** Sends a text message of `bytes` bytes to every open WebSocket, silent or not. */
  sendOversized(bytes: number): void {
    const message = 'x'.repeat(bytes);
    for (const socket of this.#clients) if (socket.readyState === WebSocket.OPEN) socket.send(message);
  }

  override heal(): void {
    super.heal();
    this.#answerPings = true;
    this.#silence = false;
  }

  /**
   * Drops the logs of every WebSocket closed so far from `received`, `acceptedAt` and
   * `closedAt` (the open ones stay, in order) and returns them, oldest first.
   */
  forgetClosed(): ClosedWsConnection[] {
    const forgotten: ClosedWsConnection[] = [];
    let kept = 0;
    for (let i = 0; i < this.#indexes.length; i++) {
      const closedAt = this.closedAt[i];
      if (closedAt !== undefined) {
        forgotten.push({ index: this.#indexes[i]!, received: this.received[i]!, acceptedAt: this.acceptedAt[i]!, closedAt });
        continue;
      }
      this.#indexes[kept] = this.#indexes[i]!;
      this.received[kept] = this.received[i]!;
      this.acceptedAt[kept] = this.acceptedAt[i]!;
      this.closedAt[kept] = undefined;
      kept++;
    }
    for (const log of [this.#indexes, this.received, this.acceptedAt, this.closedAt]) log.length = kept;
    return forgotten;
  }

  /** Where the connection `index` is in the logs, or -1 once forgotten. */
  #position(index: number): number {
    const indexes = this.#indexes;
    let low = 0;
    let high = indexes.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (indexes[middle] === index) return middle;
      if (indexes[middle]! < index) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.faults.blackHole) return;
    const upgrade = () => {
      if (socket.destroyed) return;
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
    };
    if (this.faults.delay > 0) {
      const timer = this.clock.setTimeout(upgrade, this.faults.delay);
      socket.once('close', () => this.clock.clearTimeout(timer));
    } else {
      upgrade();
    }
  }

  #open(socket: WebSocket): void {
    const index = this.#opened++;
    this.#indexes.push(index);
    this.acceptedAt.push(performance.now());
    this.closedAt.push(undefined);
    const log: string[] = [];
    this.received.push(log);
    this.#clients.add(socket);
    socket.on('close', () => {
      this.#clients.delete(socket);
      const position = this.#position(index);
      if (position >= 0) this.closedAt[position] = performance.now();
    });
    socket.on('error', () => {});
    socket.on('ping', (data) => {
      if (this.#answerPings && socket.readyState === socket.OPEN) socket.pong(data);
    });
    socket.on('message', (data) => {
      const text = data.toString();
      log.push(text);
      const limit = this.faults.closeAfter;
      if (limit !== undefined && log.length >= limit) {
        socket.close(1001, 'going away');
        return;
      }
      if (!this.#silence) this.#onMessage?.(socket, text);
    });
  }
}

/** Starts a fault WebSocket server on loopback (a free port unless `port` is given). */
export async function startFaultWsServer(options: FaultWsServerOptions = {}): Promise<FaultWsServer> {
  const server = new FaultWsServer(options);
  await server.listenOn(options.port ?? 0);
  return server;
}
