/**
 * `ClientPool.connect` options: the public type with each default in its doc
 * comment, one constant per default, and the single place they are validated.
 */
import { clockNow, type Clock } from '../clock.js';
import { checkTls, type TlsOptions } from '../transport/tls-options.js';
import { checkProxy, type ProxyTarget } from '../transport/proxy-options.js';
import { checkHttp2, checkProtocol, DEFAULT_PROTOCOL, type Http2Options, type HttpProtocol, type ResolvedHttp2 } from '../transport/http2-options.js';
import { checkDialLimiter, type DialLimiter } from '../transport/dial-limiter.js';
import { checkGovernor, checkSignOption } from './governor/checks.js';
import type { Governor } from './governor/governor.js';
import type { SignHook } from './governor/sign.js';
import { checkBackoff, SLOT_BACKOFF, type BackoffOptions, type BackoffPolicy } from '../machines/backoff.js';
import { SLOT_STABLE_AFTER } from '../machines/slot.js';
import type { SupervisorOptions } from '../machines/supervisor.js';
import { checkNumber, checkRandom, checkUrls, guardOptions, invalid, invalidSaying, MAX_TIMEOUT } from '../validate.js';
import { clock, flag, integer, oneOf, readOptions, timeout, together, type OptionTable } from '../option-table.js';
import { decodeUrlPart, scrubbedView } from '../redact.js';
import { flattenHeaders, type HeaderInput } from '../transport/headers.js';
import { inspectionChecks, resolveInspection, type InspectionOptions, type ResolvedInspection } from '../telemetry/options.js';
import { askingCompression } from './decode.js';
import { checkRequestLog, DEFAULT_REQUEST_LOG_SIZE, type RequestLogOptions } from '../telemetry/request-log.js';

export const DEFAULT_CONNECTIONS = 4;
export const DEFAULT_CONNECT_TIMEOUT = 3_000;
export const DEFAULT_HEADERS_TIMEOUT = 5_000;
export const DEFAULT_BODY_TIMEOUT = 5_000;
export const DEFAULT_MAX_BODY_SIZE = 1 << 20;
export const DEFAULT_NO_DELAY = true;
export const DEFAULT_KEEP_ALIVE = 60_000;
export const DEFAULT_ACQUIRE_TIMEOUT = 5_000;
export const DEFAULT_DRAIN_TIMEOUT = 5_000;
export const DEFAULT_LAZY = false;
/** No idle limit of our own: a server's `Keep-Alive: timeout` is honoured regardless. */
export const DEFAULT_IDLE_TIMEOUT = 0;
export const DEFAULT_MAX_CONNECTION_AGE = 0;
/** `pool.request` repeats nothing unless asked. */
export const DEFAULT_RETRY = 0;
/** An idempotent request that dies unanswered on a reused connection (the stale race) is replayed once. */
export const DEFAULT_REPLAY = true;
/**
 * Responses are asked for compressed and decoded: what fetch, Go's net/http and browsers do, so a
 * gzip body is never handed over as bytes `json()` cannot read, and `maxBodySize` bounds the
 * decoded size (a zip bomb is BODY_TOO_LARGE). README, "Decompression", says when to turn it off.
 */
export const DEFAULT_DECOMPRESS = true;
/** Pools record by default, like feeds: the recorder watches the slot actors, and a lease is not a slot transition, so the hot path pays nothing for it. */
export const DEFAULT_POOL_HISTORY = 100;
/** Upper bound on `connections`: one pool is not meant to open a socket per request. */
export const MAX_CONNECTIONS = 1_024;
/** A bound on `retry`: past a handful, retrying is a loop, not a policy. */
export const MAX_RETRIES = 10;

/** Which free connection a request gets. */
export type Strategy = 'lifo' | 'round-robin';
export const DEFAULT_STRATEGY: Strategy = 'lifo';

