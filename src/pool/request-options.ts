/**
 * The per-call options of `lease.request`, `pool.request` and `pool.acquire`,
 * read once and checked before anything is acquired or sent. Whatever a caller
 * hands in (a wrong type, NaN, a getter or a Proxy that throws, a signal that is
 * no AbortSignal), the call rejects with `INVALID_REQUEST` naming the field, and
 * saying what was expected and what came, never echoing a string's content. No
 * later step can read a value other than the one checked, and none can throw:
 * a TypeError thrown after a slot is granted would leave it busy forever, and
 * one thrown inside the supervisor's reply would fail the supervisor (issue 14).
 */
import { types } from 'node:util';
import { LifelineError } from '../errors.js';
import { describeValue, isInstance, MAX_TIMEOUT } from '../validate.js';
import { flattenHeaders } from '../transport/headers.js';
import { MAX_RETRIES } from './options.js';
import type { CheckedRequest, RequestOptions } from './request.js';
import { isStreamedBody, type RequestBody } from './request-body.js';
import { checkPriority, checkSignRequest, checkWeight } from './governor/checks.js';
import type { BudgetFields } from './governor/request-fields.js';
import type { Priority } from './governor/governor-options.js';

export interface AcquireOptions extends BudgetFields {
  /** How long to wait for a free connection (ms). Default: the pool's `acquireTimeout`. */
  timeout?: number;
  /** Aborting it rejects the wait with `ACQUIRE_ABORTED`. */
  signal?: AbortSignal;
}

export interface PoolRequestOptions extends RequestOptions {
  /** How long to wait for a free connection (ms). Default: the pool's `acquireTimeout`. */
  timeout?: number;
  /**
   * Times a request that failed in transport (`CONNECTION_LOST`, `HEADERS_TIMEOUT`,
   * `BODY_TIMEOUT`, `MALFORMED_RESPONSE`) is sent again, each time on a fresh
   * acquire (another connection: the failed one is recycling), and never past
   * `deadline`. Only requests safe to repeat are: see `idempotent`. Default: the pool's `retry`.
   */
  retry?: number;
  /**
   * Whether repeating this request is harmless. Default: true for GET, HEAD, OPTIONS,
   * TRACE, PUT and DELETE, false otherwise; say `true` for a POST that carries an
   * idempotency key the server deduplicates on.
   */
  idempotent?: boolean;
  /**
   * Replay this request once, on another connection, if it dies on a reused connection
   * before any byte of its response arrived (the stale race), and it is idempotent (see
   * `idempotent`). Default: the pool's `replay` (true).
   */
  replay?: boolean;
}

/** What `pool.request` reads of its options beyond a lease request's. */
export const POOL_REQUEST_KEYS = ['timeout', 'retry', 'idempotent', 'replay'] as const;

/** RFC 9110 token characters: what a method may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Methods sent upper-cased whatever case they are given in, as fetch does (fetch
 * leaves `patch` alone; nobody means a method called `patch`). Other methods are
 * case-sensitive (RFC 9110, 9.1) and are sent as given.
 */
const NORMALIZED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH']);
/** What undici writes as the request line's target: visible ASCII (a space or a control would split the line). */
const PATH = /^\/[\x21-\x7e]*$/;
/** A lone UTF-16 surrogate (a u-flag regex sees a well-formed pair as one code point): encodeURIComponent throws on it. */
const LONE_SURROGATE = /\p{Cs}/u;
/** The `content-type` a `json` request carries unless its own headers set one. */
const JSON_CONTENT_TYPE = 'application/json';
/** A query key short and plain enough to name in a message. */
const NAMEABLE_KEY = /^[\w.\-[\]]{1,64}$/;

export function invalidRequest(field: string, expected: string, got: unknown): LifelineError {
  return new LifelineError('INVALID_REQUEST', `Expected \`${field}\` to be ${expected}, got ${describeValue(got)}`);
}

function unreadable(field: string): LifelineError {
  return new LifelineError('INVALID_REQUEST', `Expected \`${field}\` to be readable, got a getter that threw`);
}

