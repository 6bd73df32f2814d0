/**
 * lifeline-supervisor (lifeline on npm): the public API, what users call (README, "API"). Nothing internal: the
 * machines, their state helpers and backoff schedules are in `lifeline-supervisor/testing`
 * (src/testing/index.ts), with the fault servers and model paths that need them.
 * `npm run consumer-check` pins the value exports of both entries.
 */

// Pools
export { ClientPool, type AcquireOptions, type PoolRequestOptions, type PoolStats, type StreamOptions, type PoolStreamOptions } from './pool/client-pool.js';
export { Lease } from './pool/lease.js';
export type { LifelineDispatcher } from './pool/dispatcher.js';
export { LifelineResponse, ResponseHead, type ResponseHeaders } from './pool/response.js';
export { StreamedResponse } from './pool/streamed-response.js';
export type { ResponseBody } from './pool/response-body.js';
export { DEFAULT_READ_TIMEOUT } from './pool/stream-options.js';
export type { RequestOptions, Query, QueryValue } from './pool/request.js';
export type { HeaderInput } from './transport/headers.js';
export {
  type ClientPoolOptions,
  type Strategy,
  DEFAULT_STRATEGY,
  DEFAULT_CONNECTIONS,
  POOL_DEFAULTS,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_HEADERS_TIMEOUT,
  DEFAULT_BODY_TIMEOUT,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_DECOMPRESS,
  DEFAULT_NO_DELAY,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_LAZY,
  DEFAULT_ACQUIRE_TIMEOUT,
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNECTION_AGE,
  DEFAULT_RETRY,
  DEFAULT_REPLAY,
  DEFAULT_POOL_HISTORY,
} from './pool/options.js';
export type { SlotState } from './machines/slot.js';
export {
  type HttpProtocol,
  type Http2Options,
  DEFAULT_PROTOCOL,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_PING_INTERVAL,
  DEFAULT_PING_TIMEOUT,
} from './transport/http2-options.js';

// Rate limits and signing (README, "Rate limits")
export { Governor, type GovernorState, type GovernorStats, type StoreState } from './pool/governor/governor.js';
export {
  type GovernorOptions,
  type GovernorWindow,
  type Priority,
  DEFAULT_PAUSE,
  DEFAULT_BAN,
  DEFAULT_PAUSE_STATUSES,
  DEFAULT_BAN_STATUSES,
  DEFAULT_RESERVE,
  DEFAULT_LOCAL_SHARE,
} from './pool/governor/governor-options.js';
export type { BudgetStore } from './pool/governor/budget-store.js';
export type { SharedBudgetStore, SharedReply } from './pool/governor/shared-store.js';
export {
  redisStore,
  type RedisCommander,
  type RedisStoreOptions,
  DEFAULT_REDIS_TTL,
  DEFAULT_REDIS_TIMEOUT,
  DEFAULT_REDIS_RETRY,
} from './pool/governor/redis-store.js';
export type { SignHook, SignRequest, SignResult } from './pool/governor/sign.js';
export type { BudgetFields } from './pool/governor/request-fields.js';
export type { SupervisorActor } from './machines/supervisor.js';

// Options pools and feeds share
export type { TlsOptions } from './transport/dial.js';
export type { BackoffOptions, Jitter } from './machines/backoff.js';
export { DialLimiter, type DialLimiterOptions, type DialLimiterStats } from './transport/dial-limiter.js';
export type { Clock } from './clock.js';
export type { InspectionOptions } from './telemetry/options.js';
export type { Inspector } from './telemetry/inspector.js';
export type { MeterLike } from './telemetry/meter.js';

// Feeds
export { Feed, type FeedActor, type FeedStats, type FeedEvents } from './feed/feed.js';
export type { FeedMessage } from './feed/message-queue.js';
export type { UrlProvider, HeadersProvider, ProviderContext } from './feed/providers.js';
export { DEFAULT_SEND_QUEUE, type SendQueueOptions } from './feed/send-queue.js';
export { type SendOptions } from './feed/feed.js';
export {
  type FeedOptions,
  type Overflow,
  DEFAULT_FEED_CONNECT_TIMEOUT,
  FEED_DEFAULTS,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_MAX_RECONNECTS,
  DEFAULT_MESSAGE_BUFFER,
  DEFAULT_OVERFLOW,
  DEFAULT_FEED_REF,
  DEFAULT_PER_MESSAGE_DEFLATE,
} from './feed/options.js';
export type { PerMessageDeflateOptions } from './transport/websocket-options.js';
export type { FeedState, FeedClock, HeartbeatOptions } from './machines/feed.js';

// Errors
export { LifelineError, isLifelineError, ERROR_CODES, type ErrorCode, type Delivery, type Sent } from './errors.js';

// Inspection: history records, diagnostics channels, the dashboard
export { DEFAULT_HISTORY, type TransitionRecord } from './telemetry/recorder.js';
export type { RequestRecord, RequestTimes } from './telemetry/request-record.js';
export { DEFAULT_REQUEST_LOG_SIZE, type RequestLogOptions } from './telemetry/request-log.js';
export {
  POOL_ACQUIRE_CHANNEL,
  POOL_REQUEST_CHANNEL,
  SLOT_STATE_CHANNEL,
  FEED_STATE_CHANNEL,
  FEED_MESSAGE_CHANNEL,
  type AcquireMessage,
  type RequestMessage,
  type SlotStateMessage,
  type FeedStateMessage,
  type FeedMessageInfo,
} from './telemetry/diagnostics.js';
export { serveDashboard, DEFAULT_DASHBOARD_HOST, type Dashboard, type DashboardOptions } from './dashboard/dashboard.js';
