/**
 * One request on an HTTP/2 connection: a node:http2 stream driving the same undici dispatch
 * handler an HTTP/1.1 request drives (`onConnect`, `onHeaders`, `onData`, `onComplete`,
 * `onError`), so the lease's handlers, error codes and replay rules serve both protocols.
 *
 * ```
 *  session.request --> onConnect(abort) ... from here the server may see it
 *  'response' ------> onHeaders(status, raw pairs, resume): false pauses the stream
 *  'data' ----------> onData: false pauses the stream (the reader's backpressure)
 *  'end' -----------> onComplete
 *  'close' before the end:
 *     rstCode REFUSED_STREAM, or an id above a GOAWAY's last id (whatever its code) .. STREAM_REFUSED (not processed;
 *                                                  above a GOAWAY's last id, its cause is an AboveGoaway)
 *     the connection died under it ............................................. CONNECTION_LOST
 *     any other RST_STREAM from the server ..................................... STREAM_RESET (this request only)
 *  headersTimeout / bodyTimeout, on the pool's clock (stream-timer.ts) ......... HEADERS_TIMEOUT / BODY_TIMEOUT
 *  abort(reason) (lease: deadline, signal, release) --> RST_STREAM CANCEL, onError(reason)
 * ```
 *
 * Nothing a single stream does ends its connection: a reset or an abort costs that stream alone.
 */
import http2 from 'node:http2';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { LifelineError } from '../errors.js';
import { StreamTimer } from './stream-timer.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Headers HTTP/2 forbids (RFC 9113, 8.2.2): dropped from a request rather than refused by node:http2. */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** What a stream needs from its connection. */
export interface StreamHost {
  readonly session: http2.ClientHttp2Session;
  /** `host:port`, the `:authority` of every request. */
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  /** Whether the connection is gone: a stream closed under it lost its connection, not its own reset. */
  readonly dead: boolean;
  /** The last stream id of the server's GOAWAY (the lowest, if several came), or Infinity: a stream above it was not processed. */
  readonly lastStreamId: number;
  /** The pool's clock and its time (ms): the stream's headers and body timeouts run on them. */
  readonly clock: Clock;
  readonly now: () => number;
}

/**
 * The cause of a STREAM_REFUSED whose stream was above the last stream id of the server's GOAWAY: the
 * connection's end refused it, not the server's judgment of the request. A reload or a restart ends every
 * connection within milliseconds, so such a stream may meet several ending connections in a row before a
 * new one: `pool/retry.ts` resends it without spending the tries of other refusals.
 */
export class AboveGoaway extends Error {
  override readonly name = 'AboveGoaway';
  constructor(readonly lastStreamId: number) {
    super(`the stream was above the last stream id (${lastStreamId}) of the server's GOAWAY`);
  }
}

type Headers = Dispatcher.DispatchOptions['headers'];

/** The request's headers as node:http2 takes them: names lower-cased, repeated names as arrays. */
function toH2Headers(given: Headers, out: http2.OutgoingHttpHeaders): void {
  if (given == null) return;
  const add = (name: unknown, value: unknown) => {
    if (value === undefined) return;
    const key = String(name).toLowerCase();
    if (CONNECTION_HEADERS.has(key)) return;
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    const had = out[key];
    out[key] = had === undefined ? (values.length === 1 ? values[0]! : values) : [...(Array.isArray(had) ? had : [String(had)]), ...values];
  };
  if (Array.isArray(given)) {
    // undici's flat form, [name, value, name, value...], or [name, value] pairs.
    if (given.length > 0 && Array.isArray(given[0])) for (const [name, value] of given as unknown as [unknown, unknown][]) add(name, value);
    else for (let i = 0; i + 1 < given.length; i += 2) add(given[i], given[i + 1]);
  } else if (typeof (given as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of given as Iterable<[string, string]>) add(name, value);
  } else {
    for (const name of Object.keys(given)) add(name, (given as Record<string, unknown>)[name]);
  }
}

/** A response's headers as undici's raw pairs, pseudo-headers left out. */
function rawPairs(headers: http2.IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const each of value) raw.push(Buffer.from(name, 'latin1'), Buffer.from(each, 'latin1'));
    else if (value !== undefined) raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(value), 'latin1'));
  }
  return raw;
}

/** The body as a stream to pipe, or undefined when it is written whole (or absent). */
function bodyStream(body: unknown): Readable | undefined {
  if (body == null || typeof body === 'string' || body instanceof Uint8Array) return undefined;
  if (body instanceof Readable) return body;
  if (typeof (body as ReadableStream).getReader === 'function') return Readable.fromWeb(body as import('node:stream/web').ReadableStream);
  return Readable.from(body as AsyncIterable<unknown>);
}

/**
 * Sends `options` as one stream on `host` and reports to `handler`; a session that takes no more
 * streams (closing after a GOAWAY, or gone) fails it as unsent CONNECTION_LOST, before `onConnect`.
 */
