/**
 * The TCP side of a fault server: a listener that can refuse new connections
 * and listen again on the same port while the sockets it already accepted stay
 * up, and that can drop or reset all of them at once.
 *
 * It is a plain `net.Server` handing each socket to a protocol server through
 * `emit('connection')`: `http.Server.close()` would also close idle keep-alive
 * sockets (Node >= 19), and refusing must not touch them.
 */
import net from 'node:net';
import { once } from 'node:events';

export class Listener {
  readonly host: string;
  readonly sockets = new Set<net.Socket>();
  #server: net.Server;
  #port = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections accepted so far that have closed since (their socket's `close` event). */
  closed = 0;

  constructor(host: string, onSocket: (socket: net.Socket, index: number) => void) {
    this.host = host;
    this.#server = net.createServer({ noDelay: true }, (socket) => {
      const index = this.accepted++;
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.closed++;
      });
      // A client that vanishes mid-write is a normal event for a fault server.
      socket.on('error', () => {});
      onSocket(socket, index);
    });
  }

  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** Listens on `port` (0 picks one the first time; later calls reuse it). */
  async listen(port = this.#port): Promise<void> {
    if (this.#server.listening) return;
    this.#server.listen(port, this.host);
    await once(this.#server, 'listening');
    this.#port = (this.#server.address() as net.AddressInfo).port;
  }

  /** Stops accepting: new connections are refused. Open sockets are left alone. */
  async refuse(): Promise<void> {
    if (!this.#server.listening) return;
    // net.Server emits 'close' only once every accepted socket has gone; do not wait for that.
    this.#server.close();
  }

  /** Destroys every open socket: the peer sees a FIN. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Resets every open socket: the peer sees ECONNRESET. */
  resetAll(): void {
    for (const socket of this.sockets) {
      // A socket already shutting down (the server ended it) cannot be reset: libuv
      // answers EINVAL and the handle would never close. It is going anyway; drop it.
      if (socket.writableEnded) socket.destroy();
      else socket.resetAndDestroy();
    }
  }

  /** Refuses new connections and drops the open ones. */
  async stop(): Promise<void> {
    await this.refuse();
    this.dropAll();
  }
}
