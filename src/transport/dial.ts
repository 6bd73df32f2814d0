/**
 * Dial one TCP or TLS socket, with a deadline and an abort signal.
 *
 * The slot machine invokes this while `connecting`; leaving the state aborts the
 * signal, and a socket that connects after that is destroyed rather than leaked.
 */
import net from 'node:net';
import tls from 'node:tls';
import { LifelineError } from '../errors.js';
import type { TlsOptions } from './tls-options.js';

export type { TlsOptions } from './tls-options.js';

export interface DialTarget {
  host: string;
  port: number;
  /** TLS options when the origin is https/wss, else undefined. */
  tls: TlsOptions | undefined;
  /** Offered with ALPN, so a TLS server never picks HTTP/2 for an HTTP/1.1 client. */
  alpn?: string[];
  connectTimeout: number;
  noDelay: boolean;
  /** TCP keep-alive initial delay in ms; 0 turns TCP keep-alive off. */
  keepAlive: number;
}

/** What a socket is reported as: host and port only, never credentials. */
export function describeTarget(target: Pick<DialTarget, 'host' | 'port'>): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

export function dial(target: DialTarget, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const where = describeTarget(target);
    if (signal.aborted) {
      reject(new LifelineError('CONNECT_FAILED', `connect to ${where} aborted`));
      return;
    }
    const socket = target.tls
      ? tls.connect({
          host: target.host,
          port: target.port,
          servername: target.tls.servername ?? (net.isIP(target.host) ? undefined : target.host),
          ca: target.tls.ca,
          cert: target.tls.cert,
          key: target.tls.key,
          rejectUnauthorized: target.tls.rejectUnauthorized ?? true,
          ALPNProtocols: target.alpn,
        })
      : net.connect({ host: target.host, port: target.port });
    const connectedEvent = target.tls ? 'secureConnect' : 'connect';

    const fail = (reason: string, cause?: unknown) => {
      cleanup();
      const error = new LifelineError('CONNECT_FAILED', `connect to ${where} failed: ${reason}`, { cause });
      // Settle only once the handle is gone, so whoever awaits a dial knows no socket is left.
      socket.once('close', () => reject(error));
      socket.on('error', () => {}); // a late error on a socket being destroyed is expected
      socket.destroy();
    };
    const onError = (error: NodeJS.ErrnoException) => fail(error.code ?? error.message, error);
    const onAbort = () => fail('aborted');
    const onTimeout = () => fail(`no connection within connectTimeout (${target.connectTimeout} ms)`);
    const onConnected = () => {
      cleanup();
      socket.setNoDelay(target.noDelay);
      if (target.keepAlive > 0) socket.setKeepAlive(true, target.keepAlive);
      // An idle pooled socket must not keep the process alive; undici refs it while a request runs.
      socket.unref();
      resolve(socket);
    };
    const timer = setTimeout(onTimeout, target.connectTimeout);
    timer.unref(); // the socket keeps the process alive while it connects; the timer need not
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off(connectedEvent, onConnected);
    };
    socket.once('error', onError);
    socket.once(connectedEvent, onConnected);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