/** An integer in `[min, max]`, or undefined. */
function checkInteger(field: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidRequest(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/**
 * An AbortSignal, or one that behaves as one (from another realm: a vm context,
 * jsdom): `aborted` a boolean, `addEventListener` and `removeEventListener`
 * functions. Anything else is refused. A genuine signal of this realm is used as
 * it is; any other is wrapped so that none of its methods can throw into the
 * pool (a throw inside the supervisor's reply would fail it): a method that
 * throws is treated as a signal that never fires.
 */
export function checkSignal(field: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  let ok = false;
  try {
    const like = value as Partial<AbortSignal>;
    ok =
      typeof value === 'object' &&
      value !== null &&
      typeof like.aborted === 'boolean' &&
      typeof like.addEventListener === 'function' &&
      typeof like.removeEventListener === 'function';
    // This realm's own signal, no Proxy, its own methods: nothing it does can throw, so no wrapper.
    const native =
      ok &&
      !types.isProxy(value) &&
      value instanceof AbortSignal &&
      like.addEventListener === EventTarget.prototype.addEventListener &&
      like.removeEventListener === EventTarget.prototype.removeEventListener;
    if (native) return value;
  } catch {
    ok = false;
  }
  if (!ok) throw invalidRequest(field, 'an AbortSignal', value);
  return guardedSignal(value as AbortSignal);
}

/** The parts of a signal the pool uses, each guarded: nothing it does can throw. */
function guardedSignal(signal: AbortSignal): AbortSignal {
  const guarded = {
    get aborted(): boolean {
      try {
        return signal.aborted === true;
      } catch {
        return false;
      }
    },
    get reason(): unknown {
      try {
        return signal.reason;
      } catch {
        return undefined;
      }
    },
    addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void {
      try {
        signal.addEventListener(type, listener, options);
      } catch {
        // A signal that cannot be listened to never fires: the request runs to its own end.
      }
    },
    removeEventListener(type: string, listener: () => void): void {
      try {
        signal.removeEventListener(type, listener);
      } catch {
        // nothing to undo
      }
    },
  };
  return guarded as unknown as AbortSignal;
}

function checkMethod(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw invalidRequest('method', 'an HTTP method (a token such as GET or POST)', value);
  }
  const upper = value.toUpperCase();
  if (upper === 'CONNECT') throw invalidRequest('method', 'a method other than CONNECT (a pooled connection is not a tunnel)', value);
  return NORMALIZED_METHODS.has(upper) ? upper : value;
}

function checkPath(value: unknown): string {
  if (typeof value !== 'string' || !PATH.test(value)) {
    throw invalidRequest('path', 'a string starting with `/`, of visible ASCII characters (percent-encode the rest)', value);
  }
  return value;
}

function checkBody(value: unknown): RequestBody | undefined {
  if (value === undefined || typeof value === 'string' || isInstance(value, Uint8Array) || isStreamedBody(value)) return value as RequestBody | undefined;
  throw invalidRequest('body', 'a string, a Buffer, a Uint8Array, a Readable, a web ReadableStream or an async iterable', value);
}

/**
 * `json` as the body's text. What `JSON.stringify` throws on (a BigInt, a cycle, a
 * `toJSON` or a getter that throws) or turns into nothing (a function, a symbol) is
 * refused; its error goes in `cause`, not in the message, which names no content.
 */
function checkJson(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    const kind = error instanceof Error ? error.name : 'an error';
    throw new LifelineError('INVALID_REQUEST', `Expected \`json\` to be a value JSON.stringify can serialise, got ${describeValue(value)} it threw on (${kind}, see cause)`, {
      cause: error,
    });
  }
  if (text === undefined) throw invalidRequest('json', 'a value JSON.stringify can serialise', value);
  return text;
}

