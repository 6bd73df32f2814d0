/**
 * A raw TCP server on 127.0.0.1 port 0 for the bad-peer corpus: each accepted
 * socket goes to the protocol subclass, which writes whatever bytes the case
 * needs, with no HTTP or WebSocket library in between to tidy them up.
 *
 * `allowHalfOpen` is on: a hostile peer decides for itself whether to answer a
 * FIN (node would otherwise end the socket for it, hiding a client that waits
 * on a peer that never closes). The server is closed, and every socket
 * destroyed, when the test finishes.
 */
import net from 'node:net';
import { once } from 'node:events';
import { onTestFinished } from 'vitest';

export abstract class RawServer {
  /** The sockets open now. */
  readonly sockets = new Set<net.Socket>();
  readonly #server: net.Server;
  readonly #scheme: string;
  #accepted = 0;

  protected constructor(scheme: 'http' | 'ws') {
    this.#scheme = scheme;
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      const index = this.#accepted++;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      // A client that resets a connection it has given up on is what these tests provoke.
      socket.on('error', () => {});
      this.onSocket(socket, index);
    });
  }

  /** Gets each accepted socket and its index (0 for the first connection). */
  protected abstract onSocket(socket: net.Socket, index: number): void;

  /** Sockets accepted so far: a recycled slot or feed shows up as one more. */
  get connections(): number {
    return this.#accepted;
  }

  get url(): string {
    return `${this.#scheme}://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  /** Listens on a free port, with the close registered for the end of the test. */
  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    onTestFinished(async () => {
      const closed = new Promise((resolve) => this.#server.close(resolve));
      for (const socket of this.sockets) socket.destroy();
      await closed;
    });
    return this;
  }
}