export interface ClientPoolOptions extends InspectionOptions {
  /** Origin, `http://` or `https://`, optionally with a path that prefixes `basePath`. One of `url` or `urls` is required. */
  url?: string | URL;
  /**
   * Several origins serving the same API (pods behind a balancer, a venue's regional
   * endpoints): the connections are spread over them, slot i on origin i mod n. A slot
   * whose origin keeps refusing moves to the origin with the fewest recent failures,
   * and returns once its own has been quiet for a while. Same scheme and path for all.
   */
  urls?: (string | URL)[];
  /**
   * `lifo`: the most recently released connection first (the warmest: its TCP window is
   * open and its TLS session hot). `round-robin`: the least recently released first, so
   * requests spread evenly over connections, and so over the origins and pods behind
   * them. Default {@link DEFAULT_STRATEGY} ('lifo').
   */
  strategy?: Strategy;
  /**
   * Which HTTP the slots speak. `http1`: HTTP/1.1, one request at a time per connection.
   * `http2`: HTTP/2, many streams per connection (over TLS by ALPN `h2`; over `http://` with
   * prior knowledge, h2c). `auto`: what ALPN chooses over TLS, HTTP/1.1 over `http://`.
   * README, "HTTP/2". Default {@link DEFAULT_PROTOCOL} ('http1').
   */
  protocol?: HttpProtocol;
  /** How HTTP/2 connections are held: stream cap, PING heartbeat (see `Http2Options`). Read only when a slot speaks HTTP/2. */
  http2?: Http2Options;
  /** Prefixed to every request path. Default `''`. */
  basePath?: string;
  /** Default headers sent with every request; a request's own header of the same name wins. Default none. */
  headers?: HeaderInput;
  /** Number of keep-alive connections (slots). Default {@link DEFAULT_CONNECTIONS} (4). */
  connections?: number;
  /** Deadline for TCP + TLS connect (through a `proxy`: TCP to it, CONNECT, then TLS), in ms. Default {@link DEFAULT_CONNECT_TIMEOUT} (3 000). */
  connectTimeout?: number;
  /** Deadline for the response headers after the request is sent, in ms. Default {@link DEFAULT_HEADERS_TIMEOUT} (5 000). */
  headersTimeout?: number;
  /** Longest pause between two body chunks, in ms. Default {@link DEFAULT_BODY_TIMEOUT} (5 000). */
  bodyTimeout?: number;
  /** Largest response body accepted, in bytes; 0 = unlimited. Default {@link DEFAULT_MAX_BODY_SIZE} (1 MiB). */
  maxBodySize?: number;
  /**
   * Send `accept-encoding: gzip, deflate, br` (unless a request's headers name one) and decode
   * gzip, deflate and br bodies by their `content-encoding`; `maxBodySize` then bounds the
   * decoded size too. A request's own `decompress` wins. Default {@link DEFAULT_DECOMPRESS} (true).
   */
  decompress?: boolean;
  /** Set TCP_NODELAY (no Nagle delay on small writes). Default {@link DEFAULT_NO_DELAY} (true). */
  noDelay?: boolean;
  /** TCP keep-alive initial delay in ms, or `false` to turn TCP keep-alive off. Default {@link DEFAULT_KEEP_ALIVE} (60 000). */
  keepAlive?: number | false;
  /** TLS options for `https://` origins. Certificates are verified by default. */
  tls?: TlsOptions;
  /**
   * Dial every connection through this HTTP proxy with CONNECT: `http://host:port`, a string or
   * a `URL`. Credentials in it (`http://user:pass@host:port`, percent-encoded) are sent as
   * `Proxy-Authorization: Basic` and scrubbed like any secret; errors name the proxy as
   * `http://host:port`. TLS to an https origin runs inside the tunnel. A proxy that refuses
   * (407, 403, 5xx) fails the dial with CONNECT_FAILED, as a refused connect does. Default none.
   */
  proxy?: string | URL;
  /** Reconnect delays. Default 100 ms doubling to 5 s, full jitter ({@link SLOT_BACKOFF}). */
  backoff?: BackoffOptions;
  /** Resolve `connect()` at once and connect in the background. Default {@link DEFAULT_LAZY} (false). */
  lazy?: boolean;
  /** How long `acquire()` and `request()` wait for a free connection, in ms. Default {@link DEFAULT_ACQUIRE_TIMEOUT} (5 000). */
  acquireTimeout?: number;
  /** How long `close()` waits for leased connections before closing them anyway, in ms. Default {@link DEFAULT_DRAIN_TIMEOUT} (5 000). */
  drainTimeout?: number;
  /**
   * Recycle a connection that has been idle this long, in ms, before the server (or a
   * NAT, a load balancer) drops it under a request; 0 = none. A server's
   * `Keep-Alive: timeout=N` is honoured either way. Default {@link DEFAULT_IDLE_TIMEOUT} (0).
   */
  idleTimeout?: number;
  /**
   * Recycle a connection this old, in ms, so DNS changes and rebalanced backends are
   * picked up; each goes up to 10% sooner, at random, so they do not all go at once;
   * 0 = never. Default {@link DEFAULT_MAX_CONNECTION_AGE} (0).
   */
  maxConnectionAge?: number;
  /** How many times `pool.request` repeats a request safe to repeat after a transport failure. Default {@link DEFAULT_RETRY} (0). */
  retry?: number;
  /**
   * Whether `pool.request` replays, once and on another connection, an idempotent request
   * (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or marked `idempotent`) that died on a reused
   * connection before any byte of its response arrived: the server closed the connection
   * as idle while the request crossed it. Never a POST or PATCH unless marked.
   * Default {@link DEFAULT_REPLAY} (true).
   */
  replay?: boolean;
  /** Shared bound on dials (under way at once, started per second) across the pools and feeds given the same one. Default none. */
  dialLimiter?: DialLimiter;
  /**
   * A venue's request budget, shared by every pool given the same one: requests wait for (or
   * fail fast without) room in its windows, and the venue's 429s and bans pause them all.
   * README, "Rate limits". Default none (no check at all).
   */
  governor?: Governor;
  /**
   * Signs each attempt of each request at send time (a resend, a replay, a retry is signed
   * again), and returns headers and query parameters to add; a request's own `sign` (or
   * `sign: false`) wins. See `SignHook`. Default none.
   */
  sign?: SignHook;
  /** The clock of the pool's actors (backoff, deadlines); tests pass xstate's `SimulatedClock`. Default: real, unref'd timers. */
  clock?: Clock;
  /** Random source for jitter, returning [0, 1). Default `Math.random`. */
  random?: () => number;
  /**
   * Keep the last `size` requests (each attempt one record: id, slot, method, scrubbed path,
   * status or error, step times) for `pool.history()`. `{}` keeps {@link DEFAULT_REQUEST_LOG_SIZE}.
   * Default: off, and a request nobody watches then takes no timestamps.
   */
  requestLog?: RequestLogOptions;
}

