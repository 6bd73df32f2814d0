/**
 * One request on one connection: build undici dispatch options, send them with
 * a small legacy-style handler that collects the body into a Buffer (decoding it
 * on the way with `decompress`: decode.ts), and settle with a response or a `LifelineError`.
 *
 * The handler is undici's own callback protocol (onConnect, onHeaders, onData,
 * onComplete, onError) rather than `request()`: no stream, no extra promise per
 * chunk, and `maxBodySize` is enforced as bytes arrive.
 */
import type { Dispatcher } from 'undici';
import { LifelineError } from '../errors.js';
import { poisonsConnection, requestError } from '../transport/error-map.js';
import { mergeHeaders, type HeaderInput } from '../transport/headers.js';
import { BodyDecoder, codingOf, tooLarge, type Coding } from './decode.js';
import { DispatchProgress } from './dispatch-progress.js';
import type { RequestBody } from './request-body.js';
import { LifelineResponse } from './response.js';
import type { StepTimes } from './request-trace.js';
import type { BudgetFields, SignFields } from './governor/request-fields.js';

/** A query value; a bigint is sent in decimal. Non-finite numbers and lone surrogates are refused. */
export type QueryValue = string | number | boolean | bigint;
export type Query = Record<string, QueryValue | readonly (QueryValue | undefined)[] | undefined>;

export interface RequestOptions extends BudgetFields, SignFields {
  /** Default `GET`. */
  method?: string;
  /** Appended to the pool's `basePath`; must start with `/`. */
  path: string;
  /** Encoded and appended to the path. `undefined` values are left out; arrays repeat the key. */
  query?: Query;
  /**
   * Merged over the pool's default headers (same name: this one wins). An object, or
   * `[name, value]` pairs: an array of pairs, a `Map` or a fetch `Headers`.
   */
  headers?: HeaderInput;
  /**
   * The request body: a string or bytes as given, or streamed from a Readable, a web ReadableStream
   * or an async iterable (never sent twice once a byte may have gone out). Not with `json`. Default none.
   */
  body?: RequestBody;
  /**
   * A value sent as JSON: the body is `JSON.stringify(json)`, and `content-type` is
   * `application/json` unless this request's own `headers` set one (over a pool default,
   * which is for plain bodies). Not with `body`. A value JSON cannot serialise (a BigInt, a
   * cycle, a `toJSON` that throws, a function) is `INVALID_REQUEST`, the error in `cause`,
   * and nothing is acquired or sent. Default none.
   *
   * ```ts
   * const res = await pool.request({ method: 'POST', path: '/order', json: { symbol: 'BTCUSDT', qty: 1 } });
   * ```
   */
  json?: unknown;
  /** Overrides the pool's `headersTimeout` for this request (ms). */
  headersTimeout?: number;
  /** Overrides the pool's `bodyTimeout` for this request (ms). */
  bodyTimeout?: number;
  /**
   * Ask for a compressed response (`accept-encoding: gzip, deflate, br`, unless `headers`
   * name one) and decode a gzip, deflate or br body; `maxBodySize` bounds the decoded size.
   * Default: the pool's `decompress` (true).
   */
  decompress?: boolean;
  /** Aborts the request (`REQUEST_ABORTED`); with `pool.request` it also aborts the wait for a connection. */
  signal?: AbortSignal;
  /**
   * The time (ms since the epoch, as `Date.now()`) by which the whole response must be in:
   * with `pool.request` the wait for a connection, the send and the read all fit in it. A
   * request whose deadline has passed is not sent; one in flight is aborted and its connection
   * recycled. Either way it rejects with `DEADLINE_EXCEEDED`. Default: none.
   */
  deadline?: number;
}

/** What the pool fixes for every request it sends. */
export interface RequestDefaults {
  basePath: string;
  headers: string[];
  /** `headers` asking for a compressed response (`accept-encoding`), sent when decoding. */
  decompressingHeaders: string[];
  maxBodySize: number;
  decompress: boolean;
}

/** `key=value&...`, percent-encoded; a key repeats for each of its values (checked by readRequest: nothing here throws). */
export function encodeQuery(query: Readonly<Record<string, readonly string[]>>): string {
  let out = '';
  for (const key of Object.keys(query)) {
    const name = encodeURIComponent(key);
    for (const item of query[key]!) out += `${out ? '&' : ''}${name}=${encodeURIComponent(item)}`;
  }
  return out;
}

