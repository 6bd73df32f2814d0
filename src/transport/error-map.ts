/**
 * Turns what undici reports into a lifeline code. The undici error stays in `cause`.
 */
import { errors } from 'undici';
import { LifelineError, type ErrorCode } from '../errors.js';

const BY_UNDICI_CODE: Record<string, ErrorCode> = {
  UND_ERR_HEADERS_TIMEOUT: 'HEADERS_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'BODY_TIMEOUT',
  UND_ERR_SOCKET: 'CONNECTION_LOST',
  UND_ERR_CLOSED: 'CONNECTION_LOST',
  UND_ERR_DESTROYED: 'CONNECTION_LOST',
  UND_ERR_CONNECT_TIMEOUT: 'CONNECTION_LOST',
  ECONNRESET: 'CONNECTION_LOST',
  EPIPE: 'CONNECTION_LOST',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'MALFORMED_RESPONSE',
  UND_ERR_HEADERS_OVERFLOW: 'MALFORMED_RESPONSE',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'BODY_TOO_LARGE',
  UND_ERR_INVALID_ARG: 'INVALID_REQUEST',
  UND_ERR_NOT_SUPPORTED: 'INVALID_REQUEST',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'INVALID_REQUEST',
  UND_ERR_ABORTED: 'REQUEST_ABORTED',
};

/**
 * undici reports a server speaking out of turn as a plain socket error, told
 * apart only by its message: a response while no request is in flight, or an
 * unasked-for 100 / 101. The bytes arrived; the server broke the protocol.
 */
const OUT_OF_TURN = new Set(['bad response', 'bad upgrade']);

export function toLifelineError(error: unknown): LifelineError {
  if (error instanceof LifelineError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  let mapped: ErrorCode = 'REQUEST_FAILED';
  if (code === 'UND_ERR_SOCKET' && OUT_OF_TURN.has((error as Error).message)) {
    mapped = 'MALFORMED_RESPONSE';
  } else if (typeof code === 'string') {
    mapped = BY_UNDICI_CODE[code] ?? (code.startsWith('HPE_') ? 'MALFORMED_RESPONSE' : 'REQUEST_FAILED');
  } else if (error instanceof errors.HTTPParserError) {
    // llhttp's verdict on bytes that are not HTTP/1.1. undici 7.30 means to code it `HPE_<reason>`
    // but looks the reason up in a name-to-number table, so `code` is undefined: match the class.
    mapped = 'MALFORMED_RESPONSE';
  } else if ((error as { name?: unknown } | null)?.name === 'AbortError') {
    mapped = 'REQUEST_ABORTED';
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new LifelineError(mapped, `${mapped === 'REQUEST_FAILED' ? 'request failed' : mapped.toLowerCase().replace(/_/g, ' ')}: ${detail}`, {
    cause: error,
  });
}

/**
 * After the response head was accepted, the server's FIN before the end of the
 * body it framed. undici reports that one event three ways: 'other side closed'
 * on a keep-alive connection (already CONNECTION_LOST), and, when the response
 * said `Connection: close`, a Content-Length mismatch or llhttp's "Invalid EOF
 * state" (chunked). The caller gets one code for it: the connection died in flight.
 */
function cutShort(error: Error): LifelineError | undefined {
  const code = (error as { code?: unknown }).code;
  if (code !== 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' && !(error instanceof errors.HTTPParserError && /\bInvalid EOF state\b/.test(error.message))) {
    return undefined;
  }
  return new LifelineError('CONNECTION_LOST', 'connection lost: the server closed before the response body was complete', { cause: error });
}

/**
 * What a request's undici error means to its caller. `answered`: a response head came, so undici
 * accepted it, and a framing error from there on is the body cut short.
 */
export function requestError(error: Error, answered: boolean): LifelineError {
  return (answered && cutShort(error)) || toLifelineError(error);
}

/** Only a request that was refused before anything was sent leaves its connection reusable. */
export function poisonsConnection(error: LifelineError): boolean {
  return error.code !== 'INVALID_REQUEST';
}

/**
 * Whether the socket refused to write the request: the write itself failed (`write ECONNRESET`,
 * `EPIPE`), because the peer had already reset or closed the connection. The kernel took none of
 * that write, so the server never had the request (a `read ECONNRESET` says nothing of the kind:
 * the write went through, and the server may have read it). `error` is a request's LifelineError.
 */
export function refusedWrite(error: LifelineError): boolean {
  const cause = error.cause as { syscall?: unknown; code?: unknown } | null | undefined;
  if (typeof cause !== 'object' || cause === null) return false;
  return cause.syscall === 'write' || cause.code === 'EPIPE';
}
