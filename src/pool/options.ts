/**
 * `ClientPool.connect` options: the public type with each default in its doc
 * comment, one constant per default, and the single place they are validated.
 */
import { clockNow, unrefClock, type Clock } from '../clock.js';
import { checkTls, type TlsOptions } from '../transport/tls-options.js';
import { checkDialLimiter, type DialLimiter } from '../transport/dial-limiter.js';
import { checkBackoff, SLOT_BACKOFF, type BackoffOptions, type BackoffPolicy } from '../machines/backoff.js';
import { SLOT_STABLE_AFTER } from '../machines/slot.js';
import {
  checkArray,
  checkBoolean,
  checkInstance,
  checkKnownKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  checkRandom,
  guardOptions,
  invalid,
  invalidSaying,
  MAX_TIMEOUT,
} from '../validate.js';
import { decodeUrlPart, scrubbedView } from '../redact.js';
import { flattenHeaders, type HeaderInput } from '../transport/headers.js';
import { INSPECTION_KEYS, resolveInspection, type InspectionOptions, type ResolvedInspection } from '../telemetry/options.js';

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
  /** Prefixed to every request path. Default `''`. */
  basePath?: string;
  /** Default headers sent with every request; a request's own header of the same name wins. Default none. */
  headers?: HeaderInput;
  /** Number of keep-alive connections (slots). Default {@link DEFAULT_CONNECTIONS} (4). */
  connections?: number;
  /** Deadline for TCP + TLS connect, in ms. Default {@link DEFAULT_CONNECT_TIMEOUT} (3 000). */
  connectTimeout?: number;
  /** Deadline for the response headers after the request is sent, in ms. Default {@link DEFAULT_HEADERS_TIMEOUT} (5 000). */
  headersTimeout?: number;
  /** Longest pause between two body chunks, in ms. Default {@link DEFAULT_BODY_TIMEOUT} (5 000). */
  bodyTimeout?: number;
  /** Largest response body accepted, in bytes; 0 = unlimited. Default {@link DEFAULT_MAX_BODY_SIZE} (1 MiB). */
  maxBodySize?: number;
  /** Set TCP_NODELAY (no Nagle delay on small writes). Default {@link DEFAULT_NO_DELAY} (true). */
  noDelay?: boolean;
  /** TCP keep-alive initial delay in ms, or `false` to turn TCP keep-alive off. Default {@link DEFAULT_KEEP_ALIVE} (60 000). */
  keepAlive?: number | false;
  /** TLS options for `https://` origins. Certificates are verified by default. */
  tls?: TlsOptions;
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
  /** The clock of the pool's actors (backoff, deadlines); tests pass xstate's `SimulatedClock`. Default: real, unref'd timers. */
  clock?: Clock;
  /** Random source for jitter, returning [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** One origin of a pool: where its slots dial. */
export interface PoolOrigin {
  /** `scheme://host:port`: what undici puts in the Host header, and how the pool names it. */
  origin: string;
  host: string;
  port: number;
}

export interface ResolvedPoolOptions {
  /** The first origin's: how the pool names itself. */
  origin: string;
  /** Every origin, in the order given (slot i starts on origins[i % n]). */
  origins: PoolOrigin[];
  strategy: Strategy;
  tls: TlsOptions | undefined;
  basePath: string;
  /** Default headers, validated and flattened once. */
  headers: string[];
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  maxBodySize: number;
  noDelay: boolean;
  keepAlive: number;
  backoff: BackoffPolicy;
  lazy: boolean;
  acquireTimeout: number;
  drainTimeout: number;
  idleTimeout: number;
  maxConnectionAge: number;
  retry: number;
  replay: boolean;
  dialLimiter: DialLimiter | undefined;
  clock: Clock;
  /** Monotonic ms on `clock`. */
  now: () => number;
  random: () => number;
  stableAfter: number;
  /** Recorder capacity and the scrubber of everything inspection produces. */
  inspection: ResolvedInspection;
}

