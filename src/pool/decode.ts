/**
 * A response body decoded as it arrives (`decompress`): gzip, deflate or br, by the
 * response's `content-encoding`, through a node:zlib stream, with `maxBodySize`
 * applied to the decoded bytes.
 *
 * A zip bomb (10 MiB of zeros is 10 KiB of gzip) is stopped once its output passes
 * the limit: the stream is destroyed and nothing more is inflated, so what is held
 * is the limit plus one zlib chunk (16 KiB), whatever the ratio. The compressed
 * bytes are bounded by the same limit as they come in (request.ts), so a body that
 * inflates to nothing (empty gzip members, one after another) cannot run forever either.
 *
 *   write(chunk)* --> zlib --data--> counted, kept --end--> settle(undefined, body)
 *                       |                |
 *                     error          over the limit: destroy --> settle(BODY_TOO_LARGE)
 *                       v
 *              settle(BODY_DECODE_FAILED, cause: zlib's error)
 *
 * zlib works off the main thread, so the body is complete only after `end()` and a
 * turn or more: the caller settles the request when `settle` is called, not before.
 */
import zlib from 'node:zlib';
import { LifelineError } from '../errors.js';

/** The content-codings lifeline decodes. */
export type Coding = 'gzip' | 'deflate' | 'br';

/** What a request with `decompress` on sends as `accept-encoding`, unless its headers name one. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** Flattened headers (names lower-cased) that ask for a compressed response: `headers` themselves when they name an `accept-encoding`. */
export function askingCompression(headers: string[]): string[] {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'accept-encoding') return headers;
  return [...headers, 'accept-encoding', ACCEPT_ENCODING];
}

/**
 * The coding of a `content-encoding` value lifeline decodes, or undefined: for none,
 * `identity`, a coding it does not know, or several codings (the body is then left as it came).
 */
export function codingOf(value: string): Coding | undefined {
  switch (value.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    default:
      return undefined;
  }
}

export function tooLarge(max: number, decoded = false): LifelineError {
  return new LifelineError('BODY_TOO_LARGE', `the ${decoded ? 'decoded ' : ''}response body exceeded maxBodySize (${max} bytes)`);
}

const EMPTY = Buffer.alloc(0);

export type Decompressor = zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress;

/** `deflate` is zlib-wrapped by the RFC, raw in some servers: the first byte tells (CM = 8 in a zlib header), as undici's fetch does. */
export function decoderFor(coding: Coding, first: Buffer): Decompressor {
  switch (coding) {
    case 'gzip':
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'deflate':
      return (first[0]! & 0x0f) === 0x08 ? zlib.createInflate() : zlib.createInflateRaw();
  }
}

export class BodyDecoder {
  readonly #coding: Coding;
  readonly #max: number;
  readonly #settle: (error: LifelineError | undefined, body: Buffer | undefined) => void;
  /** Opened on the first byte: an empty body (HEAD, 204, 304) is empty, not a truncated stream. */
  #stream: Decompressor | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #done = false;

  constructor(coding: Coding, max: number, settle: (error: LifelineError | undefined, body: Buffer | undefined) => void) {
    this.#coding = coding;
    this.#max = max;
    this.#settle = settle;
  }

  /** Whether any byte was decoded: an empty body (HEAD, 204, 304) keeps its headers as they came. */
  get decoded(): boolean {
    return this.#stream !== undefined;
  }

  write(chunk: Buffer): void {
    if (this.#done) return;
    this.#stream ??= this.#open(chunk);
    this.#stream.write(chunk);
  }

  /** The last compressed byte is in: settles once zlib has flushed (or found the stream truncated). */
  end(): void {
    if (this.#done) return;
    if (this.#stream) this.#stream.end();
    else this.#finish(undefined, EMPTY);
  }

  /** Stops decoding and drops what was decoded; `settle` is not called. */
  destroy(): void {
    this.#done = true;
    this.#chunks = [];
    this.#stream?.destroy();
  }

  #open(first: Buffer): Decompressor {
    const stream = decoderFor(this.#coding, first);
    stream.on('data', (out: Buffer) => {
      if (this.#done) return;
      this.#size += out.length;
      if (this.#max > 0 && this.#size > this.#max) {
        this.#finish(tooLarge(this.#max, true), undefined);
        return;
      }
      this.#chunks.push(out);
    });
    stream.on('error', (error) => {
      this.#finish(new LifelineError('BODY_DECODE_FAILED', `the ${this.#coding} response body could not be decoded: ${error.message}`, { cause: error }), undefined);
    });
    stream.on('end', () => {
      const chunks = this.#chunks;
      this.#finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
    });
    return stream;
  }

  #finish(error: LifelineError | undefined, body: Buffer | undefined): void {
    if (this.#done) return;
    this.destroy();
    this.#settle(error, body);
  }
}
