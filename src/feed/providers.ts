/**
 * A feed's URL and headers as functions, called before every connect: a venue's
 * user-data stream whose listen key is fetched over REST, a token that expires.
 *
 * A provider runs inside the connect, with its signal, under `connectTimeout`.
 * Whatever goes wrong with it (a throw, a rejection, no answer in time, a value
 * that is no URL or no headers) fails that connect with `CONNECT_FAILED`, named
 * after the option: the feed backs off and calls it again, as for a refused dial.
 * Nothing a provider does can surface as an unhandled rejection.
 */
import { LifelineError } from '../errors.js';
import type { FeedClock, FeedEndpoint } from '../machines/feed.js';
import { flattenHeaders, type HeaderInput } from '../transport/headers.js';
import { checkUrl, checkUrlList } from '../validate.js';

/** What a provider is called with. */
export interface ProviderContext {
  /** Aborted when the connect is abandoned: the feed closed, or the provider took longer than `connectTimeout`. */
  signal: AbortSignal;
}

/** Returns the URL of the next connect (`ws://` or `wss://`), at once or as a promise. */
export type UrlProvider = (context: ProviderContext) => string | URL | PromiseLike<string | URL>;

/** Returns the upgrade request's headers for the next connect, at once or as a promise. */
export type HeadersProvider = (context: ProviderContext) => HeaderInput | PromiseLike<HeaderInput>;

const SCHEMES = ['ws:', 'wss:'];
const KIND = 'a ws:// or wss://';

/** An endpoint as given and checked, before the feed seals it: a URL as `new URL` writes it, or a provider. */
export type CheckedEndpoint = string | UrlProvider;

/** `url` or `urls`, checked: a URL as `new URL` writes it (the same URL matches itself in `setUrls`), a provider as it is. */
export function checkEndpoints(url: unknown, urls: unknown): CheckedEndpoint[] {
  return checkUrlList(url, urls, KIND, Infinity, (field, value) =>
    typeof value === 'function' ? (value as UrlProvider) : checkUrl(field, value, SCHEMES, KIND).href,
  );
}

/** How a provider is called: bounded in time on the feed's clock, abandoned with the connect. */
export interface ProviderCall {
  signal: AbortSignal;
  /** `connectTimeout` (ms). */
  timeout: number;
  clock: FeedClock;
}

/** The URL of the next connect to `endpoint`, named `field` (`url`, `urls[1]`) in errors. */
export async function endpointUrl(endpoint: FeedEndpoint, field: string, call: ProviderCall): Promise<string> {
  if (typeof endpoint !== 'function') return endpoint.reveal();
  const value = await callProvider(field, endpoint as UrlProvider, call);
  return asConnectFailure(() => checkUrl(`${field}()`, value, SCHEMES, KIND).href);
}

/** The headers of the next connect, given (already checked) or from the `headers` provider. */
export async function connectHeaders(
  headers: Record<string, string> | HeadersProvider | undefined,
  call: ProviderCall,
): Promise<{ headers: Record<string, string> | undefined; flat: string[] }> {
  if (typeof headers !== 'function') return { headers, flat: [] };
  const value = await callProvider('headers', headers, call);
  const flat = asConnectFailure(() => flattenHeaders(value, 'CONNECT_FAILED', 'headers()'));
  return { headers: headerRecord(flat), flat };
}

/** Checked headers as ws takes them: an object, a repeated name's values joined. */
export function headerRecord(flat: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    headers[name] = name in headers ? `${headers[name]}, ${flat[i + 1]}` : flat[i + 1]!;
  }
  return headers;
}

/** A check of a provider's value: its INVALID_OPTIONS (naming `url()`, `headers()`) fails the connect instead. */
function asConnectFailure<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof LifelineError && error.code === 'CONNECT_FAILED') throw error;
    throw new LifelineError('CONNECT_FAILED', error instanceof LifelineError ? error.message : `the value of a provider could not be read`, { cause: error });
  }
}

/**
 * Calls `provider` a turn later (a synchronous throw becomes a rejection), with a signal that
 * aborts when the connect is abandoned or `timeout` passes; settles with its value or a
 * `CONNECT_FAILED` naming `field`. A provider that never settles is left behind, handled.
 */
function callProvider<T>(field: string, provider: (context: ProviderContext) => T | PromiseLike<T>, call: ProviderCall): Promise<T> {
  const failure = (reason: string, cause?: unknown) => new LifelineError('CONNECT_FAILED', `the \`${field}\` provider ${reason}`, { cause });
  if (call.signal.aborted) return Promise.reject(failure('was not called: the connect was abandoned'));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      call.clock.clearTimeout(timer);
      call.signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const abandon = (reason: string) =>
      settle(() => {
        controller.abort(failure(reason));
        reject(failure(reason));
      });
    const onAbort = () => abandon('was abandoned: the connect was cancelled');
    const timer = call.clock.setTimeout(() => abandon(`did not answer within connectTimeout (${call.timeout} ms)`), call.timeout);
    call.signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(() => provider({ signal: controller.signal }))
      .then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(failure('failed (see cause)', error))),
      );
  });
}
