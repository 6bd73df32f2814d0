/**
 * `Feed.connect` options: the public type with each default in its doc
 * comment, one constant per default, and the one place they are validated.
 */
import { withNow, type Clock } from '../clock.js';
import { checkDialLimiter, type DialLimiter } from '../transport/dial-limiter.js';
import { checkTls, type TlsOptions } from '../transport/tls-options.js';
import { checkProxy, type ProxyTarget } from '../transport/proxy-options.js';
import { checkPerMessageDeflate, checkProtocols, type PerMessageDeflateOptions } from '../transport/websocket-options.js';
import { checkBackoff, FEED_BACKOFF, type BackoffOptions, type BackoffPolicy } from '../machines/backoff.js';
import { FEED_STABLE_AFTER, type FeedClock, type FeedEndpoint, type FeedMachineOptions, type HeartbeatOptions } from '../machines/feed.js';
import { checkFunction, checkKnownKeys, checkNumber, checkObject, checkRandom, checkStrings, guardOptions, invalid, MAX_TIMEOUT } from '../validate.js';
import { clock, flag, integer, oneOf, readOptions, timeout, together, type OptionTable } from '../option-table.js';
import { flattenHeaders, type HeaderInput } from '../transport/headers.js';
import { urlSecrets } from '../redact.js';
import { checkEndpoints, headerRecord, type CheckedEndpoint, type HeadersProvider, type UrlProvider } from './providers.js';
import { sealMessage, sealUrl } from './sealed-text.js';
import { checkSendQueue, DEFAULT_SEND_QUEUE, type SendQueueLimits, type SendQueueOptions } from './send-queue.js';
import { DEFAULT_HISTORY } from '../telemetry/recorder.js';
import { inspectionChecks, resolveInspection, type InspectionOptions, type ResolvedInspection } from '../telemetry/options.js';

export const DEFAULT_FEED_CONNECT_TIMEOUT = 5_000;
export const DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
export const DEFAULT_ACK_TIMEOUT = 5_000;
export const DEFAULT_MAX_RECONNECTS = Infinity;
export const DEFAULT_MESSAGE_BUFFER = 1_024;
export const DEFAULT_OVERFLOW: Overflow = 'drop-oldest';
export const DEFAULT_CLOSE_TIMEOUT = 1_000;
export const DEFAULT_FEED_REF = true;
export const DEFAULT_PER_MESSAGE_DEFLATE = false;

/** What `feed.messages()` does when its buffer is full: drop the oldest or the newest message (counted in `stats().dropped`). */
export type Overflow = 'drop-oldest' | 'drop-newest';

