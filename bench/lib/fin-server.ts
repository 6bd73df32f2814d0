/**
 * A raw HTTP/1.1 server that ends connections the way an exiting nginx worker does: a FIN right after
 * a response, with no `Connection: close` in it. Two uses:
 *
 * - `finEvery: N`: each connection is ended (socket.end()) in the same turn as its Nth response is
 *   written, so the FIN follows the response on the wire. A request that arrives on it afterwards gets
 *   a reset, as from a worker that has exited.
 * - `endAll()`: every idle connection is ended at once (a graceful close of every connection).
 *
 * GET and POST (a `content-length` body, read and dropped); every answer is 200 "ok". Raw TCP, so
 * nothing of Node's HTTP server (keep-alive hints, timers) decides the outcome. Loopback only. It runs
 * in this process (`listenFinServer`), or forked (`startFinServerProcess`) where throughput is measured
 * and the client must have its core to itself.
 */
import net from 'node:net';
import { forkServer, type ForkedServer } from './server-process.js';

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

export interface FinServer {
  url: string;
  port: number;
  /** Connections accepted. */
  readonly connections: number;
  /** Ends every connection with no request in progress (FIN). */
  endAll(): void;
  close(): Promise<void>;
}

interface Connection {
  socket: net.Socket;
  pending: Buffer;
  /** Body bytes still to skip. */
  body: number;
  served: number;
  ended: boolean;
}

export async function listenFinServer(finEvery = Number.POSITIVE_INFINITY): Promise<FinServer> {
  const open = new Set<Connection>();
  let connections = 0;
  const end = (c: Connection) => {
    c.ended = true;
    c.socket.end();
  };
  const server = net.createServer((socket) => {
    connections++;
    socket.setNoDelay(true);
    const c: Connection = { socket, pending: Buffer.alloc(0), body: 0, served: 0, ended: false };
    open.add(c);
    socket.on('error', () => {});
    socket.on('close', () => open.delete(c));
    socket.on('data', (chunk: Buffer) => {
      // Data after our FIN: the worker is gone, so the request is answered with a reset.
      if (c.ended) return void socket.resetAndDestroy();
      c.pending = c.pending.length === 0 ? chunk : Buffer.concat([c.pending, chunk]);
      for (;;) {
        if (c.body > 0) {
          const skip = Math.min(c.body, c.pending.length);
          c.body -= skip;
          c.pending = c.pending.subarray(skip);
          if (c.body > 0) return;
          c.served++;
          socket.write(RESPONSE);
          if (c.served >= finEvery) return end(c);
          continue;
        }
        const headEnd = c.pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = c.pending.subarray(0, headEnd).toString('latin1');
        c.pending = c.pending.subarray(headEnd + 4);
        const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
        if (length > 0) {
          c.body = length;
          continue;
        }
        c.served++;
        socket.write(RESPONSE);
        if (c.served >= finEvery) return end(c);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1_024, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    endAll() {
      for (const c of open) if (!c.ended && c.body === 0 && c.pending.length === 0) end(c);
    },
    async close() {
      for (const c of open) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The FIN server in a forked process (bench/fin-server.ts). */
export function startFinServerProcess(finEvery: number): Promise<ForkedServer> {
  return forkServer(new URL('../fin-server.js', import.meta.url), [String(finEvery)]);
}
