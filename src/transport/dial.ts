/**
 * Dial one TCP or TLS socket, directly or through an HTTP CONNECT proxy, with a
 * deadline and a cancel (`cancel.ts`).
 *
 * The slot machine invokes this while `connecting`; leaving the state aborts the
 * dial, and a socket that connects after that is destroyed rather than leaked.
 * Through a proxy the steps are TCP to the proxy, CONNECT (proxy.ts), then TLS over
 * the tunnel for an https/wss origin; `connectTimeout` covers them all.
 */
import net from 'node:net';
import tls from 'node:tls';
import { LifelineError } from '../errors.js';
import type { CancelSignal } from './cancel.js';
import { openTunnel, TunnelRefused } from './proxy.js';
import type { ProxyTarget } from './proxy-options.js';
import type { TlsOptions } from './tls-options.js';

export type { TlsOptions } from './tls-options.js';

export interface DialTarget {
  host: string;
  port: number;
  /** TLS options when the origin is https/wss, else undefined. */
  tls: TlsOptions | undefined;
  /** Offered with ALPN, so a TLS server never picks HTTP/2 for an HTTP/1.1 client. */
  alpn?: string[];
  /** The HTTP proxy to dial through with CONNECT, if any. */
  proxy?: ProxyTarget | undefined;
  connectTimeout: number;
  noDelay: boolean;
  /** TCP keep-alive initial delay in ms; 0 turns TCP keep-alive off. */
  keepAlive: number;
}

/** What a socket is reported as: host and port only, never credentials. */
export function describeTarget(target: Pick<DialTarget, 'host' | 'port'>): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

/** Why a step of a dial stopped, for the CONNECT_FAILED message. */
class Stopped extends Error {}

const ignore = () => {};

