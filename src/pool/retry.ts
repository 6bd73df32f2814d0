/**
 * When `pool.request` sends a failed request again, and as what:
 *
 * - a resend: it never left the process (the connection closed between the grant and
 *   the write), whatever its method, up to `UNSENT_ATTEMPTS` connections: the server saw nothing;
 *   an HTTP/2 stream above a GOAWAY's last id, besides those, once per connection of the pool (a
 *   reload or restart ends them all within milliseconds: the stream may meet each before a new one);
 * - a replay: it died unanswered on a reused connection (the stale race), once, if it is
 *   idempotent and `replay` is on;
 * - a retry: another failure of the transport, as many times as `retry` says, if it is idempotent.
 *
 * Idempotent: a method that is by definition (RFC 9110, 9.2.2), or a request the caller marks
 * so (a POST carrying an idempotency key). Only failures of the transport count, where the
 * server's answer was lost rather than given: a status code, however bad, is an answer and is
 * returned as it is. Nothing goes again past the request's deadline, except a resend.
 */
import type { ErrorCode, LifelineError } from '../errors.js';
import { AboveGoaway } from '../transport/http2-stream.js';
import type { Attempt } from './lease.js';

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The connection failed under the request; another connection may well succeed. */
const TRANSPORT_FAILURES: ReadonlySet<ErrorCode> = new Set(['CONNECTION_LOST', 'STREAM_RESET', 'HEADERS_TIMEOUT', 'BODY_TIMEOUT', 'MALFORMED_RESPONSE']);

/** `idempotent` is the caller's word; without it the method decides. POST and PATCH never repeat on their own. */
export function mayRepeat(method: string | undefined, idempotent: boolean | undefined): boolean {
  return idempotent ?? IDEMPOTENT_METHODS.has((method ?? 'GET').toUpperCase());
}

export function isTransportFailure(error: LifelineError): boolean {
  return TRANSPORT_FAILURES.has(error.code);
}

/** How many connections `pool.request` tries for a request that died before it was written. */
export const UNSENT_ATTEMPTS = 3;

/** Whether a failed request may be replayed: it died unanswered on a reused connection (the stale race). */
function staleRace(error: LifelineError): boolean {
  return error.code === 'CONNECTION_LOST' && error.delivery === 'unanswered' && error.reused === true;
}

/** What one `pool.request` call may still spend on sending again. */
export interface RepeatBudget {
  /** Connections tried so far for a request that never left. */
  unsent: number;
  /** Resends left for a stream refused by its connection's GOAWAY (above its last id): one per connection of the pool. */
  goaways: number;
  retries: number;
  replay: boolean;
}

/** The budget of a request on a pool of `connections`: resends always; replays and retries only when it is safe to repeat. */
export function repeatBudget(method: string | undefined, idempotent: boolean | undefined, retry: number, replay: boolean, connections: number): RepeatBudget {
  const repeatable = mayRepeat(method, idempotent);
  return { unsent: 1, goaways: connections, retries: repeatable ? retry : 0, replay: repeatable && replay };
}

/** The attempt that follows `error`, spending the budget, or undefined when the caller gets the error. */
export function nextAttempt(budget: RepeatBudget, error: LifelineError, timeLeft: boolean): Attempt | undefined {
  // A server's FIN can land between the grant and the write: the request dies queued,
  // unsent, and goes out on the next connection instead (which is healing meanwhile).
  // Not a retry: the server saw nothing, whatever the method. Nor is an HTTP/2 stream the server
  // refused unprocessed (REFUSED_STREAM, or above its GOAWAY's last stream id; RFC 9113, 8.7).
  // Refused by its connection's GOAWAY, it spends nothing of that until each connection could have refused it.
  if (error.delivery === 'unsent' && error.code === 'STREAM_REFUSED' && error.cause instanceof AboveGoaway && budget.goaways > 0) {
    budget.goaways--;
    return 'resend';
  }
  if (error.delivery === 'unsent' && (error.code === 'CONNECTION_LOST' || error.code === 'STREAM_REFUSED') && budget.unsent++ < UNSENT_ATTEMPTS) return 'resend';
  if (!timeLeft) return undefined;
  // The stale race: the server closed the reused connection as the request crossed it.
  // It may have seen the request, so only an idempotent one goes again, once.
  if (budget.replay && staleRace(error)) {
    budget.replay = false;
    return 'replay';
  }
  if (budget.retries > 0 && isTransportFailure(error)) {
    budget.retries--;
    return 'retry';
  }
  return undefined;
}
