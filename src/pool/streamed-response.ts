/**
 * A response whose body is a stream (`lease.stream`, `pool.stream`): status and headers as
 * soon as the head arrives, the body a Node Readable read at the caller's pace.
 * 4xx and 5xx are responses, not errors, as with `LifelineResponse`.
 */
import { ResponseHead } from './response.js';
import type { ResponseBody } from './response-body.js';

export class StreamedResponse extends ResponseHead {
  /**
   * The body, as it arrives (decoded with `decompress`). Read it to its end, or destroy it:
   * until then its connection is busy. Errors are `LifelineError`s with their code.
   */
  readonly body: ResponseBody;

  constructor(status: number, statusText: string, rawHeaders: Buffer[], body: ResponseBody) {
    super(status, statusText, rawHeaders);
    this.body = body;
  }
}
