/**
 * A pool's `protocol` and `http2` options: which HTTP its slots speak, and how an HTTP/2
 * connection is held (its stream cap, its PING heartbeat). Shared by the pool's options and
 * the dialer that opens the connections.
 *
 * ```
 *  protocol   http://                              https://
 *  'http1'    HTTP/1.1                             HTTP/1.1 (ALPN http/1.1)
 *  'http2'    HTTP/2 with prior knowledge (h2c)    HTTP/2 (ALPN h2; a server without it fails the dial)
 *  'auto'     HTTP/1.1 (no ALPN without TLS)       whatever ALPN chose: h2 or http/1.1
 * ```
 */
import { checkKnownKeys, checkNumber, checkObject, checkOneOf, MAX_TIMEOUT } from '../validate.js';

/** Which HTTP a pool's slots speak. */
export type HttpProtocol = 'http1' | 'http2' | 'auto';
export const HTTP_PROTOCOLS: readonly HttpProtocol[] = ['http1', 'http2', 'auto'];
/** HTTP/1.1 unless asked: the pool as it always was. */
export const DEFAULT_PROTOCOL: HttpProtocol = 'http1';

/** How an HTTP/2 connection is held; read only when a slot speaks HTTP/2. */
export interface Http2Options {
  /**
   * The most streams a connection carries at once, whatever the server allows: a slot leases
   * up to the smaller of this and the server's `SETTINGS_MAX_CONCURRENT_STREAMS`.
   * Default {@link DEFAULT_MAX_CONCURRENT_STREAMS} (100).
   */
  maxConcurrentStreams?: number;
  /**
   * A PING is sent on a connection every this many ms; 0 = none. A connection alive at TCP
   * level whose server stopped answering is found out by it. Default {@link DEFAULT_PING_INTERVAL} (10 000).
   */
  pingInterval?: number;
  /** A PING unanswered this long (ms) poisons its connection (a failure). Default {@link DEFAULT_PING_TIMEOUT} (5 000). */
  pingTimeout?: number;
}

export const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
/** The most streams a connection may be asked to carry: past this, one socket is a bottleneck, not a pool. */
export const MAX_CONCURRENT_STREAMS = 1_000;
export const DEFAULT_PING_INTERVAL = 10_000;
export const DEFAULT_PING_TIMEOUT = 5_000;

/** The `http2` options, every default applied. */
export type ResolvedHttp2 = Readonly<Required<Http2Options>>;

const HTTP2_KEYS = ['maxConcurrentStreams', 'pingInterval', 'pingTimeout'] as const;

export function checkProtocol(field: string, value: unknown): HttpProtocol {
  return checkOneOf(field, value, HTTP_PROTOCOLS, DEFAULT_PROTOCOL);
}

/** The `http2` options, checked whatever the protocol (a wrong type is a bug even where it is unused). */
export function checkHttp2(field: string, value: unknown): ResolvedHttp2 {
  const options = checkObject(field, value) ?? {};
  checkKnownKeys(field, options, HTTP2_KEYS);
  return Object.freeze({
    maxConcurrentStreams: checkNumber(`${field}.maxConcurrentStreams`, options.maxConcurrentStreams, DEFAULT_MAX_CONCURRENT_STREAMS, { min: 1, max: MAX_CONCURRENT_STREAMS }),
    pingInterval: checkNumber(`${field}.pingInterval`, options.pingInterval, DEFAULT_PING_INTERVAL, { max: MAX_TIMEOUT }),
    pingTimeout: checkNumber(`${field}.pingTimeout`, options.pingTimeout, DEFAULT_PING_TIMEOUT, { min: 1, max: MAX_TIMEOUT }),
  });
}

/** The ALPN list a TLS dial offers for `protocol`. */
export function alpnFor(protocol: HttpProtocol): string[] {
  return protocol === 'http1' ? ['http/1.1'] : protocol === 'http2' ? ['h2'] : ['h2', 'http/1.1'];
}
