export { ClientPool, type AcquireOptions, type PoolRequestOptions, type PoolStats } from './pool/client-pool.js';
export { Lease } from './pool/lease.js';
export { LifelineResponse, type ResponseHeaders } from './pool/response.js';
export type { RequestOptions, Query, QueryValue } from './pool/request.js';
export type { HeaderInput } from './transport/headers.js';
export {
  type ClientPoolOptions,
  DEFAULT_CONNECTIONS,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_HEADERS_TIMEOUT,
  DEFAULT_BODY_TIMEOUT,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_NO_DELAY,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_ACQUIRE_TIMEOUT,
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_LAZY,
  DEFAULT_POOL_HISTORY,
  DEFAULT_REPLAY,
} from './pool/options.js';
export type { TlsOptions } from './transport/dial.js';
export { DialLimiter, type DialLimiterOptions, type DialLimiterStats } from './transport/dial-limiter.js';
export type { Clock } from './clock.js';
export { LifelineError, isLifelineError, ERROR_CODES, type ErrorCode, type Delivery } from './errors.js';
export {
  createBackoff,
  ceilingDelay,
  SLOT_BACKOFF,
  FEED_BACKOFF,
  type BackoffOptions,
  type BackoffPolicy,
  type Jitter,
} from './machines/backoff.js';
export { slotMachine, slotState, SLOT_STABLE_AFTER, type SlotState, type SlotConnection, type ConnectionEnd, type SlotCounts, type ConnectionDialer, type DialOutcome } from './machines/slot.js';
export { supervisorMachine, type SupervisorActor } from './machines/supervisor.js';
export { Feed, type FeedActor, type FeedStats, type FeedEvents } from './feed/feed.js';
export type { FeedMessage } from './feed/message-queue.js';
export {
  type FeedOptions,
  type Overflow,
  DEFAULT_FEED_CONNECT_TIMEOUT,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_MAX_RECONNECTS,
  DEFAULT_MESSAGE_BUFFER,
  DEFAULT_OVERFLOW,
  DEFAULT_FEED_REF,
} from './feed/options.js';
export { feedMachine, feedState, FEED_STABLE_AFTER, type FeedState, type FeedClock, type HeartbeatOptions } from './machines/feed.js';
export { FlightRecorder, DEFAULT_HISTORY, type TransitionRecord, type ActorSummary } from './telemetry/recorder.js';
export { Redactor, REDACTED, isSecretName, redactUrl } from './redact.js';
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
export type { InspectionOptions } from './telemetry/options.js';
export type { MeterLike } from './telemetry/meter.js';
export { serveDashboard, DEFAULT_DASHBOARD_HOST, STATS_INTERVAL, type Dashboard, type DashboardOptions } from './dashboard/dashboard.js';