export interface FeedOptions extends InspectionOptions {
  /**
   * `ws://` or `wss://`, a string or a `URL`; or a function returning one (at once or as a
   * promise), called before every connect, e.g. to fetch a listen key: see {@link UrlProvider}.
   * One of `url` or `urls` is required.
   */
  url?: string | URL | UrlProvider;
  /**
   * Several endpoints of one feed (each as `url` takes it); a reconnect tries the one with the
   * fewest recent failures first. `feed.setUrls()` replaces them.
   */
  urls?: (string | URL | UrlProvider)[];
  /** Messages sent, in order, on every connect. Default none. */
  subscriptions?: string[];
  /** Ping every `interval` ms; no pong within `timeout` ms poisons the feed. Default off. */
  heartbeat?: HeartbeatOptions;
  /** No message at all for this long (ms) poisons the feed. Default off. */
  staleAfter?: number;
  /** Largest message accepted, in bytes (ws `maxPayload`). Default {@link DEFAULT_MAX_MESSAGE_SIZE} (16 MiB). */
  maxMessageSize?: number;
  /**
   * Deadline for TCP + TLS + the WebSocket upgrade (ms), through a `proxy` its TCP connect and
   * CONNECT too; each call of a `url` or `headers` provider
   * gets as long again, timed on `clock`. Default {@link DEFAULT_FEED_CONNECT_TIMEOUT} (5 000).
   */
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
  /**
   * Bounds of the queue `feed.send(text, { queue: true })` uses while the feed is not live:
   * `size` messages, each for `maxAge` ms. Default {@link DEFAULT_SEND_QUEUE} (100 messages, 5 000 ms).
   */
  sendQueue?: SendQueueOptions;
  /**
   * Headers of the upgrade request (e.g. an API key): an object, or [name, value] pairs (an
   * array of pairs, a Map, a Headers); or a function returning them, called before every
   * connect (see {@link HeadersProvider}). Default none.
   */
  headers?: HeaderInput | HeadersProvider;
  /** TLS options for `wss://`. Certificates are verified by default. */
  tls?: TlsOptions;
  /**
   * Connect through this HTTP proxy with CONNECT: `http://host:port`, a string or a `URL`.
   * Credentials in it (`http://user:pass@host:port`) are sent as `Proxy-Authorization: Basic`
   * and scrubbed like any secret; errors name the proxy as `http://host:port`. TLS to a wss
   * endpoint runs inside the tunnel. A refusal (407, 403, 5xx) fails the connect with
   * CONNECT_FAILED, and the feed backs off. Default none.
   */
  proxy?: string | URL;
  /**
   * Subprotocols to offer (`Sec-WebSocket-Protocol`), in order of preference. A server that
   * picks none of them fails the connect (CONNECT_FAILED); `stats().protocol` is the one it
   * picked. Default none.
   */
  protocols?: string | string[];
  /**
   * Offer permessage-deflate: `true` with ws's defaults, or its parameters. `maxMessageSize`
   * then bounds a message after decompression. Default {@link DEFAULT_PER_MESSAGE_DEFLATE}
   * (false): compression costs CPU and a zlib context per connection, and adds latency to
   * every message; turn it on for a venue whose messages are large and repetitive.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Shared bound on dials (under way at once, started per second) across the pools and feeds given the same one. Default none. */
  dialLimiter?: DialLimiter;
  /**
   * Clock for heartbeat, staleness and backoff; tests pass xstate's `SimulatedClock`. Its `now()`
   * times staleness, `performance.now()` when it has none. Default: real, unref'd timers.
   */
  clock?: Clock;
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
  /**
   * What the feed machine reads (urls, subscriptions, backoff, random, stableAfter,
   * maxReconnects, isAck, ackTimeout, heartbeat, staleAfter, clock): one object, passed as
   * it is as the machine's input. `urls` are URLs as `new URL` writes them (the same URL
   * matches itself in `setUrls`), sealed, or providers; subscriptions are sealed too.
   */
  machine: FeedMachineOptions;
  /** `urls` was given (errors name `urls[i]`), not `url`. */
  listed: boolean;
  maxMessageSize: number;
  connectTimeout: number;
  messageBuffer: number;
  overflow: Overflow;
  sendQueue: SendQueueLimits;
  headers: Record<string, string> | HeadersProvider | undefined;
  tls: TlsOptions | undefined;
  /** The proxy connected through, if any: its authorization is a non-enumerable property. */
  proxy: ProxyTarget | undefined;
  protocols: string[] | undefined;
  perMessageDeflate: boolean | PerMessageDeflateOptions;
  dialLimiter: DialLimiter | undefined;
  /** Recorder capacity and the scrubber of everything inspection produces. */
  inspection: ResolvedInspection;
  closeTimeout: number;
  ref: boolean;
}

/** Every default of `Feed.connect`, by option: the constants above, in one frozen object. */
export const FEED_DEFAULTS = Object.freeze({
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  connectTimeout: DEFAULT_FEED_CONNECT_TIMEOUT,
  backoff: FEED_BACKOFF,
  maxReconnects: DEFAULT_MAX_RECONNECTS,
  ackTimeout: DEFAULT_ACK_TIMEOUT,
  messageBuffer: DEFAULT_MESSAGE_BUFFER,
  overflow: DEFAULT_OVERFLOW,
  sendQueue: DEFAULT_SEND_QUEUE,
  history: DEFAULT_HISTORY,
  ref: DEFAULT_FEED_REF,
  perMessageDeflate: DEFAULT_PER_MESSAGE_DEFLATE,
});

function checkHeartbeat(field: string, value: unknown): HeartbeatOptions | undefined {
  const heartbeat = checkObject(field, value);
  if (!heartbeat) return undefined;
  checkKnownKeys(field, heartbeat, ['interval', 'timeout']);
  const interval = heartbeat.interval;
  const timeoutMs = heartbeat.timeout;
  if (interval === undefined) throw invalid(`${field}.interval`, 'an integer from 1 to 2147483647', undefined);
  if (timeoutMs === undefined) throw invalid(`${field}.timeout`, 'an integer from 1 to 2147483647', undefined);
  return {
    interval: checkNumber(`${field}.interval`, interval, 0, { min: 1, max: MAX_TIMEOUT }),
    timeout: checkNumber(`${field}.timeout`, timeoutMs, 0, { min: 1, max: MAX_TIMEOUT }),
  };
}

