/**
 * `Feed.connect` options: the public type with each default in its doc
 * comment, one constant per default, and the one place they are validated.
 */
import { unrefClock } from '../clock.js';
import { checkDialLimiter, type DialLimiter } from '../transport/dial-limiter.js';
import { checkTls, type TlsOptions } from '../transport/tls-options.js';
import { checkBackoff, FEED_BACKOFF, type BackoffOptions, type BackoffPolicy } from '../machines/backoff.js';
import { FEED_STABLE_AFTER, type FeedClock, type HeartbeatOptions } from '../machines/feed.js';
import {
  checkArray,
  checkBoolean,
  checkFunction,
  checkInstance,
  checkKnownKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  checkRandom,
  checkStrings,
  guardOptions,
  invalid,
  invalidSaying,
  MAX_TIMEOUT,
} from '../validate.js';
import { flattenHeaders, type HeaderInput } from '../transport/headers.js';
import { scrubbedView } from '../redact.js';
import { DEFAULT_HISTORY } from '../telemetry/recorder.js';
import { INSPECTION_KEYS, resolveInspection, type InspectionOptions, type ResolvedInspection } from '../telemetry/options.js';

export const DEFAULT_FEED_CONNECT_TIMEOUT = 5_000;
export const DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
export const DEFAULT_ACK_TIMEOUT = 5_000;
export const DEFAULT_MAX_RECONNECTS = Infinity;
export const DEFAULT_MESSAGE_BUFFER = 1_024;
export const DEFAULT_OVERFLOW: Overflow = 'drop-oldest';
export const DEFAULT_CLOSE_TIMEOUT = 1_000;
export const DEFAULT_FEED_REF = true;

/** What `feed.messages()` does when its buffer is full: drop the oldest or the newest message (counted in `stats().dropped`). */
export type Overflow = 'drop-oldest' | 'drop-newest';

export interface FeedOptions extends InspectionOptions {
  /** `ws://` or `wss://`. One of `url` or `urls` is required. */
  url?: string;
  /** Several endpoints of one feed; a reconnect tries the one with the fewest recent failures first. */
  urls?: string[];
  /** Messages sent, in order, on every connect. Default none. */
  subscriptions?: string[];
  /** Ping every `interval` ms; no pong within `timeout` ms poisons the feed. Default off. */
  heartbeat?: HeartbeatOptions;
  /** No message at all for this long (ms) poisons the feed. Default off. */
  staleAfter?: number;
  /** Largest message accepted, in bytes (ws `maxPayload`). Default {@link DEFAULT_MAX_MESSAGE_SIZE} (16 MiB). */
  maxMessageSize?: number;
  /** Deadline for TCP + TLS + the WebSocket upgrade (ms). Default {@link DEFAULT_FEED_CONNECT_TIMEOUT} (5 000). */
  connectTimeout?: number;
  /** Reconnect delays. Default 100 ms doubling to 30 s, full jitter ({@link FEED_BACKOFF}). */
  backoff?: BackoffOptions;
  /** Reconnect attempts before the feed closes with RECONNECTS_EXHAUSTED. Default unlimited. */
  maxReconnects?: number;
  /** Recognises a subscription acknowledgement: the feed stays `subscribing` until every subscription has one. Default none. */
  isAck?: (data: string | Buffer, isBinary: boolean) => boolean;
  /** How long to wait for the acknowledgements (ms). Default {@link DEFAULT_ACK_TIMEOUT} (5 000). */
  ackTimeout?: number;
  /** Buffer of `feed.messages()` iterators, in messages. Default {@link DEFAULT_MESSAGE_BUFFER} (1 024). */
  messageBuffer?: number;
  /** Overflow policy of that buffer. Default {@link DEFAULT_OVERFLOW} ('drop-oldest'). */
  overflow?: Overflow;
  /** Headers of the upgrade request (e.g. an API key): an object, or [name, value] pairs (an array of pairs, a Map, a Headers). Default none. */
  headers?: HeaderInput;
  /** TLS options for `wss://`. Certificates are verified by default. */
  tls?: TlsOptions;
  /** Shared bound on dials (under way at once, started per second) across the pools and feeds given the same one. Default none. */
  dialLimiter?: DialLimiter;
  /** Clock for heartbeat, staleness and backoff; tests pass xstate's `SimulatedClock`. Default: real, unref'd timers. */
  clock?: FeedClock;
  /** Random source for jitter, returning [0, 1). Default `Math.random`. */
  random?: () => number;
  /**
   * Keep the process alive while the feed is open, across disconnects, backoff and reconnects,
   * as a socket does, until `close()` (or until the feed gives up: `maxReconnects`). `false`: the
   * feed never holds the process, like an unref'd socket. Default {@link DEFAULT_FEED_REF} (true).
   */
  ref?: boolean;
}

export interface ResolvedFeedOptions {
  urls: string[];
  subscriptions: string[];
  heartbeat: HeartbeatOptions | undefined;
  staleAfter: number | undefined;
  maxMessageSize: number;
  connectTimeout: number;
  backoff: BackoffPolicy;
  maxReconnects: number;
  isAck: FeedOptions['isAck'];
  ackTimeout: number;
  messageBuffer: number;
  overflow: Overflow;
  headers: Record<string, string> | undefined;
  tls: TlsOptions | undefined;
  dialLimiter: DialLimiter | undefined;
  clock: FeedClock;
  random: () => number;
  stableAfter: number;
  /** Recorder capacity and the scrubber of everything inspection produces. */
  inspection: ResolvedInspection;
  closeTimeout: number;
  ref: boolean;
}