const KNOWN = [
  'url',
  'urls',
  'strategy',
  'basePath',
  'headers',
  'connections',
  'connectTimeout',
  'headersTimeout',
  'bodyTimeout',
  'maxBodySize',
  'noDelay',
  'keepAlive',
  'tls',
  'backoff',
  'lazy',
  'acquireTimeout',
  'drainTimeout',
  'idleTimeout',
  'maxConnectionAge',
  'retry',
  'replay',
  'dialLimiter',
  'clock',
  'random',
  ...INSPECTION_KEYS,
] as const;

/** Every option `ClientPool.connect` knows, for tools that enumerate them (the options fuzz test). */
export const POOL_OPTION_KEYS: readonly string[] = KNOWN;

function parseUrl(field: string, value: unknown): URL {
  const expected = 'an http:// or https:// URL string';
  if (typeof value === 'string') {
    try {
      return new URL(value);
    } catch {
      // The URL itself is not echoed: it may carry a password.
      throw invalid(field, expected, value);
    }
  }
  // A copy: a URL (or a Proxy of one, or a lookalike) is read once, here, and can fail only here.
  try {
    if (value instanceof URL) return new URL(value.href);
  } catch {
    // fall through: not a usable URL
  }
  throw invalid(field, expected, value);
}

/** Visible ASCII only: undici refuses control characters in a path at every request, and CR/LF would split it. */
const BASE_PATH = /^[\x21-\x7e]*$/;

function joinPath(prefix: string, path: string): string {
  const trimmed = `${prefix}/${path}`.replace(/\/{2,}/g, '/').replace(/\/$/, '');
  return trimmed === '/' ? '' : trimmed;
}

export function resolvePoolOptions(value: unknown): ResolvedPoolOptions {
  return guardOptions(() => resolve(value));
}

