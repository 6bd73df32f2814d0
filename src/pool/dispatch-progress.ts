/**
 * What the handlers of a lease's request share (request.ts: the body collected whole;
 * stream-handler.ts: the body as a stream): undici's abort for the request, and how far the
 * request got, which the lease reads to judge the connection's end and to tell the caller
 * whether the server may have acted (`outcomeOf` in lease.ts).
 */
import type { LifelineError } from '../errors.js';
import { wallNow, type StepTimes } from './request-trace.js';

export abstract class DispatchProgress {
  /** undici's abort for the request, from onConnect. */
  protected undiciAbort: ((reason?: Error) => void) | undefined;
  /** Why the request was given up on, once it was. */
  protected failure: LifelineError | undefined;
  /** The response's status; 0 until its head came. */
  protected status = 0;
  /** The server's idle timeout from the response's `Keep-Alive` header (ms), or -1. */
  protected announcedKeepAlive = -1;
  #started = false;
  /** The step times to fill in, while requests are watched (request-trace.ts); else undefined. */
  steps: StepTimes | undefined;

  /** The server's idle timeout for this connection from the response's `Keep-Alive` header (ms), or -1. */
  get keepAlive(): number {
    return this.announcedKeepAlive;
  }

  /** Whether undici has taken the request to write it: from then on the server may see it. */
  get started(): boolean {
    return this.#started;
  }

  /** Whether any of a response arrived (its head): the server received the request and acted. */
  get answered(): boolean {
    return this.status > 0;
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.undiciAbort = abort;
    if (!this.failure) this.#started = true;
    // Given up on (aborted, past its deadline) while undici still held it queued: undici
    // would write it now. Abort it here, before the write: the caller was told it was not sent.
    if (this.failure) abort(this.failure);
  }

  /** undici handed the whole request to the socket. */
  onRequestSent(): void {
    if (this.steps) this.steps.written = wallNow();
  }

  /** The response head arrived: its time, for a watched request (each handler's onHeaders calls it first). */
  protected noteHead(): void {
    if (this.steps && this.steps.headers < 0) this.steps.headers = wallNow();
  }
}
