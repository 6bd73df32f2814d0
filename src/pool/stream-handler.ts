/**
 * The undici handler of one streamed request (`lease.stream`, `pool.stream`): the head is
 * handed over as soon as it arrives, the body flows into a `ResponseBody` at the reader's pace.
 *
 * ```
 *  onHeaders --> head(StreamedResponse) ........ the caller reads body
 *  onData ----> (decoder) --> body.deliver --full--> decoder paused / onData returns false:
 *     |                                                undici stops reading the socket
 *     |           body._read --> readMore --> decoder resumed, its drain / socket resumed
 *     |  over maxBodySize (raw, or decoded): BODY_TOO_LARGE
 *  onComplete --> done(ok): the connection is free, the body may still hold unread bytes
 *  onError ----> body fails with the coded error, done(error)
 *  the reader destroys the body / the lease is released / the body sits full past readTimeout:
 *     the request is aborted, done(error): its connection is retired, a clean end
 * ```
 *
 * undici holds its `bodyTimeout` while the socket is paused for the reader (a slow reader is
 * not a stalled server); `readTimeout` covers the other side, a reader that stopped reading.
 */
import { LifelineError } from '../errors.js';
import type { Clock } from '../clock.js';
import { poisonsConnection, requestError } from '../transport/error-map.js';
import { DispatchProgress } from './dispatch-progress.js';
import { decoderFor, tooLarge, type Coding, type Decompressor } from './decode.js';
import { overLimit, readHead, withoutEncoding, type CloseListener } from './request.js';
import { ResponseBody } from './response-body.js';
import { StreamedResponse } from './streamed-response.js';

export interface StreamLimits {
  /** The pool's `maxBodySize` (0: none), on the bytes received and, decoding, on the decoded bytes. */
  maxBodySize: number;
  decompress: boolean;
  /** How long the body may sit full and unread before the request is abandoned (ms). */
  readTimeout: number;
  clock: Clock;
}

/** How a streamed request reports: its head once, then its end once (or only its end, failing before a head). */
export interface StreamSettle {
  head(response: StreamedResponse): void;
  done(error: LifelineError | undefined, recycle: boolean): void;
}

export class StreamHandler extends DispatchProgress {
  readonly #limits: StreamLimits;
  readonly #connection: CloseListener;
  readonly #settle: StreamSettle;
  #recycle = false;
  /** undici delivered the whole body (onComplete): the request is over, a decoder may still be at work. */
  #received = false;
  #done = false;
  #size = 0;
  #decodedSize = 0;
  #body: ResponseBody | undefined;
  /** Set at the head when the body is to be decoded; the decoder opens on the first byte (decode.ts). */
  #coding: Coding | undefined;
  #decoder: Decompressor | undefined;
  #resume: (() => void) | undefined;
  /** undici is holding the socket for the reader. */
  #paused = false;
  #stall: unknown;

  constructor(limits: StreamLimits, connection: CloseListener, settle: StreamSettle) {
    super();
    this.#limits = limits;
    this.#connection = connection;
    this.#settle = settle;
  }