function resolve(value: unknown): ResolvedPoolOptions {
  const options = checkObject('options', value);
  if (!options) throw invalid('options', 'an object with `url` or `urls`', value);
  checkKnownKeys('', options, KNOWN);

  if (options.url !== undefined && options.urls !== undefined) throw invalidSaying('url', 'left out when `urls` is given', 'both');
  const urls =
    options.urls === undefined
      ? [parseUrl('url', options.url)]
      : checkArray('urls', options.urls, 'a non-empty array of http:// or https:// URLs').map((item, i) => parseUrl(`urls[${i}]`, item));
  if (urls.length === 0) throw invalidSaying('urls', 'a non-empty array of http:// or https:// URLs', 'an empty array');
  if (urls.length > MAX_CONNECTIONS) throw invalidSaying('urls', `at most ${MAX_CONNECTIONS} URLs`, `${urls.length}`);
  for (const [i, each] of urls.entries()) {
    const field = options.urls === undefined ? 'url' : `urls[${i}]`;
    if (each.protocol !== 'http:' && each.protocol !== 'https:') {
      throw invalidSaying(field, 'an http:// or https:// URL', `a ${each.protocol} URL`);
    }
    if (each.search || each.hash) throw invalidSaying(field, 'a URL without query or fragment', 'a URL with one');
    if (i > 0 && (each.protocol !== urls[0]!.protocol || each.pathname !== urls[0]!.pathname)) {
      throw invalidSaying(field, "the scheme and path of `urls[0]` (the origins serve one API)", 'others');
    }
    if (i > 0 && (each.username !== urls[0]!.username || each.password !== urls[0]!.password)) {
      throw invalidSaying(field, 'the credentials of `urls[0]`, or none', 'others');
    }
  }
  const url = urls[0]!;
  const secure = url.protocol === 'https:';

  const basePath = options.basePath ?? '';
  if (typeof basePath !== 'string' || !BASE_PATH.test(basePath) || /[?#]/.test(basePath)) {
    throw invalid('basePath', 'a path string of visible ASCII characters, without query or fragment', basePath);
  }

  // An object, or [name, value] pairs (a Map, a Headers): flattenHeaders reads each form once.
  const headers = options.headers === undefined ? [] : flattenHeaders(options.headers, 'INVALID_OPTIONS', 'headers');
  // Credentials in the URL become a Basic authorization header and leave the URL.
  if (url.username || url.password) {
    const user = decodeUrlPart(url.username);
    const password = decodeUrlPart(url.password);
    if (user === undefined || password === undefined) {
      throw invalidSaying('url', 'a URL whose credentials are validly percent-encoded', 'malformed ones');
    }
    const credentials = `${user}:${password}`;
    if (!headers.includes('authorization')) {
      headers.push('authorization', `Basic ${Buffer.from(credentials).toString('base64')}`);
    }
  }

  const keepAlive = options.keepAlive === false ? 0 : checkNumber('keepAlive', options.keepAlive, DEFAULT_KEEP_ALIVE, { max: MAX_TIMEOUT });
  const random = checkRandom('random', options.random);
  const clock = checkInstance('clock', options.clock, ['setTimeout', 'clearTimeout']) as Clock | undefined;
  const tls = checkTls('tls', options.tls);
  const inspection = resolveInspection(options, headers, urls.map((each) => each.href), DEFAULT_POOL_HISTORY);
  const origins = urls.map(
    (each): PoolOrigin => ({
      origin: each.origin,
      host: each.hostname.replace(/^\[|\]$/g, ''),
      port: each.port ? Number(each.port) : secure ? 443 : 80,
    }),
  );

  return {
    origin: origins[0]!.origin,
    origins,
    strategy: checkOneOf<Strategy>('strategy', options.strategy, ['lifo', 'round-robin'], DEFAULT_STRATEGY),
    tls: secure ? (tls ?? { rejectUnauthorized: true }) : undefined,
    basePath: joinPath(url.pathname, basePath),
    // Sent with every request, so it holds the real values; console.log(pool) shows them scrubbed.
    headers: scrubbedView(headers, inspection.redactor),
    connections: checkNumber('connections', options.connections, DEFAULT_CONNECTIONS, { min: 1, max: MAX_CONNECTIONS }),
    connectTimeout: checkNumber('connectTimeout', options.connectTimeout, DEFAULT_CONNECT_TIMEOUT, { min: 1, max: MAX_TIMEOUT }),
    headersTimeout: checkNumber('headersTimeout', options.headersTimeout, DEFAULT_HEADERS_TIMEOUT, { min: 1, max: MAX_TIMEOUT }),
    bodyTimeout: checkNumber('bodyTimeout', options.bodyTimeout, DEFAULT_BODY_TIMEOUT, { min: 1, max: MAX_TIMEOUT }),
    maxBodySize: checkNumber('maxBodySize', options.maxBodySize, DEFAULT_MAX_BODY_SIZE),
    noDelay: checkBoolean('noDelay', options.noDelay, DEFAULT_NO_DELAY),
    keepAlive,
    backoff: checkBackoff('backoff', options.backoff, SLOT_BACKOFF),
    lazy: checkBoolean('lazy', options.lazy, DEFAULT_LAZY),
    acquireTimeout: checkNumber('acquireTimeout', options.acquireTimeout, DEFAULT_ACQUIRE_TIMEOUT, { max: MAX_TIMEOUT }),
    drainTimeout: checkNumber('drainTimeout', options.drainTimeout, DEFAULT_DRAIN_TIMEOUT, { max: MAX_TIMEOUT }),
    idleTimeout: checkNumber('idleTimeout', options.idleTimeout, DEFAULT_IDLE_TIMEOUT, { max: MAX_TIMEOUT }),
    maxConnectionAge: checkNumber('maxConnectionAge', options.maxConnectionAge, DEFAULT_MAX_CONNECTION_AGE, { max: MAX_TIMEOUT }),
    retry: checkNumber('retry', options.retry, DEFAULT_RETRY, { max: MAX_RETRIES }),
    replay: checkBoolean('replay', options.replay, DEFAULT_REPLAY),
    dialLimiter: checkDialLimiter(options.dialLimiter),
    clock: clock ?? unrefClock,
    now: clockNow(clock ?? unrefClock),
    random,
    stableAfter: SLOT_STABLE_AFTER,
    inspection,
  };
}
