/**
 * `pool.dispatcher`: the pool as an undici `Dispatcher`, for code written for `fetch` or undici.
 *
 * ```ts
 * const pool = await ClientPool.connect({ url: 'https://api.example.com', connections: 4 });
 * const res = await fetch('https://api.example.com/ticker', { dispatcher: pool.dispatcher });
 * await undici.request('https://api.example.com/ticker', { dispatcher: pool.dispatcher });
 * const retrying = pool.dispatcher.compose(interceptors.retry({ statusCodes: [503] }));
 * ```
 *
 * Every request takes a lease as `pool.request` does (acquireTimeout while it waits), runs on
 * that slot's connection (the pool's headersTimeout and bodyTimeout, maxBodySize on the bytes
 * as they come), and gives the slot back when the response is over: a connection that ended,
 * said `Connection: close` or was aborted is retired and redialed in the background. A request
 * for another origin than the pool's is refused (ORIGIN_MISMATCH), as are upgrades and
 * CONNECT, which would take the connection out of the pool (INVALID_REQUEST). With a governor,
 * each request takes weight 1 with its lease and spends it at its send; with `sign`, each attempt
 * is signed at its send, and a body the hook cannot see (a stream) is refused (SIGN_FAILED).
 *
 * A view of the pool rather than the pool itself: `Dispatcher` has its own `request`,
 * `close` and `destroy`, and `ClientPool.request` already means something else.
 */
import { Dispatcher } from 'undici';
import { LifelineError } from '../errors.js';
import { flattenHeaders, mergeHeaders } from '../transport/headers.js';
import { toCallbackHandler, type CallbackHandler } from './handler-api.js';
import { PooledRequest, type DispatchOwner } from './pooled-request.js';
import { unsignableBody } from './governor/sign.js';

/** What the dispatcher needs of its pool. */
export interface DispatcherPool extends DispatchOwner {
  /** Every origin of the pool, `scheme://host:port` (URL.origin). */
  readonly origins: readonly string[];
  /** The pool's default headers, flattened: sent with every request that does not set them itself. */
  readonly headers: readonly string[];
  close(): Promise<void>;
}

/** undici's flat header array (`[name, value, name, value]`) as pairs, the form lifeline's header checks read. */
function pairsOf(flat: readonly unknown[]): [string, unknown][] {
  if (flat.length % 2 !== 0) throw new LifelineError('INVALID_REQUEST', `Expected \`headers\` as a flat array to hold name, value pairs, got ${flat.length} items`);
  const pairs: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([String(flat[i]), flat[i + 1]]);
  return pairs;
}

/** The origin a request names, as URL.origin writes it, or undefined when it names none that parses. */
function originOf(origin: unknown): string | undefined {
  if (origin instanceof URL) return origin.origin;
  if (typeof origin !== 'string') return undefined;
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
}

export class LifelineDispatcher extends Dispatcher {
  readonly #pool: DispatcherPool;

  /** @internal Made by the pool: `pool.dispatcher`. */
  constructor(pool: DispatcherPool) {
    super();
    this.#pool = pool;
  }

  /**
   * undici's entry point: sends `options` through the pool and tells `handler` how it goes, in
   * either generation of the handler API (callbacks as fetch's, or a controller as interceptors').
   * Returns true: requests never queue here, they wait for a slot in the pool.
   */
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (typeof handler !== 'object' || handler === null) {
      throw new LifelineError('INVALID_REQUEST', `Expected the dispatch handler to be an object, got ${handler === null ? 'null' : typeof handler}`);
    }
    const caller: CallbackHandler = toCallbackHandler(handler);
    let sent: Dispatcher.DispatchOptions;
    try {
      sent = this.#checked(options);
    } catch (error) {
      // As undici's own dispatchers: bad options reach the handler, never the caller of dispatch().
      caller.onError?.(error as Error);
      return false;
    }
    new PooledRequest(this.#pool, sent, caller).start();
    return true;
  }

  /** The options to send: refused with a coded error if the pool cannot send them; with the pool's headers. */
  #checked(options: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
    if (typeof options !== 'object' || options === null) throw new LifelineError('INVALID_REQUEST', 'Expected dispatch options to be an object');
    const origins = this.#pool.origins;
    // No origin: the pool's. fetch and undici.request write URL.origin, so a string compare settles most.
    const given = options.origin;
    if (given !== undefined && !(typeof given === 'string' && origins.includes(given))) {
      const origin = originOf(given);
      if (origin === undefined) throw new LifelineError('INVALID_REQUEST', 'Expected `origin` to be a URL or a string that parses as one');
      if (!origins.includes(origin)) {
        throw new LifelineError('ORIGIN_MISMATCH', `the pool's dispatcher sends to ${origins.join(', ')} only, got a request for ${origin}`);
      }
    }
    if (options.upgrade || options.method === 'CONNECT') {
      throw new LifelineError('INVALID_REQUEST', 'upgrade and CONNECT requests take the connection out of the pool: use an undici Client for them');
    }
    const sign = this.#pool.sign;
    if (sign) {
      // The hook signs the body too: one it cannot see is refused, not signed without it.
      const unsignable = unsignableBody(options.body);
      if (unsignable) throw unsignable;
    }
    const defaults = this.#pool.headers;
    // A signer adds its headers to a flat array: the request's own, in whichever form, are flattened first.
    if (defaults.length === 0 && !sign) return options;
    const headers = options.headers;
    const own = headers == null ? [] : flattenHeaders(Array.isArray(headers) && !Array.isArray(headers[0]) ? pairsOf(headers) : headers, 'INVALID_REQUEST', 'headers');
    return { ...options, headers: mergeHeaders(defaults, own) };
  }

  /** Closes the pool (`pool.close()`): requests in flight get up to its drainTimeout. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const closing = this.#pool.close();
    if (!callback) return closing;
    closing.then(callback, callback);
  }

  /** As `close()`: a pool has one way to close, bounded by its drainTimeout. */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const callback = typeof first === 'function' ? first : second;
    return callback ? this.close(callback) : this.close();
  }
}
