/**
 * A net server of a test's own (a proxy, a raw peer) listening on 127.0.0.1, port 0,
 * with its cleanup registered at birth: the sockets it still holds destroyed, then closed.
 */
import { once } from 'node:events';
import type net from 'node:net';
import { onTestFinished } from 'vitest';

/** Listens and returns the port; `sockets` are the server's open sockets, which the test keeps. */
export async function listenOnLoopback(server: net.Server, sockets: ReadonlySet<net.Socket>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}