/** Request options as `readRequest` leaves them: checked, headers flattened, each query value a string, `json` made the body. */
export type CheckedRequest<T extends RequestOptions = RequestOptions> = Omit<T, 'headers' | 'query' | 'json'> & {
  headers?: string[];
  query?: Record<string, string[]>;
};

/** The dispatch options of a checked request: nothing here can throw (readRequest checked it all). */
export function buildDispatch(options: CheckedRequest, defaults: RequestDefaults): Dispatcher.DispatchOptions {
  const { path, method = 'GET', body } = options;
  let fullPath = defaults.basePath ? defaults.basePath + path : path;
  if (options.query) {
    const encoded = encodeQuery(options.query);
    if (encoded) fullPath += (fullPath.includes('?') ? '&' : '?') + encoded;
  }
  // The pool's headers, with `accept-encoding` when decoding (made once per pool); the request's own win.
  const base = (options.decompress ?? defaults.decompress) ? defaults.decompressingHeaders : defaults.headers;
  const headers = options.headers ? mergeHeaders(base, options.headers) : base;
  // undici streams an async iterable or a web ReadableStream as it does a Readable; its DispatchOptions type names only the latter.
  const dispatch: Dispatcher.DispatchOptions = { path: fullPath, method, headers, body: (body ?? null) as Dispatcher.DispatchOptions['body'] };
  if (options.headersTimeout !== undefined) dispatch.headersTimeout = options.headersTimeout;
  if (options.bodyTimeout !== undefined) dispatch.bodyTimeout = options.bodyTimeout;
  return dispatch;
}

/**
 * A final response head on one of the pool's connections, as both ways a request runs read it
 * (the pool's own handler below, the dispatcher's in pooled-request.ts): its facts, and the
 * connection told of a `Connection: close` at once, so its slot dials the replacement while the
 * body is still on its way.
 */
export function readHead(rawHeaders: Buffer[], connection: CloseListener): HeaderFacts {
  const facts = readHeaderFacts(rawHeaders);
  if (facts.close) connection.announceClose();
  return facts;
}

/** BODY_TOO_LARGE for `bytes` of body (declared, or received so far) over `maxBodySize` (0: none); else undefined. */
export function overLimit(bytes: number, maxBodySize: number): LifelineError | undefined {
  return maxBodySize > 0 && bytes > maxBodySize ? tooLarge(maxBodySize) : undefined;
}

/** What the pool needs from a response's headers, read in one pass over undici's raw pairs. */
export interface HeaderFacts {
  /** `Connection: close`: the connection must not be reused. */
  close: boolean;
  /** The declared body length, or -1 when none is declared. */
  contentLength: number;
  /** How long the server keeps the connection open while idle (`Keep-Alive: timeout=N`), in ms; -1 when it does not say. */
  keepAlive: number;
  /** The `content-encoding` lifeline can decode, if the body has one. */
  coding: Coding | undefined;
}

function readHeaderFacts(rawHeaders: Buffer[]): HeaderFacts {
  const facts: HeaderFacts = { close: false, contentLength: -1, keepAlive: -1, coding: undefined };
  let encodings = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Compare lengths first: most headers are skipped without decoding their name.
    if (name.length === 10) {
      const lower = name.toString('latin1').toLowerCase();
      if (lower === 'connection') {
        if (/\bclose\b/i.test(rawHeaders[i + 1]!.toString('latin1'))) facts.close = true;
      } else if (lower === 'keep-alive') {
        const timeout = /(?:^|[\s,])timeout\s*=\s*(\d+)/i.exec(rawHeaders[i + 1]!.toString('latin1'));
        if (timeout) facts.keepAlive = Number(timeout[1]) * 1_000;
      }
    } else if (name.length === 14 && name.toString('latin1').toLowerCase() === 'content-length') {
      facts.contentLength = Number(rawHeaders[i + 1]!.toString('latin1'));
    } else if (name.length === 16 && name.toString('latin1').toLowerCase() === 'content-encoding') {
      // Two codings (two headers, or `gzip, br` in one) are left as they came: codingOf knows one only.
      facts.coding = ++encodings === 1 ? codingOf(rawHeaders[i + 1]!.toString('latin1')) : undefined;
    }
  }
  return facts;
}

