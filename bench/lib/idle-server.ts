/**
 * An HTTP/1.1 server with a 1 s idle timeout that announces nothing (no
 * `Keep-Alive` header, as nginx and most load balancers), in one of two ways:
 *
 * - `fin`: the server closes a connection idle for `idleMs` with a FIN, on a
 *   coarse timer wheel (every `tickMs`), as many servers do. A request already
 *   on the wire when the wheel turns meets a closing socket.
 * - `silent`: the flow expires without a word, as behind a NAT or a load
 *   balancer whose idle timer ran out: the next request on it is answered
 *   with a reset.
 *
 * Raw TCP, so nothing of Node's own HTTP server (its keep-alive hint, its
 * timers) decides the outcome. Loopback only.
 */
import net from 'node:net';

export type IdleMode = 'fin' | 'silent';

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok');

export interface IdleServer {
  url: string;
  /** Connections accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startIdleServer(mode: IdleMode, idleMs: number, tickMs = 10): Promise<IdleServer> {
  const idleSince = new Map<net.Socket, number>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    idleSince.set(socket, performance.now());
    socket.on('error', () => {});
    socket.on('close', () => idleSince.delete(socket));
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(end + 4); // GETs only: no body follows the head
        const idle = performance.now() - (idleSince.get(socket) ?? 0);
        if (mode === 'silent' && idle >= idleMs) {
          socket.resetAndDestroy();
          return;
        }
        idleSince.set(socket, Number.POSITIVE_INFINITY); // busy until answered
        socket.write(RESPONSE);
        idleSince.set(socket, performance.now());
      }
    });
  });
  const wheel =
    mode === 'fin'
      ? setInterval(() => {
          const now = performance.now();
          for (const [socket, since] of idleSince) {
            if (now - since >= idleMs) {
              idleSince.delete(socket);
              socket.end();
            }
          }
        }, tickMs)
      : undefined;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    async close() {
      if (wheel) clearInterval(wheel);
      for (const socket of idleSince.keys()) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