export function dispatchStream(host: StreamHost, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
  const headers: http2.OutgoingHttpHeaders = {
    ':method': options.method,
    ':path': options.path,
    ':scheme': host.scheme,
    ':authority': host.authority,
  };
  toH2Headers(options.headers, headers);
  const body = options.body;
  let piped: Readable | undefined;
  try {
    piped = bodyStream(body);
  } catch (error) {
    // A body neither bytes nor a stream nor iterable (the dispatcher passes undici's callers' own): nothing went out.
    handler.onError?.(new LifelineError('INVALID_REQUEST', 'the request body is not a string, bytes, a stream or an async iterable', { cause: error }));
    return;
  }
  let stream: http2.ClientHttp2Stream;
  try {
    stream = host.session.request(headers, { endStream: body == null });
  } catch (error) {
    // Closing (GOAWAY) or destroyed: nothing went out. `onConnect` never came, so the lease reads it as unsent.
    handler.onError?.(new LifelineError('CONNECTION_LOST', 'the HTTP/2 connection takes no new streams (closing or closed)', { cause: error }));
    return;
  }
  let done = false;
  let answered = false;
  /** The response's trailers as raw pairs (undici's onComplete takes an array, empty when none came). */
  let trailers: Buffer[] = [];
  let paused = false;
  const headersTimeout = options.headersTimeout ?? host.headersTimeout;
  const bodyTimeout = options.bodyTimeout ?? host.bodyTimeout;
  const timer = new StreamTimer(host.clock, host.now, () => {
    const error = answered
      ? new LifelineError('BODY_TIMEOUT', `body timeout: the HTTP/2 response body stalled for ${bodyTimeout} ms`)
      : new LifelineError('HEADERS_TIMEOUT', `headers timeout: no HTTP/2 response head within ${headersTimeout} ms`);
    abort(error);
  });
  const finish = (error: Error | undefined) => {
    if (done) return;
    done = true;
    timer.stop();
    if (error) handler.onError?.(error);
    else handler.onComplete?.(trailers as unknown as string[]);
  };
  const abort = (reason?: Error) => {
    if (done) return;
    if (!stream.closed) stream.close(NGHTTP2_CANCEL);
    finish(reason ?? new LifelineError('REQUEST_ABORTED', 'the request was aborted while in flight'));
  };
  handler.onConnect?.(abort);
  if (done) {
    // The handler gave up on it at once (aborted before it was handed over).
    return;
  }
  // The wait for the head counts from the request's last byte written (a long upload is not a stalled server).
  timer.start(headersTimeout);
  const resume = () => {
    if (!paused || done) return;
    paused = false;
    timer.start(bodyTimeout);
    stream.resume();
  };
  const hold = () => {
    paused = true;
    // A reader that holds the body is not a stalled server: the body timeout waits for it (as undici's does).
    timer.stop();
    stream.pause();
  };
  // 1xx heads ('headers' events) are not the response: as undici's HTTP/1.1 parser does, they are not passed on.
  stream.on('response', (head: http2.IncomingHttpHeaders) => {
    if (done) return;
    answered = true;
    timer.start(bodyTimeout);
    if (handler.onHeaders?.(Number(head[':status']), rawPairs(head), resume, '') === false) hold();
  });
  stream.on('data', (chunk: Buffer) => {
    if (done) return;
    timer.touch();
    if (handler.onData?.(chunk) === false) hold();
  });
  stream.on('trailers', (received: http2.IncomingHttpHeaders) => {
    trailers = rawPairs(received);
  });
  stream.on('end', () => {
    if (answered) finish(undefined);
  });
  // 'error' always comes with a 'close', which judges the stream: listening keeps it from being thrown.
  stream.on('error', () => {});
  stream.on('close', () => {
    if (done) return;
    const code = stream.rstCode ?? NGHTTP2_NO_ERROR;
    // nghttp2 closes the streams above a GOAWAY's last id as REFUSED_STREAM, but a GOAWAY with an error
    // code destroys the session first, and they close as lost: the id tells them apart.
    if (!answered && (code === NGHTTP2_REFUSED_STREAM || (stream.id !== undefined && stream.id > host.lastStreamId))) {
      const last = host.lastStreamId;
      const cause = Number.isFinite(last) && (stream.id === undefined || stream.id > last) ? new AboveGoaway(last) : undefined;
      finish(new LifelineError('STREAM_REFUSED', 'the HTTP/2 server refused the stream (REFUSED_STREAM, or above its GOAWAY last stream id): it did not process the request', { cause }));
    } else if (host.dead || code === NGHTTP2_NO_ERROR) {
      finish(new LifelineError('CONNECTION_LOST', `the HTTP/2 connection was lost ${answered ? 'before the response was complete' : 'before any response'}`));
    } else {
      finish(new LifelineError('STREAM_RESET', `the HTTP/2 server reset the stream (error code ${code}) ${answered ? 'during the response' : 'before any response'}`));
    }
  });
  // undici's legacy handler hook for "the whole request was written", which its type no longer names.
  const sent = () => {
    if (!answered && !done) timer.start(headersTimeout);
    (handler as { onRequestSent?: () => void }).onRequestSent?.();
  };
  if (body == null) {
    sent();
    return;
  }
  if (piped) {
    piped.on('error', (error) => abort(new LifelineError('INVALID_REQUEST', `the request body failed: ${error.message}`, { cause: error })));
    // While the body goes out the server is not expected to answer: each chunk restarts the wait.
    piped.on('data', () => timer.touch());
    piped.pipe(stream);
    stream.once('finish', sent);
  } else {
    stream.end(body as string | Uint8Array, sent);
  }
}
