/**
 * One WebSocket over `ws`, adapted to what the feed machine needs.
 *
 * Messages take the short path: `ws` -> `onMessage` (the Feed's delivery), with
 * only a clock read on the side for staleness. The machine hears about pongs
 * and the socket's death; about messages only while it waits for acks.
 */
import net from 'node:net';
import tls from 'node:tls';
import { redactUrl } from '../redact.js';
import WebSocket from 'ws';
import { LifelineError } from '../errors.js';
import type { FeedClock, FeedConnection, FeedConnectionEvent, FeedWatchEvent, FeedWatchOptions } from '../machines/feed.js';
import { ConnectionWatch } from './watchdog.js';
import { cancelOnAbort } from './cancel.js';
import { dial, type TlsOptions } from './dial.js';
import type { ProxyTarget } from './proxy-options.js';
import type { PerMessageDeflateOptions } from './websocket-options.js';

export interface WebSocketTarget {
  url: string;
  connectTimeout: number;
  /** Bytes; a larger message closes the socket with 1009 and the feed reports MESSAGE_TOO_LARGE. */
  maxMessageSize: number;
  tls: TlsOptions | undefined;
  /** The HTTP proxy to connect through with CONNECT, if any. */
  proxy: ProxyTarget | undefined;
  headers: Record<string, string> | undefined;
  /** Subprotocols offered, in order of preference; ws fails the handshake if the server picks none of them. */
  protocols: string[] | undefined;
  /** Offer permessage-deflate (ws's defaults for `true`). */
  perMessageDeflate: boolean | PerMessageDeflateOptions;
  clock: FeedClock;
  /** How long a closing handshake may take before the socket is terminated (ms): the feed's own close, or one the peer started. */
  closeTimeout: number;
  /** Keep `lastMessageAt` current (only staleness reads it; reading the clock per message is not free). */
  trackLastMessage: boolean;
  /** false: the socket is unref'd from its dial on, so it never holds the process open (the feed's `ref: false`). */
  ref: boolean;
}

export type MessageSink = (data: string | Buffer, isBinary: boolean) => void;

/** Wraps an open `ws` socket (set by the class: its constructor is private, so that no declaration names `ws`). */
let adopt: (ws: WebSocket, target: WebSocketTarget, sink: MessageSink) => WsFeedConnection;

export class WsFeedConnection implements FeedConnection {
  static {
    adopt = (ws, target, sink) => new WsFeedConnection(ws, target, sink);
  }

  readonly closed: Promise<void>;
  lastMessageAt: number;
  /** The subprotocol the server chose ('' for none). */
  readonly protocol: string;
  readonly #ws: WebSocket;
  readonly #closeTimeout: number;
  readonly #listeners = new Set<(event: FeedConnectionEvent) => void>();
  readonly #messageListeners = new Set<(event: FeedConnectionEvent) => void>();
  #error: LifelineError | undefined;
  #watch: ConnectionWatch | undefined;
  #closeCode = 0;
  #gone = false;

