/**
 * A plain `ws` WebSocketServer on 127.0.0.1 that records each upgrade (path,
 * headers, the subprotocol and extensions it negotiated) and what each
 * connection received: for what the fault server does not model (subprotocols,
 * permessage-deflate, URLs and headers that change per connect). Closed when
 * the test finishes.
 */
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { onTestFinished } from 'vitest';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';

export interface Upgrade {
  path: string;
  headers: IncomingMessage['headers'];
  /** The subprotocol the server chose ('' for none). */
  protocol: string;
  /** The extensions negotiated, as ws names them (`permessage-deflate`). */
  extensions: string[];
  socket: WebSocket;
  received: string[];
}

export interface WsVenue {
  /** `ws://127.0.0.1:port` */
  url: string;
  upgrades: Upgrade[];
  wss: WebSocketServer;
  /** Drops every open connection (a 1001 close). */
  dropAll(): void;
}

export async function startWsVenue(options: Omit<ServerOptions, 'port' | 'host' | 'server' | 'noServer'> = {}): Promise<WsVenue> {
  const wss = new WebSocketServer({ ...options, host: '127.0.0.1', port: 0 });
  onTestFinished(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });
  await once(wss, 'listening');
  const upgrades: Upgrade[] = [];
  wss.on('connection', (socket, req) => {
    const upgrade: Upgrade = {
      path: req.url ?? '',
      headers: req.headers,
      protocol: socket.protocol,
      extensions: socket.extensions ? socket.extensions.split(',') : [],
      socket,
      received: [],
    };
    upgrades.push(upgrade);
    socket.on('message', (data) => upgrade.received.push(data.toString()));
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    upgrades,
    wss,
    dropAll: () => {
      for (const client of wss.clients) client.close(1001);
    },
  };
}
