/**
 * The two generations of undici's dispatch handler, as the pool's dispatcher meets them:
 *
 * - the callback API (`onConnect(abort)`, `onHeaders(status, rawHeaders, resume)`, `onData`
 *   returning false to pause, `onComplete`, `onError`): what `fetch` speaks, Node 20's bundled
 *   undici 6 and undici 7 alike, and `undici.request`; what an undici `Client` speaks inside;
 * - the controller API (`onRequestStart(controller)`, `onResponseStart`, `onResponseData`,
 *   `onResponseEnd`, `onResponseError`, and `controller.pause()`/`resume()`/`abort()`): what
 *   undici 7's interceptors (retry, decompress, dns, cache) hand down a composed chain.
 *
 * The dispatcher works in the callback API, as the slot's `Client` does, and turns a
 * controller-API handler into one here: the same translation as undici's own UnwrapHandler
 * (lib/handler/unwrap-handler.js), which undici does not export.
 */
import { util, type Dispatcher } from 'undici';
import { LifelineError } from '../errors.js';

/** A handler of the callback API; every method is optional, as undici calls them. */
export interface CallbackHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Buffer[] | string[] | null): void;
  onError?(error: Error): void;
}

/** Whether undici would call `handler` through the controller API (its own test: UnwrapHandler.unwrap). */
function speaksControllerApi(handler: Dispatcher.DispatchHandler): boolean {
  return typeof handler.onRequestStart === 'function';
}

/** `handler` in the callback API: itself, or a translation of a controller-API handler. Throws INVALID_REQUEST for one that can hear no error. */
export function toCallbackHandler(handler: Dispatcher.DispatchHandler): CallbackHandler {
  if (speaksControllerApi(handler)) {
    if (typeof handler.onResponseError !== 'function') throw missingErrorHandler('onResponseError');
    return new ControllerHandler(handler);
  }
  if (typeof handler.onError !== 'function') throw missingErrorHandler('onError');
  return handler as CallbackHandler;
}

function missingErrorHandler(method: string): LifelineError {
  return new LifelineError('INVALID_REQUEST', `Expected the dispatch handler to have an \`${method}\` method: without one no error could reach it`);
}

const parse = (raw: Buffer[] | string[] | null | undefined) => (raw ? util.parseHeaders(raw) : {});

/** A controller-API handler behind the callback API; it is also the controller that handler is given. */
class ControllerHandler implements CallbackHandler, Dispatcher.DispatchController {
  readonly #handler: Dispatcher.DispatchHandler;
  #abort: ((reason?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  rawHeaders: Buffer[] | null = null;
  rawTrailers: Buffer[] | string[] | null = null;

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#abort?.(reason);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#abort = abort;
    this.#handler.onRequestStart?.(this, context);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    this.#resume = resume;
    this.rawHeaders = rawHeaders;
    this.#handler.onResponseStart?.(this, status, parse(rawHeaders), statusText);
    return !this.#paused;
  }

  onData(chunk: Buffer): boolean {
    this.#handler.onResponseData?.(this, chunk);
    return !this.#paused;
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    this.rawTrailers = trailers;
    this.#handler.onResponseEnd?.(this, parse(trailers));
  }

  onError(error: Error): void {
    this.#handler.onResponseError!(this, error);
  }
}
