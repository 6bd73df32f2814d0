/**
 * `Feed.connect` options: the public type with each default in its doc
 * comment, one constant per default, and the one place they are validated.
 */
import { unrefClock } from '../actors/clock.js';
import type { TlsOptions } from '../actors/dial.js';
import { FEED_BACKOFF, type BackoffOptions, type BackoffPolicy } from '../machines/backoff.js';
import { FEED_STABLE_AFTER, type FeedClock, type HeartbeatOptions } from '../machines/feed.js';
import {
  checkBackoff,
  checkFunction,
  checkKnownKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  invalid,
  invalidSaying,
  checkStrings,
} from '../validate.js';
import { DEFAULT_HISTORY } from '../inspect/recorder.js';
import { INSPECTION_KEYS, resolveInspection, type InspectionOptions, type ResolvedInspection } from '../inspect/options.js';
import { MAX_TIMEOUT } from '../pool/options.js';

export const DEFAULT_FEED_CONNECT_TIMEOUT = 5_000;
export const DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
export const DEFAULT_ACK_TIMEOUT = 5_000;
export const DEFAULT_MAX_RECONNECTS = Infinity;
export const DEFAULT_MESSAGE_BUFFER = 1_024;
export const DEFAULT_OVERFLOW: Overflow = 'drop-oldest';
export const DEFAULT_CLOSE_TIMEOUT = 1_000;

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
  /** Headers of the upgrade request (e.g. an API key). Default none. */
  headers?: Record<string, string>;
  /** TLS options for `wss://`. Certificates are verified by default. */
  tls?: TlsOptions;
  /** Clock for heartbeat, staleness and backoff; tests pass xstate's `SimulatedClock`. Default: real, unref'd timers. */
  clock?: FeedClock;
  /** Random source for jitter, returning [0, 1). Default `Math.random`. */
  random?: () => number;
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
  clock: FeedClock;
  random: () => number;
  stableAfter: number;
  /** Recorder capacity and the scrubber of everything inspection produces. */
  inspection: ResolvedInspection;
  closeTimeout: number;
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
  'clock',
  'random',
] as const;

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
  const options = checkObject('options', value);
  if (!options) throw invalid('options', 'an object with `url` or `urls`', value);
  checkKnownKeys('', options, KNOWN);

  let urls: string[];
  if (options.urls !== undefined) {
    if (options.url !== undefined) throw invalidSaying('url', 'left out when `urls` is given', 'both');
    if (!Array.isArray(options.urls) || options.urls.length === 0) throw invalid('urls', 'a non-empty array of ws:// or wss:// URLs', options.urls);
    urls = options.urls.map((url, i) => checkWsUrl(`urls[${i}]`, url));
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

  const headersObject = checkObject('headers', options.headers);
  if (headersObject) {
    for (const [name, headerValue] of Object.entries(headersObject)) {
      if (typeof headerValue !== 'string') throw invalid(`headers.${name}`, 'a string', headerValue);
      if (/[\r\n\0]/.test(headerValue)) throw invalidSaying(`headers.${name}`, 'a value without CR, LF or NUL', 'one with them');
    }
  }
  const tls = checkObject('tls', options.tls);
  if (tls) checkKnownKeys('tls', tls, ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']);
  const clock = checkObject('clock', options.clock) as FeedClock | undefined;
  if (clock && (typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function' || typeof clock.now !== 'function')) {
    throw invalid('clock', 'an object with setTimeout, clearTimeout and now', clock);
  }
  const maxReconnects =
    options.maxReconnects === undefined || options.maxReconnects === Infinity
      ? DEFAULT_MAX_RECONNECTS
      : checkNumber('maxReconnects', options.maxReconnects, 0);

  return {
    urls,
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
    headers: headersObject as Record<string, string> | undefined,
    tls: tls ? { ...(tls as TlsOptions), rejectUnauthorized: (tls.rejectUnauthorized as boolean | undefined) ?? true } : undefined,
    clock: clock ?? unrefClock,
    random: checkFunction<() => number>('random', options.random) ?? Math.random,
    stableAfter: FEED_STABLE_AFTER,
    inspection: resolveInspection(options, headersObject ? (Object.entries(headersObject).flat() as string[]) : [], urls, DEFAULT_HISTORY),
    closeTimeout: DEFAULT_CLOSE_TIMEOUT,
  };
}