/** `json` becomes the body, typed `application/json` unless the request's own headers say otherwise. */
function jsonAsBody(copy: Record<string, unknown>): void {
  if (copy.json === undefined) return;
  if (copy.body !== undefined) throw new LifelineError('INVALID_REQUEST', 'Expected one of `body` and `json`, got both');
  copy.body = copy.json;
  delete copy.json;
  const headers = (copy.headers as string[] | undefined) ?? [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-type') return;
  copy.headers = [...headers, 'content-type', JSON_CONTENT_TYPE];
}

function checkBoolean(field: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalidRequest(field, 'a boolean', value);
}

function checkDeadline(value: unknown): number | undefined {
  if (value === undefined || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw invalidRequest('deadline', 'a finite number of ms since the epoch (Date.now() + budget)', value);
}

/** A query value as it goes on the wire: a string, a finite number, a boolean or a bigint. */
function queryItem(field: string, item: unknown): string {
  if (typeof item === 'string') {
    if (LONE_SURROGATE.test(item)) throw new LifelineError('INVALID_REQUEST', `Expected \`${field}\` to be well-formed Unicode, got a string with a lone surrogate`);
    return item;
  }
  if ((typeof item === 'number' && Number.isFinite(item)) || typeof item === 'boolean' || typeof item === 'bigint') return String(item);
  throw invalidRequest(field, 'a string, a finite number, a boolean or a bigint, or an array of them', item);
}

/**
 * The query as checked plain data, every value a string: an object whose values are
 * strings, numbers, booleans or bigints, or arrays of them (the key repeats);
 * `undefined` values are left out. Keys and values must be well-formed Unicode.
 */
function checkQuery(value: unknown): Record<string, string[]> | undefined {
  if (value === undefined) return undefined;
  let keys: string[];
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidRequest('query', 'an object', value);
    keys = Object.keys(value);
  } catch (error) {
    if (error instanceof LifelineError) throw error;
    throw new LifelineError('INVALID_REQUEST', 'Expected `query` to be a plain object, got one whose keys cannot be listed');
  }
  const query: Record<string, string[]> = {};
  for (const key of keys) {
    if (LONE_SURROGATE.test(key)) {
      throw new LifelineError('INVALID_REQUEST', `Expected \`query\` keys to be well-formed Unicode, got a key of ${key.length} characters with a lone surrogate`);
    }
    const field = NAMEABLE_KEY.test(key) ? `query.${key}` : 'query';
    let items: unknown[];
    try {
      const raw = (value as Record<string, unknown>)[key];
      items = Array.isArray(raw) ? Array.from({ length: raw.length as number }, (_, i) => (raw as unknown[])[i]) : [raw];
    } catch {
      throw unreadable(field);
    }
    const strings: string[] = [];
    for (const item of items) if (item !== undefined) strings.push(queryItem(field, item));
    if (strings.length > 0) query[key] = strings;
  }
  return query;
}

/** How each per-call option is checked, by name; the checked value replaces the given one. */
const CHECKS: Record<string, (value: unknown) => unknown> = {
  method: checkMethod,
  path: checkPath,
  query: checkQuery,
  headers: (value) => (value === undefined ? undefined : flattenHeaders(value, 'INVALID_REQUEST', 'headers')),
  body: checkBody,
  json: checkJson,
  headersTimeout: (value) => checkInteger('headersTimeout', value, 1, MAX_TIMEOUT),
  bodyTimeout: (value) => checkInteger('bodyTimeout', value, 1, MAX_TIMEOUT),
  signal: (value) => checkSignal('signal', value),
  deadline: checkDeadline,
  timeout: (value) => checkInteger('timeout', value, 0, MAX_TIMEOUT),
  retry: (value) => checkInteger('retry', value, 0, MAX_RETRIES),
  idempotent: (value) => checkBoolean('idempotent', value),
  replay: (value) => checkBoolean('replay', value),
  decompress: (value) => checkBoolean('decompress', value),
  readTimeout: (value) => checkInteger('readTimeout', value, 1, MAX_TIMEOUT),
  maxBodySize: (value) => checkInteger('maxBodySize', value, 0, Number.MAX_SAFE_INTEGER),
  weight: checkWeight,
  priority: checkPriority,
  sign: checkSignRequest,
};

const REQUEST_KEYS = ['method', 'path', 'query', 'headers', 'body', 'json', 'decompress', 'headersTimeout', 'bodyTimeout', 'signal', 'deadline', 'weight', 'priority', 'sign'] as const;

/**
 * The request options as checked plain data, each field read once, here. `extra`
 * names the fields a caller of `pool.request` adds (`timeout`, `retry`, `idempotent`, `replay`).
 * Headers come back flattened (`[name, value, ...]`, names lower-cased), the query
 * as strings, a foreign signal guarded, `json` serialised into `body`. Throws `INVALID_REQUEST`, naming the field.
 */
export function readRequest<T extends RequestOptions>(options: T, extra: readonly (keyof T & string)[] = []): CheckedRequest<T> {
  if (typeof options !== 'object' || options === null) throw invalidRequest('options', 'an object', options);
  const copy = {} as Record<string, unknown>;
  readInto(copy, options, REQUEST_KEYS);
  readInto(copy, options, extra);
  jsonAsBody(copy);
  return copy as CheckedRequest<T>;
}

function readInto(copy: Record<string, unknown>, options: object, keys: readonly string[]): void {
  for (const key of keys) {
    let value: unknown;
    try {
      value = (options as Record<string, unknown>)[key];
    } catch {
      throw unreadable(key);
    }
    // An option left out stays out, unchecked (every check passes undefined through), but the
    // one that is required: a request names most of its 20 options by leaving them out.
    if (value === undefined && key !== 'path') continue;
    const checked = CHECKS[key] ? CHECKS[key](value) : value;
    if (checked !== undefined) copy[key] = checked;
  }
}

export interface CheckedAcquireOptions {
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  weight: number | undefined;
  priority: Priority | undefined;
}

/** `pool.acquire`'s options, read once and checked as a request's are (`INVALID_REQUEST`). */
export function readAcquire(options: unknown): CheckedAcquireOptions {
  if (options === undefined) return { timeout: undefined, signal: undefined, weight: undefined, priority: undefined };
  if (typeof options !== 'object' || options === null) throw invalidRequest('options', 'an object', options);
  const copy: Record<string, unknown> = {};
  readInto(copy, options, ['timeout', 'signal', 'weight', 'priority']);
  return {
    timeout: copy.timeout as number | undefined,
    signal: copy.signal as AbortSignal | undefined,
    weight: copy.weight as number | undefined,
    priority: copy.priority as Priority | undefined,
  };
}