/** One origin of a pool: where its slots dial. */
export interface PoolOrigin {
  /** `scheme://host:port`: what undici puts in the Host header, and how the pool names it. */
  origin: string;
  host: string;
  port: number;
}

export interface ResolvedPoolOptions {
  /**
   * What the supervisor machine and its slots read: connections, strategy, lazy, drainTimeout,
   * backoff, the idle and age limits, the clock's `now`, random, stableAfter. One object, no
   * secret in it, passed as it is as the machine's input (an inspector sees machine input).
   */
  supervisor: SupervisorOptions;
  /** The first origin's: how the pool names itself. */
  origin: string;
  /** The path of the pool's URLs: `setOrigins` keeps it. */
  pathname: string;
  /** Every origin, in the order given (slot i starts on origins[i % n]). */
  origins: PoolOrigin[];
  tls: TlsOptions | undefined;
  /** Which HTTP the slots speak (see the option). */
  protocol: HttpProtocol;
  /** The `http2` options, defaults applied. */
  http2: ResolvedHttp2;
  /** The proxy dialed through, if any: its authorization is a non-enumerable property. */
  proxy: ProxyTarget | undefined;
  basePath: string;
  /** Default headers, validated and flattened once. */
  headers: string[];
  /** `headers` with `accept-encoding` (see `decompress`), scrubbed alike. */
  decompressingHeaders: string[];
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  maxBodySize: number;
  decompress: boolean;
  noDelay: boolean;
  keepAlive: number;
  acquireTimeout: number;
  retry: number;
  replay: boolean;
  dialLimiter: DialLimiter | undefined;
  governor: Governor | undefined;
  sign: SignHook | undefined;
  clock: Clock;
  /** Recorder capacity and the scrubber of everything inspection produces. */
  inspection: ResolvedInspection;
  /** Requests the `requestLog` ring keeps; 0: none. */
  requestLog: number;
}