/**
 * The undici handler for one request. `settle` is called exactly once, with the
 * response or the error, and whether the connection must be recycled.
 */
/** What the handler tells the connection: a response head that says the connection will close. */
export interface CloseListener {
  announceClose(): void;
}

export class CollectHandler extends DispatchProgress {
  #statusText = '';
  #rawHeaders: Buffer[] = [];
  #chunks: Buffer[] = [];
  #size = 0;
  #recycle = false;
  #done = false;
  /** undici delivered the whole body (onComplete); a decoder may still be at work on it. */
  #received = false;
  /** Decodes the body as it arrives (`decompress`, and a coding lifeline knows). */
  #decoder: BodyDecoder | undefined;
  readonly #decompress: boolean;
  readonly #maxBodySize: number;
  readonly #connection: CloseListener;
  readonly #settle: (error: LifelineError | undefined, response: LifelineResponse | undefined, recycle: boolean) => void;

  constructor(
    maxBodySize: number,
    decompress: boolean,
    connection: CloseListener,
    steps: StepTimes | undefined,
    settle: (error: LifelineError | undefined, response: LifelineResponse | undefined, recycle: boolean) => void,
  ) {
    super();
    this.#maxBodySize = maxBodySize;
    this.#decompress = decompress;
    this.#connection = connection;
    this.steps = steps;
    this.#settle = settle;
  }

  /** Abort the request; undici destroys the socket if the request had started. */
  abort(error: LifelineError): void {
    if (this.#done) return;
    // Once undici has delivered the body its request is over, and an abort would reach nobody.
    if (this.undiciAbort && !this.#received) this.undiciAbort(error);
    else this.#fail(error);
  }

  onHeaders(status: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    this.noteHead();
    this.status = status;
    this.#statusText = statusText;
    this.#rawHeaders = rawHeaders;
    const facts = readHead(rawHeaders, this.#connection);
    this.#recycle = facts.close;
    this.announcedKeepAlive = facts.keepAlive;
    const refused = overLimit(facts.contentLength, this.#maxBodySize);
    if (refused) {
      this.undiciAbort?.(refused);
      return false;
    }
    if (this.#decompress && facts.coding) {
      this.#decoder = new BodyDecoder(facts.coding, this.#maxBodySize, (error, body) => (error ? this.abort(error) : this.#complete(body!)));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    const refused = overLimit(this.#size, this.#maxBodySize);
    if (refused) {
      this.undiciAbort?.(refused);
      return false;
    }
    // The compressed bytes count against maxBodySize too (above); the decoder counts the decoded ones.
    if (this.#decoder) this.#decoder.write(chunk);
    else this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#done) return;
    this.#received = true;
    if (this.#decoder) {
      this.#decoder.end();
      return;
    }
    const chunks = this.#chunks;
    this.#complete(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
  }

  #complete(body: Buffer): void {
    if (this.#done) return;
    this.#done = true;
    // A decoded body's content-encoding and content-length describe bytes the caller never sees (as Go's net/http).
    const rawHeaders = this.#decoder?.decoded ? withoutEncoding(this.#rawHeaders) : this.#rawHeaders;
    this.#settle(undefined, new LifelineResponse(this.status, this.#statusText, rawHeaders, body), this.#recycle);
  }

  onError(error: Error): void {
    this.#fail(requestError(error, this.status > 0));
  }

  #fail(error: LifelineError): void {
    if (this.#done) return;
    this.#done = true;
    this.failure = error;
    this.#chunks = [];
    this.#decoder?.destroy();
    this.#settle(error, undefined, poisonsConnection(error));
  }
}

/** Raw header pairs without `content-encoding` and `content-length`. */
export function withoutEncoding(rawHeaders: Buffer[]): Buffer[] {
  const kept: Buffer[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if ((name.length === 16 || name.length === 14) && /^content-(encoding|length)$/i.test(name.toString('latin1'))) continue;
    kept.push(name, rawHeaders[i + 1]!);
  }
  return kept;
}