const KNOWN = [
  'url',
  'urls',
  'subscriptions',
  'heartbeat',
  'staleAfter',
  'maxMessageSize',
  'connectTimeout',
  'backoff',
  'maxReconnects',
  'isAck',
  'ackTimeout',
  'messageBuffer',
  'overflow',
  'headers',
  ...INSPECTION_KEYS,
  'tls',
  'dialLimiter',
  'clock',
  'random',
  'ref',
] as const;

/** Every option `Feed.connect` knows, for tools that enumerate them (the options fuzz test). */
export const FEED_OPTION_KEYS: readonly string[] = KNOWN;

function checkWsUrl(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(field, 'a ws:// or wss:// URL string', value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, 'a ws:// or wss:// URL string', value);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw invalidSaying(field, 'a ws:// or wss:// URL', `a ${url.protocol} URL`);
  return value;
}

export function resolveFeedOptions(value: unknown): ResolvedFeedOptions {
  return guardOptions(() => resolve(value));
}

function resolve(value: unknown): ResolvedFeedOptions {
  const options = checkObject('options', value);
  if (!options) throw invalid('options', 'an object with `url` or `urls`', value);
  checkKnownKeys('', options, KNOWN);

  let urls: string[];
  if (options.urls !== undefined) {
    if (options.url !== undefined) throw invalidSaying('url', 'left out when `urls` is given', 'both');
    const expected = 'a non-empty array of ws:// or wss:// URLs';
    const items = checkArray('urls', options.urls, expected);
    if (items.length === 0) throw invalid('urls', expected, options.urls);
    urls = items.map((url, i) => checkWsUrl(`urls[${i}]`, url));
  } else {
    urls = [checkWsUrl('url', options.url)];
  }

  const heartbeatObject = checkObject('heartbeat', options.heartbeat);
  let heartbeat: HeartbeatOptions | undefined;
  if (heartbeatObject) {
    checkKnownKeys('heartbeat', heartbeatObject, ['interval', 'timeout']);
    if (heartbeatObject.interval === undefined) throw invalid('heartbeat.interval', 'an integer from 1 to 2147483647', undefined);
    if (heartbeatObject.timeout === undefined) throw invalid('heartbeat.timeout', 'an integer from 1 to 2147483647', undefined);
    heartbeat = {
      interval: checkNumber('heartbeat.interval', heartbeatObject.interval, 0, { min: 1, max: MAX_TIMEOUT }),
      timeout: checkNumber('heartbeat.timeout', heartbeatObject.timeout, 0, { min: 1, max: MAX_TIMEOUT }),
    };
  }
  const staleAfter = options.staleAfter === undefined ? undefined : checkNumber('staleAfter', options.staleAfter, 0, { min: 1, max: MAX_TIMEOUT });

  // The same checks as a pool's default headers (HTTP token names; no CR, LF or NUL in a value), at
  // connect rather than as a TypeError from ws on every reconnect. ws gets the checked copy.
  const flatHeaders = options.headers === undefined ? [] : flattenHeaders(options.headers, 'INVALID_OPTIONS', 'headers');
  let headers: Record<string, string> | undefined;
  if (options.headers !== undefined) {
    headers = {};
    for (let i = 0; i < flatHeaders.length; i += 2) {
      const name = flatHeaders[i]!;
      headers[name] = name in headers ? `${headers[name]}, ${flatHeaders[i + 1]}` : flatHeaders[i + 1]!;
    }
  }
  const tls = checkTls('tls', options.tls);
  const clock = checkInstance('clock', options.clock, ['setTimeout', 'clearTimeout', 'now']) as FeedClock | undefined;
  const inspection = resolveInspection(options, flatHeaders, urls, DEFAULT_HISTORY);
  const maxReconnects =
    options.maxReconnects === undefined || options.maxReconnects === Infinity
      ? DEFAULT_MAX_RECONNECTS
      : checkNumber('maxReconnects', options.maxReconnects, 0);

  return {
    // The machine keeps them in its context; console.log(feed.actor) shows them scrubbed.
    urls: scrubbedView(urls, inspection.redactor),
    subscriptions: checkStrings('subscriptions', options.subscriptions),
    heartbeat,
    staleAfter,
    maxMessageSize: checkNumber('maxMessageSize', options.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE, { min: 1 }),
    connectTimeout: checkNumber('connectTimeout', options.connectTimeout, DEFAULT_FEED_CONNECT_TIMEOUT, { min: 1, max: MAX_TIMEOUT }),
    backoff: checkBackoff('backoff', options.backoff, FEED_BACKOFF),
    maxReconnects,
    isAck: checkFunction<NonNullable<FeedOptions['isAck']>>('isAck', options.isAck),
    ackTimeout: checkNumber('ackTimeout', options.ackTimeout, DEFAULT_ACK_TIMEOUT, { min: 1, max: MAX_TIMEOUT }),
    messageBuffer: checkNumber('messageBuffer', options.messageBuffer, DEFAULT_MESSAGE_BUFFER, { min: 1 }),
    overflow: checkOneOf<Overflow>('overflow', options.overflow, ['drop-oldest', 'drop-newest'], DEFAULT_OVERFLOW),
    headers,
    tls,
    dialLimiter: checkDialLimiter(options.dialLimiter),
    clock: clock ?? unrefClock,
    random: checkRandom('random', options.random),
    stableAfter: FEED_STABLE_AFTER,
    inspection,
    closeTimeout: DEFAULT_CLOSE_TIMEOUT,
    ref: checkBoolean('ref', options.ref, DEFAULT_FEED_REF),
  };
}
