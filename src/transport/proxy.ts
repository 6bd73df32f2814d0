/**
 * An HTTP CONNECT tunnel (RFC 9110, 9.3.6) over a socket connected to the proxy:
 *
 *   lifeline                         proxy                       origin
 *      | CONNECT host:port HTTP/1.1 ---> |                            |
 *      |   Host, Proxy-Authorization     | ------ TCP connect ------> |
 *      | <--- HTTP/1.1 200 ... \r\n\r\n  |                            |
 *      | <============ the origin's bytes, both ways ===============> |
 *
 * A 2xx answer makes the socket the tunnel (TLS to an https/wss origin starts over it, in
 * dial.ts). Anything else fails the dial: another status (407 wrong or missing credentials,
 * 403 a port the proxy refuses, 5xx the origin unreachable from the proxy), a head that is
 * not HTTP or longer than {@link MAX_PROXY_HEAD}, or a close before the head ended. Bytes
 * that came after the head are the origin's: they are put back on the socket (`unshift`).
 */
import type net from 'node:net';
import type { ProxyTarget } from './proxy-options.js';

/** The longest response head accepted from a proxy (bytes), as Node's default for any HTTP head. */
export const MAX_PROXY_HEAD = 16 * 1024;

/** A status line: `HTTP/1.x NNN reason`. The reason phrase is the proxy's text, and never repeated. */
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?\r?$/;

/** Where a head ends: the first empty line (CRLF CRLF, or bare LFs from a lax proxy). */
const HEAD_END = /\r?\n\r?\n/;

/** Why a tunnel could not be had (its message says it); dial.ts turns it into CONNECT_FAILED. */
export class TunnelRefused extends Error {
  override readonly name = 'TunnelRefused';
}

/** The CONNECT request for `authority` (`host:port`, an IPv6 host in brackets). */
export function connectRequest(authority: string, proxy: ProxyTarget): string {
  const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
  return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`;
}

/**
 * Asks the proxy on `socket` (connected) for a tunnel to `authority` and reads its response
 * head. Resolves once a 2xx came, the bytes after the head put back; rejects with a
 * `TunnelRefused` or a socket error (a dial stopped by its caller or its deadline destroys
 * the socket with the reason). Leaves the socket to the caller
 * either way: it destroys it on a rejection. Reads in paused mode ('readable'), so once
 * the listener is gone the socket is as fresh: undici's 'readable' and ws's 'data' both
 * get the bytes put back.
 */
export function openTunnel(socket: net.Socket, authority: string, proxy: ProxyTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const settle = (error?: unknown, rest?: Buffer) => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (error !== undefined) return reject(error);
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve();
    };
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
        chunks.push(chunk);
        length += chunk.length;
      }
      const received = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      chunks.length = 0;
      chunks.push(received);
      // latin1: one character per byte, so an index in the text is an index in the buffer.
      const text = received.toString('latin1', 0, Math.min(received.length, MAX_PROXY_HEAD + 4));
      const end = HEAD_END.exec(text);
      const headLength = end ? end.index + end[0].length : received.length;
      if (headLength > MAX_PROXY_HEAD) return settle(new TunnelRefused(`the proxy's response head exceeds ${MAX_PROXY_HEAD} bytes`));
      if (!end) return; // more to come
      const status = STATUS_LINE.exec(text.slice(0, text.search(/\n/)));
      if (!status) return settle(new TunnelRefused('the proxy did not answer CONNECT with HTTP'));
      const code = Number(status[1]);
      if (code < 200 || code > 299) return settle(new TunnelRefused(`the proxy answered CONNECT with HTTP ${code}`));
      settle(undefined, received.subarray(headLength));
    };
    const onEnd = () => settle(new TunnelRefused('the proxy closed the connection before answering CONNECT'));
    const onError = (error: unknown) => settle(error);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.write(connectRequest(authority, proxy));
  });
}