  private constructor(ws: WebSocket, target: WebSocketTarget, sink: MessageSink) {
    this.#ws = ws;
    this.protocol = ws.protocol;
    this.#closeTimeout = target.closeTimeout;
    const clock = target.clock;
    this.lastMessageAt = clock.now();
    const track = target.trackLastMessage;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (track) this.lastMessageAt = clock.now();
      const payload = isBinary ? data : data.toString();
      sink(payload, isBinary);
      if (this.#messageListeners.size > 0) {
        const event: FeedConnectionEvent = { type: 'message', data: payload, isBinary };
        for (const listener of this.#messageListeners) listener(event);
      }
    });
    ws.on('pong', () => this.#emit({ type: 'pong' }));
    ws.on('error', (error: Error & { code?: string }) => {
      this.#error ??=
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? new LifelineError('MESSAGE_TOO_LARGE', `a message exceeded maxMessageSize (${target.maxMessageSize} bytes)`, { cause: error })
          : new LifelineError('FEED_LOST', `the WebSocket failed: ${error.code ?? error.message}`, { cause: error });
      // A frame that breaks the protocol (bad bits, opcode, UTF-8, close code, mask, size)
      // fails the connection. ws has queued its close frame and half-closed, and would wait
      // for the peer's FIN: a peer that never sends one kept the feed 'healthy' on a dead
      // socket for ws's close timeout. Nothing more is owed to that peer: drop it now.
      ws.terminate();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number) => {
        this.#gone = true;
        this.#closeCode = code;
        this.#emit({ type: 'lost', error: this.#lostError() });
        this.#listeners.clear();
        this.#messageListeners.clear();
        resolve();
      });
    });
  }

  send(text: string): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(text);
  }

  /** Sends and settles once `ws` has handed the frame to the socket. */
  sendAndConfirm(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#ws.send(text, (error) => (error ? reject(new LifelineError('NOT_LIVE', 'the message could not be sent: the socket closed', { cause: error })) : resolve()));
    });
  }

  ping(): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
  }

  async close(): Promise<void> {
    if (this.#gone) return;
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
    const timer = setTimeout(() => this.#ws.terminate(), this.#closeTimeout);
    timer.unref();
    await this.closed;
    clearTimeout(timer);
  }

  destroy(): void {
    if (!this.#gone) this.#ws.terminate();
  }

  onEvent(listener: (event: FeedConnectionEvent) => void, options?: { messages?: boolean }): () => void {
    if (this.#gone) {
      // A guard, as HttpConnection.onLost has: nothing between 'open' and the machine's watch
      // subscribing waits on I/O today, but a socket gone by then would never report `lost`
      // and the feed would stay live on it for good.
      const error = this.#lostError();
      queueMicrotask(() => listener({ type: 'lost', error }));
      return () => {};
    }
    this.#listeners.add(listener);
    if (options?.messages) this.#messageListeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      this.#messageListeners.delete(listener);
    };
  }

  watch(options: FeedWatchOptions, report: (event: FeedWatchEvent) => void): void {
    this.#watch?.stop();
    this.#watch = new ConnectionWatch(this, options, report);
  }

  unwatch(): void {
    this.#watch?.stop();
    this.#watch = undefined;
  }

  /** Why the socket is gone: the error that failed it, else the close code the peer sent. */
  #lostError(): LifelineError {
    this.#error ??= new LifelineError('FEED_LOST', `the WebSocket closed (code ${this.#closeCode})`);
    return this.#error;
  }

  #emit(event: FeedConnectionEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** ws 8.23 takes `closeTimeout` (ms, default 30 000); @types/ws 8.18 does not declare it yet. */
interface WsCloseTimeout {
  closeTimeout?: number;
}

type ConnectOptions = net.NetConnectOpts & tls.ConnectionOptions & { socketPath?: string; host?: string };

/**
 * ws's own dial (its `netConnect` and `tlsConnect`: the same path and servername rules), given to
 * ws as http.request's `createConnection` (no http agent is involved then) so that the feed holds
 * the socket from its first moment: an aborted handshake can wait for it to be gone, and with
 * `ref: false` it is unref'd at once, so it never holds the process.
 */
function connectSocket(secure: boolean, ref: boolean, onSocket: (socket: net.Socket) => void): (options: ConnectOptions) => net.Socket {
  return (options) => {
    let socket: net.Socket;
    if (secure) {
      const servername = !options.servername && options.servername !== '' ? (net.isIP(options.host ?? '') ? '' : options.host) : options.servername;
      socket = tls.connect({ ...options, path: undefined, servername });
    } else {
      socket = net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
    }
    if (!ref) socket.unref();
    onSocket(socket);
    return socket;
  };
}

/**
 * Opens a WebSocket; rejects with CONNECT_FAILED on refusal, a bad handshake, timeout or abort.
 * Through a proxy, the tunnel (TLS inside it for wss) is dialed first, and the upgrade gets
 * what is left of `connectTimeout`.
 */
export async function openWebSocket(target: WebSocketTarget, signal: AbortSignal, sink: MessageSink): Promise<WsFeedConnection> {
  if (!target.proxy) return handshake(target, signal, sink, undefined, target.connectTimeout);
  const started = performance.now();
  const url = new URL(target.url);
  const secure = url.protocol === 'wss:';
  const tunnel = await dial(
    {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : secure ? 443 : 80,
      tls: secure ? (target.tls ?? { rejectUnauthorized: true }) : undefined,
      proxy: target.proxy,
      connectTimeout: target.connectTimeout,
      noDelay: true, // what ws sets on its own sockets
      keepAlive: 0,
    },
    cancelOnAbort(signal),
  );
  if (target.ref) tunnel.ref(); // dial unrefs, for a pool's idle sockets
  const left = Math.max(1, Math.ceil(target.connectTimeout - (performance.now() - started)));
  return handshake(target, signal, sink, tunnel, left);
}

/** The upgrade, on a socket ws dials (`tunnel` undefined) or on a tunnel dialed already, within `timeout` ms. */
function handshake(target: WebSocketTarget, signal: AbortSignal, sink: MessageSink, tunnel: net.Socket | undefined, timeout: number): Promise<WsFeedConnection> {
  const where = redactUrl(target.url);
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      tunnel?.destroy();
      reject(new LifelineError('CONNECT_FAILED', `connect to ${where} aborted`));
      return;
    }
    /** Settles at the socket's 'close' (its handle gone); `destroyed` and `closed` are set a loop turn or more before. */
    let socketGone: Promise<void> | undefined;
    let socket: net.Socket | undefined;
    const hold = (dialed: net.Socket) => {
      socket = dialed;
      socketGone = new Promise((resolve) => dialed.once('close', () => resolve()));
    };
    if (tunnel) hold(tunnel);
    const options: WebSocket.ClientOptions & WsCloseTimeout = {
      maxPayload: target.maxMessageSize,
      // ws waits 30 s by default for the peer to finish a closing handshake (after the peer's
      // own close frame too); a peer that never closes its side must not hold a feed that long.
      closeTimeout: target.closeTimeout,
      handshakeTimeout: timeout,
      // ws takes `clientMaxWindowBits: true` (let the server choose); @types/ws 8.18 declares only numbers.
      perMessageDeflate: target.perMessageDeflate as WebSocket.ClientOptions['perMessageDeflate'],
      headers: target.headers,
      createConnection: (tunnel
        ? () => tunnel
        : connectSocket(new URL(target.url).protocol === 'wss:', target.ref, hold)) as unknown as WebSocket.ClientOptions['createConnection'],
      ...(target.tls && {
        ca: target.tls.ca,
        cert: target.tls.cert,
        key: target.tls.key,
        rejectUnauthorized: target.tls.rejectUnauthorized ?? true,
        servername: target.tls.servername,
      }),
    };
    const ws = new WebSocket(target.url, target.protocols, options);
    let failure: LifelineError | undefined;
    const fail = (reason: string, cause?: unknown) => {
      failure ??= new LifelineError('CONNECT_FAILED', `connect to ${where} failed: ${reason}`, { cause });
      ws.terminate();
    };
    const onAbort = () => fail('aborted');
    const timer = setTimeout(() => fail(`no connection within connectTimeout (${target.connectTimeout} ms)`), timeout);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('close', onClose);
      ws.off('unexpected-response', onUnexpected);
    };
    const onOpen = () => {
      cleanup();
      resolve(adopt(ws, target, sink));
    };
    const onError = (error: Error & { code?: string }) => fail(error.code ?? error.message.replace(target.url, where), error);
    const onUnexpected = (_req: unknown, res: { statusCode?: number; resume(): void }) => {
      res.resume();
      fail(`the server answered the upgrade with HTTP ${res.statusCode}`);
    };
    // Settle once the socket is gone, so whoever awaits a dial (the feed's close()) knows none is
    // left. ws's 'close' does not say so: an aborted handshake (terminate() while CONNECTING)
    // emits it on the next tick, while the socket it destroyed closes a loop turn or more later.
    const onClose = () => {
      cleanup();
      const error = failure ?? new LifelineError('CONNECT_FAILED', `connect to ${where} failed: closed during the handshake`);
      if (!socket || !socketGone) {
        reject(error);
        return;
      }
      socket.destroy();
      void socketGone.then(() => reject(error));
    };
    ws.once('open', onOpen);
    ws.on('error', onError);
    ws.once('close', onClose);
    ws.once('unexpected-response', onUnexpected);
  });
}