/** Every default of `ClientPool.connect`, by option: the constants above, in one frozen object. */
export const POOL_DEFAULTS = Object.freeze({
  protocol: DEFAULT_PROTOCOL,
  strategy: DEFAULT_STRATEGY,
  connections: DEFAULT_CONNECTIONS,
  connectTimeout: DEFAULT_CONNECT_TIMEOUT,
  headersTimeout: DEFAULT_HEADERS_TIMEOUT,
  bodyTimeout: DEFAULT_BODY_TIMEOUT,
  maxBodySize: DEFAULT_MAX_BODY_SIZE,
  decompress: DEFAULT_DECOMPRESS,
  noDelay: DEFAULT_NO_DELAY,
  keepAlive: DEFAULT_KEEP_ALIVE,
  backoff: SLOT_BACKOFF,
  lazy: DEFAULT_LAZY,
  acquireTimeout: DEFAULT_ACQUIRE_TIMEOUT,
  drainTimeout: DEFAULT_DRAIN_TIMEOUT,
  idleTimeout: DEFAULT_IDLE_TIMEOUT,
  maxConnectionAge: DEFAULT_MAX_CONNECTION_AGE,
  retry: DEFAULT_RETRY,
  replay: DEFAULT_REPLAY,
  history: DEFAULT_POOL_HISTORY,
});

/** Visible ASCII only: undici refuses control characters in a path at every request, and CR/LF would split it. */
const BASE_PATH = /^[\x21-\x7e]*$/;