/** Settles when `socket` emits `event`; rejects on its error or close first (a stopped dial destroys it with its reason). */
function reached(socket: net.Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      socket.off(event, onEvent);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onEvent = () => settle();
    const onError = (error: unknown) => settle(error);
    const onClose = () => settle(new Stopped('closed'));
    socket.once(event, onEvent);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

function tlsOptions(target: DialTarget, options: TlsOptions): tls.ConnectionOptions {
  return {
    servername: options.servername ?? (net.isIP(target.host) ? undefined : target.host),
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    ALPNProtocols: target.alpn,
  };
}

/** Why a dial failed, as CONNECT_FAILED says it: a step's own reason, else the socket error's code. */
function failedDial(where: string, reason: string, cause: unknown): LifelineError {
  return new LifelineError('CONNECT_FAILED', `connect to ${where} failed: ${reason}`, { cause });
}

export function dial(target: DialTarget, signal: CancelSignal): Promise<net.Socket> {
  if (signal.aborted) {
    const where = target.proxy ? `${describeTarget(target)} through the proxy ${target.proxy.origin}` : describeTarget(target);
    return Promise.reject(new LifelineError('CONNECT_FAILED', `connect to ${where} aborted`));
  }
  return target.tls || target.proxy ? dialSteps(target, signal) : dialTcp(target, signal);
}

/**
 * A plain TCP dial, no proxy: every replacement of a pool on an http:// origin. One promise and
 * the socket's own listeners: the general path's steps (a promise per step and per socket, the
 * closures of an async function) were a fifth of lifeline's own CPU per replacement against a
 * server that ends every connection after its response (issue 14).
 */
function dialTcp(target: DialTarget, signal: CancelSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Nagle and TCP keep-alive set by net as the socket connects: set after it, through the
    // socket's methods, they were 3% of a replacement's CPU (issue 14, row a).
    const socket = net.connect({ host: target.host, port: target.port, noDelay: target.noDelay, keepAlive: target.keepAlive > 0, keepAliveInitialDelay: target.keepAlive });
    /** Why lifeline stopped it (the caller's cancel, the deadline), if it did. */
    let stopped: string | undefined;
    let error: NodeJS.ErrnoException | undefined;
    const onConnect = () => {
      finish();
      // An idle pooled socket must not keep the process alive; undici refs it while a request runs.
      socket.unref();
      resolve(socket);
    };
    // 'close' follows an error; the dial settles then, its handle gone.
    const onError = (failure: Error) => void (error ??= failure);
    const onClose = () => {
      finish();
      const reason = stopped ?? error?.code ?? error?.message ?? 'closed';
      reject(failedDial(describeTarget(target), reason, stopped === undefined ? error : undefined));
    };
    const stop = (reason: string) => {
      stopped ??= reason;
      socket.destroy();
    };
    const stopListening = signal.onCancel(() => stop('aborted'));
    const timer = setTimeout(stop, target.connectTimeout, `no connection within connectTimeout (${target.connectTimeout} ms)`);
    timer.unref(); // the socket keeps the process alive while it connects; the timer need not
    const finish = () => {
      clearTimeout(timer);
      stopListening();
      socket.off('connect', onConnect);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('connect', onConnect);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

/** A dial with steps: TLS, or through an HTTP CONNECT proxy (and TLS inside its tunnel). */
async function dialSteps(target: DialTarget, signal: CancelSignal): Promise<net.Socket> {
  const proxy = target.proxy;
  const where = proxy ? `${describeTarget(target)} through the proxy ${proxy.origin}` : describeTarget(target);
  const sockets: net.Socket[] = [];
  /** Each socket's 'close' (its handle gone), watched from its birth: `closed` turns true at destroy(), before. */
  const gone: Promise<void>[] = [];
  // The caller's abort and the deadline stop the dial where it stands: every socket is destroyed with
  // the reason, and the step waiting on it rejects with it. No AbortController per dial: every
  // reconnect dials, and a controller and its signal cost more than the rest of this function.
  let stopped: Stopped | undefined;
  const halt = (socket: net.Socket, reason: Stopped) => {
    socket.on('error', ignore); // the step waiting on it hears the reason; a socket no step waits on has no other listener
    socket.destroy(reason);
  };
  const stop = (reason: string) => {
    stopped ??= new Stopped(reason);
    for (const socket of sockets) halt(socket, stopped);
  };
  const open = <S extends net.Socket>(socket: S): S => {
    sockets.push(socket);
    gone.push(new Promise((resolve) => socket.once('close', () => resolve())));
    if (stopped) halt(socket, stopped);
    return socket;
  };
  const stopListening = signal.onCancel(() => stop('aborted'));
  const timer = setTimeout(() => stop(`no connection within connectTimeout (${target.connectTimeout} ms)`), target.connectTimeout);
  timer.unref(); // the socket keeps the process alive while it connects; the timer need not
  /** Which step failed, for a socket error's reason: a proxy's refusal is not the origin's. */
  let step = proxy ? 'the proxy: ' : '';
  try {
    let socket: net.Socket;
    if (proxy) {
      socket = open(net.connect({ host: proxy.host, port: proxy.port }));
      await reached(socket, 'connect');
      await openTunnel(socket, describeTarget(target), proxy);
      step = '';
      if (target.tls) {
        // tls takes the socket's handle: a byte put back on it after the head would be lost to TLS.
        // None can be the origin's (its TLS speaks only after our ClientHello), so it is a bad proxy.
        if (socket.readableLength > 0) throw new Stopped('the proxy sent bytes before TLS began');
        socket = open(tls.connect({ ...tlsOptions(target, target.tls), socket }));
        await reached(socket, 'secureConnect');
      }
    } else {
      socket = open(tls.connect({ host: target.host, port: target.port, ...tlsOptions(target, target.tls!) }));
      await reached(socket, 'secureConnect');
    }
    socket.setNoDelay(target.noDelay);
    if (target.keepAlive > 0) socket.setKeepAlive(true, target.keepAlive);
    // An idle pooled socket must not keep the process alive; undici refs it while a request runs.
    socket.unref();
    return socket;
  } catch (error) {
    // A step's own reason (a refusal, the deadline) says it all; a socket error is its code, and the cause.
    const stated = error instanceof Stopped || error instanceof TunnelRefused;
    const reason = stated ? (error as Error).message : step + ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
    for (const socket of sockets) {
      socket.on('error', ignore); // a late error on a socket being destroyed is expected
      socket.destroy();
    }
    // Settle only once the handles are gone, so whoever awaits a dial knows no socket is left.
    await Promise.all(gone);
    throw failedDial(where, reason, stated ? undefined : error);
  } finally {
    clearTimeout(timer);
    stopListening();
  }
}
