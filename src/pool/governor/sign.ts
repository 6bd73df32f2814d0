/**
 * Request signing at send time: the `sign` hook sees each attempt as it will go out (a
 * resend, a replay or a retry is signed again, with a fresh timestamp: a venue refuses a
 * stale or reused signature) and returns the headers and query parameters to add.
 *
 * ```ts
 * sign: ({ query, body, timestamp }) => {
 *   const payload = `${query ? `${query}&` : ''}timestamp=${timestamp}`;
 *   const signature = createHmac('sha256', secret).update(payload + (body ?? '')).digest('hex');
 *   return { query: { timestamp: String(timestamp), signature } };
 * }
 * ```
 *
 * The added values go on the wire only: errors, diagnostics and the recorder never carry a
 * path, a query or a header of a request, and a hook that throws is reported by the name of
 * its error alone (its message could quote the key).
 */
import type { Dispatcher } from 'undici';
import { LifelineError } from '../../errors.js';
import { flattenHeaders, mergeHeaders } from '../../transport/headers.js';
import { describeValue } from '../../validate.js';

/** What a `sign` hook sees of one attempt. */
export interface SignRequest {
  /** The method as sent. */
  readonly method: string;
  /** The path as sent (the pool's `basePath` included), without its query. */
  readonly path: string;
  /** The query as sent, percent-encoded, without `?`; '' when there is none. What the hook adds goes after it. */
  readonly query: string;
  /** The body as sent, if any. */
  readonly body: string | Uint8Array | undefined;
  /** `Date.now()` at this attempt's send. */
  readonly timestamp: number;
  /** Which attempt of a `pool.request` this is: `first`, `resend`, `replay` or `retry`. */
  readonly attempt: string;
}

/** What a `sign` hook adds: headers (over the request's own) and query parameters, appended in their order. */
export interface SignResult {
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

/** Signs one attempt of a request; called synchronously, just before the send. */
export type SignHook = (request: SignRequest) => SignResult | undefined;

function signFailed(detail: string): LifelineError {
  const error = new LifelineError('SIGN_FAILED', `the \`sign\` hook ${detail}; nothing was sent`);
  error.delivery = 'unsent';
  return error;
}

/**
 * SIGN_FAILED for a body a hook cannot see (a stream, an iterable: fetch sends every body so), else
 * undefined. The pool's dispatcher refuses such a signed request rather than sign it without its body.
 */
export function unsignableBody(body: unknown): LifelineError | undefined {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return undefined;
  return signFailed('cannot see a body sent as a stream or an iterable (fetch sends every body so): send it as a string or bytes (undici.request, pool.request)');
}

/** `dispatch` with what `sign` adds, or SIGN_FAILED (nothing is sent). */
export function signDispatch(dispatch: Dispatcher.DispatchOptions, sign: SignHook, attempt: string): Dispatcher.DispatchOptions | LifelineError {
  const full = dispatch.path;
  const mark = full.indexOf('?');
  const path = mark < 0 ? full : full.slice(0, mark);
  const query = mark < 0 ? '' : full.slice(mark + 1);
  const body = dispatch.body as string | Uint8Array | null | undefined;
  let result: SignResult | undefined;
  try {
    result = sign({ method: dispatch.method, path, query, body: body ?? undefined, timestamp: Date.now(), attempt });
  } catch (error) {
    return signFailed(`threw ${error instanceof Error ? `a ${error.name}` : describeValue(error)}`);
  }
  if (result === undefined) return dispatch;
  let added = '';
  let headers = dispatch.headers as string[];
  try {
    if (typeof result !== 'object' || result === null) throw signFailed(`returned ${describeValue(result)} instead of { headers?, query? }`);
    const { headers: extraHeaders, query: extraQuery } = result;
    if (extraQuery !== undefined) {
      if (typeof extraQuery !== 'object' || extraQuery === null) throw signFailed(`returned a query that is ${describeValue(extraQuery)}, not an object`);
      for (const key of Object.keys(extraQuery)) {
        const value: unknown = extraQuery[key];
        if (typeof value !== 'string') throw signFailed(`returned a query value that is ${describeValue(value)}, not a string`);
        added += `${added || query ? '&' : ''}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
      }
    }
    if (extraHeaders !== undefined) headers = mergeHeaders(headers, flattenHeaders(extraHeaders, 'SIGN_FAILED', 'sign().headers'));
  } catch (error) {
    if (error instanceof LifelineError) {
      error.delivery = 'unsent';
      return error;
    }
    return signFailed('returned something that cannot be read');
  }
  return { ...dispatch, path: added ? `${full}${mark < 0 ? '?' : ''}${added}` : full, headers };
}
