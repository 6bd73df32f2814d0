/**
 * A real HTTP server on 127.0.0.1 port 0 that a test can break: drop every
 * socket, stop listening, listen again on the same port. It counts requests
 * per connection so a test can see which socket served what.
 */
import http from 'node:http';
import type net from 'node:net';
import { once } from 'node:events';
import { onTestFinished } from 'vitest';

export interface TestServer {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  /** Open server-side sockets. */
  readonly sockets: Set<net.Socket>;
  /** Connections accepted so far. */
  connections: number;
  /** Requests received so far. */
  requests: number;
  /** Destroys every open socket (the peer sees a FIN or RST). */
  dropAll(): void;
  /** Stops listening and drops every socket: new connections are refused. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export async function startHttpServer(handler: Handler = (_req, res) => res.end('ok')): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    state.requests++;
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const state: TestServer = {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    sockets,
    connections: 0,
    requests: 0,
    dropAll,
    async stop() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      dropAll();
      await closed;
    },
    async restart() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
  onTestFinished(() => state.stop());
  return state;
}
