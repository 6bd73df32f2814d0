/**
 * A small HTTP CONNECT proxy on 127.0.0.1 that really tunnels (the well-behaved
 * proxy of the peer tests is tinyproxy; this one needs nothing installed): it
 * checks `Proxy-Authorization` when given one, so a test knows the credentials
 * were really sent, and closes each side of a tunnel when the other closes, so
 * a server dropping its connections drops the client's too. Closed when the test ends.
 */
import net from 'node:net';
import { listenOnLoopback } from './loopback.js';

export interface ConnectProxy {
  /** `http://127.0.0.1:port`, without credentials. */
  url: string;
  port: number;
  /** Tunnels opened (CONNECTs answered 200). */
  tunnels: number;
  /** CONNECTs refused for a missing or wrong `Proxy-Authorization`. */
  refused: number;
}

/** Starts the proxy; with `authorization` (the header's whole value), a CONNECT without it gets 407. */
export async function startConnectProxy(authorization?: string): Promise<ConnectProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };
  const proxy: ConnectProxy = { url: '', port: 0, tunnels: 0, refused: 0 };
  const server = net.createServer((client) => {
    track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const [method, target] = lines[0]!.split(' ');
      const given = lines.find((line) => /^proxy-authorization:/i.test(line))?.replace(/^[^:]*:\s*/, '');
      if (method !== 'CONNECT' || (authorization !== undefined && given !== authorization)) {
        proxy.refused++;
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const at = target!.lastIndexOf(':');
      const upstream = net.connect({ host: target!.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(target!.slice(at + 1)) });
      track(upstream);
      upstream.once('connect', () => {
        proxy.tunnels++;
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  proxy.port = await listenOnLoopback(server, sockets);
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}
