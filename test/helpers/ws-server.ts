/**
 * A real WebSocket server on 127.0.0.1 port 0 that a test can break: drop every
 * socket, stop and restart on the same port, go silent, withhold pongs. It
 * records the messages each connection received, in order.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { onTestFinished } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';

export interface TestWsServer {
  readonly port: number;
  readonly url: string;
  /** One entry per accepted connection: the messages it received, in order. */
  readonly received: string[][];
  /** Time (performance.now) of each accepted connection. */
  readonly acceptedAt: number[];
  readonly clients: Set<WebSocket>;
  broadcast(data: string | Buffer): void;
  /** Terminates every open socket. */
  dropAll(): void;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export interface WsServerOptions {
  /** Answer pings (ws default). */
  autoPong?: boolean;
  /** Called for each message, e.g. to send an acknowledgement. */
  onMessage?: (socket: WebSocket, text: string) => void;
}

export async function startWsServer(options: WsServerOptions = {}): Promise<TestWsServer> {
  const received: string[][] = [];
  const acceptedAt: number[] = [];
  const clients = new Set<WebSocket>();
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, autoPong: options.autoPong ?? true });
  wss.on('connection', (socket) => {
    acceptedAt.push(performance.now());
    const log: string[] = [];
    received.push(log);
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => {});
    socket.on('message', (data) => {
      const text = data.toString();
      log.push(text);
      options.onMessage?.(socket, text);
    });
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const port = (httpServer.address() as AddressInfo).port;
  const dropAll = () => {
    for (const socket of clients) socket.terminate();
  };
  const server: TestWsServer = {
    port,
    url: `ws://127.0.0.1:${port}`,
    received,
    acceptedAt,
    clients,
    broadcast(data) {
      for (const socket of clients) socket.send(data);
    },
    dropAll,
    async stop() {
      if (!httpServer.listening) return;
      const closed = once(httpServer, 'close');
      httpServer.close();
      dropAll();
      httpServer.closeAllConnections();
      await closed;
    },
    async restart() {
      httpServer.listen(port, '127.0.0.1');
      await once(httpServer, 'listening');
    },
  };
  onTestFinished(() => server.stop());
  return server;
}
