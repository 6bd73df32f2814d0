/**
 * The body of a streamed response (`lease.stream`, `pool.stream`): a Node Readable that the
 * request's handler (stream-handler.ts) fills as undici reads the socket.
 *
 * - Backpressure: `deliver` returns false once the buffer is full, and the handler pauses the
 *   socket; the reader's next read (`_read`) asks the handler for more, which resumes it.
 * - A failure (BODY_TOO_LARGE, BODY_TIMEOUT, CONNECTION_LOST, ...) destroys the body with its
 *   coded error: `for await` and `pipeline` throw it, `body.errored` keeps it.
 * - The caller destroying the body before its end tells the handler, which aborts the request:
 *   its connection is retired (a clean end) and its slot comes back.
 *
 * The body listens for its own `'error'`: a body abandoned with an error nobody asked to hear
 * (released lease, unread stream) must not crash the process as an unhandled `'error'` would.
 */
import { Readable } from 'node:stream';
import type { LifelineError } from '../errors.js';

/** What the body tells the handler that fills it. */
export interface BodySource {
  /** The reader wants more: resume the socket (or the decoder) if it was paused. */
  readMore(): void;
  /** The body was destroyed before its end: stop the request. */
  abandoned(): void;
}

const ignore = (): void => {};

export class ResponseBody extends Readable {
  readonly #source: BodySource;

  constructor(source: BodySource) {
    super();
    this.#source = source;
    this.on('error', ignore);
  }

  /** Adds a chunk; false once the buffer is full (pause the source). */
  deliver(chunk: Buffer): boolean {
    if (this.destroyed) return false;
    return this.push(chunk);
  }

  /** The last byte is in. */
  finish(): void {
    if (!this.destroyed) this.push(null);
  }

  /** The request failed: the reader hears `error`. */
  fail(error: LifelineError): void {
    if (!this.destroyed) this.destroy(error);
  }

  override _read(): void {
    this.#source.readMore();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.readableEnded) this.#source.abandoned();
    callback(error);
  }
}