  /** Abort the request (release, signal, deadline, the reader gone); undici destroys the socket if it had started. */
  abort(error: LifelineError): void {
    // Once undici delivered the body the request is over: only the body (its decoder) is left to stop.
    if (this.#received) this.#fail(error);
    else if (this.#done) return;
    else if (this.undiciAbort) this.undiciAbort(error);
    else this.#fail(error);
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    this.noteHead();
    this.status = status;
    // 1xx (103 Early Hints): not the response yet, the final head follows.
    if (status < 200) return true;
    this.#resume = resume;
    const facts = readHead(rawHeaders, this.#connection);
    this.#recycle = facts.close;
    this.announcedKeepAlive = facts.keepAlive;
    const refused = overLimit(facts.contentLength, this.#limits.maxBodySize);
    if (refused) {
      this.undiciAbort?.(refused);
      return false;
    }
    // 204 and 304 have no body to decode: their headers stay as they came (a HEAD's too: lease.ts does not decode one).
    if (this.#limits.decompress && status !== 204 && status !== 304) this.#coding = facts.coding;
    this.#body = new ResponseBody({ readMore: () => this.#readMore(), abandoned: () => this.#abandoned() });
    // A decoded body's content-encoding and content-length describe bytes the reader never sees.
    this.#settle.head(new StreamedResponse(status, statusText, this.#coding ? withoutEncoding(rawHeaders) : rawHeaders, this.#body));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#done) return false;
    this.#size += chunk.length;
    const refused = overLimit(this.#size, this.#limits.maxBodySize);
    if (refused) {
      this.undiciAbort?.(refused);
      return false;
    }
    if (this.#coding) {
      this.#decoder ??= this.#openDecoder(chunk);
      return this.#holdIf(!this.#decoder.write(chunk));
    }
    return this.#holdIf(!this.#body!.deliver(chunk));
  }

  onComplete(): void {
    if (this.#done) return;
    this.#received = true;
    // An empty body (HEAD, 204, 304) opened no decoder: it is empty, not a truncated stream.
    if (this.#decoder) this.#decoder.end();
    else this.#body!.finish();
    this.#end(undefined, this.#recycle);
  }

  onError(error: Error): void {
    this.#fail(requestError(error, this.status > 0));
  }

  /** Pauses the socket when the body (or the decoder in front of it) is full, and starts the reader's clock. */
  #holdIf(full: boolean): boolean {
    if (!full) return true;
    this.#paused = true;
    this.#stall ??= this.#limits.clock.setTimeout(() => {
      this.#stall = undefined;
      this.abort(new LifelineError('READ_TIMEOUT', `the streamed response body sat unread for ${this.#limits.readTimeout} ms; its request was abandoned`));
    }, this.#limits.readTimeout);
    return false;
  }

  /** The reader asked for more. */
  #readMore(): void {
    if (this.#decoder) {
      // Its output flows again; the socket resumes on its drain (below), once zlib has room.
      this.#decoder.resume();
      return;
    }
    this.#resumeSocket();
  }

  #resumeSocket(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#clearStall();
    if (!this.#done) this.#resume?.();
  }

  #openDecoder(first: Buffer): Decompressor {
    const decoder = decoderFor(this.#coding!, first);
    const body = this.#body!;
    const max = this.#limits.maxBodySize;
    decoder.on('data', (out: Buffer) => {
      this.#decodedSize += out.length;
      if (max > 0 && this.#decodedSize > max) {
        this.abort(tooLarge(max, true));
        return;
      }
      if (!body.deliver(out)) decoder.pause();
    });
    decoder.on('drain', () => this.#resumeSocket());
    decoder.on('end', () => body.finish());
    decoder.on('error', (error) => {
      this.abort(new LifelineError('BODY_DECODE_FAILED', `the ${this.#coding} response body could not be decoded: ${error.message}`, { cause: error }));
    });
    return decoder;
  }

  /** The reader destroyed the body before its end. */
  #abandoned(): void {
    this.abort(new LifelineError('REQUEST_ABORTED', 'the streamed response body was destroyed before its end'));
  }

  #clearStall(): void {
    if (this.#stall === undefined) return;
    this.#limits.clock.clearTimeout(this.#stall);
    this.#stall = undefined;
  }

  #fail(error: LifelineError): void {
    // After undici's end, a failure is the body's alone (decoding, the reader gone): the connection settled clean.
    if (!this.#received) {
      if (this.#done) return;
      this.failure = error;
      this.#end(error, poisonsConnection(error));
    }
    this.#decoder?.destroy();
    this.#body?.fail(error);
  }

  #end(error: LifelineError | undefined, recycle: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearStall();
    this.#settle.done(error, recycle);
  }
}
