/**
 * The options of a streamed request (`lease.stream`, `pool.stream`): a request's, and how long
 * the body may wait for its reader.
 */
import type { RequestOptions } from './request.js';
import type { PoolRequestOptions } from './request-options.js';

interface ReaderOptions {
  /**
   * How long the body may sit full and unread (ms) before lifeline takes the stream as
   * abandoned: the request is aborted (`READ_TIMEOUT`, on the body), its connection retired
   * (a clean end) and, with `pool.stream`, the slot freed. A slow reader that keeps reading is
   * never cut: only a reader that stopped. Default {@link DEFAULT_READ_TIMEOUT} (30 000).
   */
  readTimeout?: number;
  /**
   * Largest body this stream may carry, in bytes (decoded, with `decompress`); 0 = unlimited.
   * A stream is for bodies too large to hold, so it may set its own. Default: the pool's `maxBodySize`.
   */
  maxBodySize?: number;
}

/** `lease.stream`'s options. */
export interface StreamOptions extends RequestOptions, ReaderOptions {}

/** `pool.stream`'s options: `pool.request`'s (wait, retry, replay before the head), and `readTimeout`. */
export interface PoolStreamOptions extends PoolRequestOptions, ReaderOptions {}

/** What a streamed request reads of its options beyond a request's. */
export const STREAM_KEYS = ['readTimeout', 'maxBodySize'] as const;

/** How long a streamed body may sit full and unread before its request is abandoned (ms). */
export const DEFAULT_READ_TIMEOUT = 30_000;
