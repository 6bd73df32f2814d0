/**
 * Which failed requests `pool.request` may send again, when the caller asked
 * for retries. Only requests that are safe to repeat: a method that is
 * idempotent by definition (RFC 9110, 9.2.2), or one the caller marks so (a POST
 * carrying an idempotency key). Only failures of the transport, where the
 * server's answer was lost rather than given: a status code, however bad, is
 * an answer and is returned as it is.
 */
import type { ErrorCode } from '../errors.js';
import type { LifelineError } from '../errors.js';

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The connection failed under the request; another connection may well succeed. */
const TRANSPORT_FAILURES: ReadonlySet<ErrorCode> = new Set(['CONNECTION_LOST', 'HEADERS_TIMEOUT', 'BODY_TIMEOUT', 'MALFORMED_RESPONSE']);

/** `idempotent` is the caller's word; without it the method decides. POST and PATCH never repeat on their own. */
export function mayRepeat(method: string | undefined, idempotent: boolean | undefined): boolean {
  return idempotent ?? IDEMPOTENT_METHODS.has((method ?? 'GET').toUpperCase());
}

export function isTransportFailure(error: LifelineError): boolean {
  return TRANSPORT_FAILURES.has(error.code);
}