/** How each option of `Feed.connect` is checked, in the order they are read. */
const FEED_OPTIONS = {
  url: together, // with `urls`
  urls: together,
  subscriptions: checkStrings,
  heartbeat: checkHeartbeat,
  staleAfter: (field, value) => (value === undefined ? undefined : checkNumber(field, value, 0, { min: 1, max: MAX_TIMEOUT })),
  maxMessageSize: integer(DEFAULT_MAX_MESSAGE_SIZE, { min: 1 }),
  connectTimeout: timeout(DEFAULT_FEED_CONNECT_TIMEOUT, 1),
  backoff: (field, value) => checkBackoff(field, value, FEED_BACKOFF),
  maxReconnects: (field, value) => (value === undefined || value === Infinity ? DEFAULT_MAX_RECONNECTS : checkNumber(field, value, 0)),
  isAck: (field, value) => checkFunction<NonNullable<FeedOptions['isAck']>>(field, value),
  ackTimeout: timeout(DEFAULT_ACK_TIMEOUT, 1),
  messageBuffer: integer(DEFAULT_MESSAGE_BUFFER, { min: 1 }),
  overflow: oneOf<Overflow>(['drop-oldest', 'drop-newest'], DEFAULT_OVERFLOW),
  sendQueue: checkSendQueue,
  // The same checks as a pool's default headers (HTTP token names; no CR, LF or NUL in a value), at
  // connect rather than as a TypeError from ws on every reconnect. A provider's are checked per connect.
  headers: (field, value) =>
    value === undefined ? undefined : typeof value === 'function' ? (value as HeadersProvider) : flattenHeaders(value, 'INVALID_OPTIONS', field),
  ...inspectionChecks(DEFAULT_HISTORY),
  tls: checkTls,
  proxy: checkProxy,
  protocols: checkProtocols,
  perMessageDeflate: (field, value) => checkPerMessageDeflate(field, value, DEFAULT_PER_MESSAGE_DEFLATE),
  dialLimiter: (_field, value) => checkDialLimiter(value),
  clock,
  random: checkRandom,
  ref: flag(DEFAULT_FEED_REF),
} satisfies OptionTable<FeedOptions>;

/** Every option `Feed.connect` knows, for tools that enumerate them (the options fuzz test). */
export const FEED_OPTION_KEYS: readonly string[] = Object.keys(FEED_OPTIONS);

export function resolveFeedOptions(value: unknown): ResolvedFeedOptions {
  return guardOptions(() => resolve(value));
}

/** `feed.setUrls(urls)`'s list, checked as the `urls` option is, sealed as at connect. */
export function resolveSetUrls(urls: unknown, inspection: ResolvedInspection): FeedEndpoint[] {
  // Always a list: left out, it is `urls` that is missing (checkEndpoints would name `url`).
  if (urls === undefined) throw invalid('urls', 'a non-empty array of ws:// or wss:// URLs', urls);
  const endpoints = guardOptions(() => checkEndpoints(undefined, urls));
  const names = inspection.secretNames;
  inspection.redactor.remember(staticUrls(endpoints).flatMap((url) => urlSecrets(url, names)));
  return sealEndpoints(endpoints, inspection);
}

/** Endpoints as the machine keeps them: URLs sealed (an inspector sees them scrubbed), providers as they are. */
function sealEndpoints(endpoints: readonly CheckedEndpoint[], inspection: ResolvedInspection): FeedEndpoint[] {
  return endpoints.map((endpoint) => (typeof endpoint === 'string' ? sealUrl(endpoint, inspection) : endpoint));
}

function resolve(value: unknown): ResolvedFeedOptions {
  const {
    url,
    urls,
    headers: given,
    clock,
    history,
    secretHeaders,
    meter,
    inspect,
    proxy,
    subscriptions,
    heartbeat,
    staleAfter,
    backoff,
    maxReconnects,
    isAck,
    ackTimeout,
    random,
    ...checked
  } = readOptions(value, FEED_OPTIONS, 'an object with `url` or `urls`');
  const endpoints = checkEndpoints(url, urls);
  const flatHeaders = Array.isArray(given) ? given : [];
  const inspection = resolveInspection({ history, secretHeaders, meter, inspect }, flatHeaders, staticUrls(endpoints), proxy?.secrets);
  const machine: FeedMachineOptions = {
    // The machine keeps them in its input and context, which inspectors see: sealed.
    urls: sealEndpoints(endpoints, inspection),
    subscriptions: subscriptions.map((message) => sealMessage(message, inspection)),
    backoff,
    random,
    stableAfter: FEED_STABLE_AFTER,
    maxReconnects,
    isAck,
    ackTimeout,
    heartbeat,
    staleAfter,
    clock: withNow(clock),
  };
  return {
    ...checked,
    proxy: proxy?.target,
    machine,
    listed: urls !== undefined,
    // ws takes the upgrade's headers as an object: the checked copy, repeated names joined.
    headers: Array.isArray(given) ? headerRecord(given) : given,
    inspection,
    closeTimeout: DEFAULT_CLOSE_TIMEOUT,
  };
}

/** The endpoints that are URLs (a provider's URL is known only at its connect). */
export function staticUrls(endpoints: readonly CheckedEndpoint[]): string[] {
  return endpoints.filter((endpoint): endpoint is string => typeof endpoint === 'string');
}