/** How each option of `ClientPool.connect` is checked, in the order they are read. */
const POOL_OPTIONS = {
  url: together, // with `urls`: resolved into origins below
  urls: together,
  strategy: oneOf<Strategy>(['lifo', 'round-robin'], DEFAULT_STRATEGY),
  protocol: checkProtocol,
  http2: checkHttp2,
  basePath: (field, value) => {
    const basePath = value ?? '';
    if (typeof basePath !== 'string' || !BASE_PATH.test(basePath) || /[?#]/.test(basePath)) {
      throw invalid(field, 'a path string of visible ASCII characters, without query or fragment', basePath);
    }
    return basePath;
  },
  // An object, or [name, value] pairs (a Map, a Headers): flattenHeaders reads each form once.
  headers: (field, value) => (value === undefined ? [] : flattenHeaders(value, 'INVALID_OPTIONS', field)),
  connections: integer(DEFAULT_CONNECTIONS, { min: 1, max: MAX_CONNECTIONS }),
  connectTimeout: timeout(DEFAULT_CONNECT_TIMEOUT, 1),
  headersTimeout: timeout(DEFAULT_HEADERS_TIMEOUT, 1),
  bodyTimeout: timeout(DEFAULT_BODY_TIMEOUT, 1),
  maxBodySize: integer(DEFAULT_MAX_BODY_SIZE),
  decompress: flag(DEFAULT_DECOMPRESS),
  noDelay: flag(DEFAULT_NO_DELAY),
  keepAlive: (field, value) => (value === false ? 0 : checkNumber(field, value, DEFAULT_KEEP_ALIVE, { max: MAX_TIMEOUT })),
  tls: checkTls,
  proxy: checkProxy,
  backoff: (field, value) => checkBackoff(field, value, SLOT_BACKOFF),
  lazy: flag(DEFAULT_LAZY),
  acquireTimeout: timeout(DEFAULT_ACQUIRE_TIMEOUT),
  drainTimeout: timeout(DEFAULT_DRAIN_TIMEOUT),
  idleTimeout: timeout(DEFAULT_IDLE_TIMEOUT),
  maxConnectionAge: timeout(DEFAULT_MAX_CONNECTION_AGE),
  retry: integer(DEFAULT_RETRY, { max: MAX_RETRIES }),
  replay: flag(DEFAULT_REPLAY),
  dialLimiter: (_field, value) => checkDialLimiter(value),
  governor: (_field, value) => checkGovernor(value),
  sign: checkSignOption,
  clock,
  random: checkRandom,
  requestLog: checkRequestLog,
  ...inspectionChecks(DEFAULT_POOL_HISTORY),
} satisfies OptionTable<ClientPoolOptions>;

/** Every option `ClientPool.connect` knows, for tools that enumerate them (the options fuzz test). */
export const POOL_OPTION_KEYS: readonly string[] = Object.keys(POOL_OPTIONS);

function joinPath(prefix: string, path: string): string {
  const trimmed = `${prefix}/${path}`.replace(/\/{2,}/g, '/').replace(/\/$/, '');
  return trimmed === '/' ? '' : trimmed;
}

export function resolvePoolOptions(value: unknown): ResolvedPoolOptions {
  return guardOptions(() => resolve(value));
}

/** Where a slot dials for `url`: scheme, host and port. */
function originOf(url: URL): PoolOrigin {
  return {
    origin: url.origin,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
  };
}

/**
 * `pool.setOrigins(urls)`'s list, checked as the `urls` option is. The scheme and path of the
 * pool's first URL stay (its base path, TLS and credentials were settled at connect), so each
 * URL must have them, and no credentials of its own.
 */
export function resolveOrigins(urls: unknown, pool: Pick<ResolvedPoolOptions, 'tls' | 'basePath'>, pathname: string): PoolOrigin[] {
  return guardOptions(() => {
    if (urls === undefined) throw invalid('urls', 'a non-empty array of http:// or https:// URLs', urls);
    const scheme = pool.tls ? 'https:' : 'http:';
    return checkUrls(undefined, urls, [scheme], `an ${scheme}//`, MAX_CONNECTIONS).map(({ url, field }) => {
      if (url.search || url.hash) throw invalidSaying(field, 'a URL without query or fragment', 'a URL with one');
      if (url.pathname !== pathname) throw invalidSaying(field, `the path of the pool's URLs (${pathname})`, 'another');
      if (url.username || url.password) throw invalidSaying(field, "no credentials (the pool's own stay)", 'some');
      return originOf(url);
    });
  });
}

function resolve(value: unknown): ResolvedPoolOptions {
  const {
    url: urlOption,
    urls: urlsOption,
    basePath,
    headers,
    tls,
    proxy,
    clock,
    history,
    secretHeaders,
    meter,
    inspect,
    connections,
    strategy,
    lazy,
    drainTimeout,
    backoff,
    random,
    idleTimeout,
    maxConnectionAge,
    ...checked
  } = readOptions(
    value,
    POOL_OPTIONS,
    'an object with `url` or `urls`',
  );
  const given = checkUrls(urlOption, urlsOption, ['http:', 'https:'], 'an http:// or https://', MAX_CONNECTIONS);
  const url = given[0]!.url;
  for (const { url: each, field } of given) {
    if (each.search || each.hash) throw invalidSaying(field, 'a URL without query or fragment', 'a URL with one');
    if (each === url) continue;
    if (each.protocol !== url.protocol || each.pathname !== url.pathname) {
      throw invalidSaying(field, 'the scheme and path of `urls[0]` (the origins serve one API)', 'others');
    }
    if (each.username !== url.username || each.password !== url.password) {
      throw invalidSaying(field, 'the credentials of `urls[0]`, or none', 'others');
    }
  }
  const secure = url.protocol === 'https:';

  // Credentials in the URL become a Basic authorization header and leave the URL.
  if (url.username || url.password) {
    const user = decodeUrlPart(url.username);
    const password = decodeUrlPart(url.password);
    if (user === undefined || password === undefined) {
      throw invalidSaying('url', 'a URL whose credentials are validly percent-encoded', 'malformed ones');
    }
    if (!headers.includes('authorization')) {
      headers.push('authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
    }
  }

  const inspection = resolveInspection({ history, secretHeaders, meter, inspect }, headers, given.map((each) => each.url.href), proxy?.secrets);
  const origins = given.map(({ url: each }) => originOf(each));

  const decompressing = askingCompression(headers);
  const now = clockNow(clock);
  const supervisor: SupervisorOptions = { connections, strategy, lazy, drainTimeout, backoff, random, now, stableAfter: SLOT_STABLE_AFTER, idleTimeout, maxConnectionAge };
  return {
    ...checked,
    supervisor,
    pathname: url.pathname,
    origin: origins[0]!.origin,
    origins,
    tls: secure ? (tls ?? { rejectUnauthorized: true }) : undefined,
    proxy: proxy?.target,
    basePath: joinPath(url.pathname, basePath),
    // Sent with every request, so it holds the real values; console.log(pool) shows them scrubbed.
    headers: scrubbedView(headers, inspection.redactor),
    decompressingHeaders: decompressing === headers ? headers : scrubbedView(decompressing, inspection.redactor),
    clock,
    inspection,
  };
}
