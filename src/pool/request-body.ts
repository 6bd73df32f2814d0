/**
 * What a request body may be, and which bodies can be sent twice. A string or bytes can; a stream
 * or an iterable is spent as it is written, so a request carrying one is never replayed or retried
 * once a byte may have gone out: only a request that never left the process (unsent) is sent again,
 * its body untouched.
 */
import { Readable } from 'node:stream';
import { isInstance } from '../validate.js';

/** A body read as it is sent: a Node Readable, a web ReadableStream, or an async iterable of chunks. */
export type StreamedBody = Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** A request body: as given, or streamed. */
export type RequestBody = string | Uint8Array | StreamedBody;

/** A body undici can send twice: none, a string, bytes. A stream or an iterable (fetch's body) is spent once read. */
export function replayable(body: unknown): boolean {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/** Whether `value` is a body undici streams (checked without letting a hostile value throw). */
export function isStreamedBody(value: unknown): value is StreamedBody {
  if (isInstance(value, Readable) || isInstance(value, ReadableStream)) return true;
  try {
    return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
  } catch {
    return false;
  }
}
