/**
 * A complete HTTP response: status, headers and the whole body in one Buffer.
 * 4xx and 5xx are responses, not errors: the caller decides what they mean.
 */
export type ResponseHeaders = Record<string, string | string[]>;

/** Status and headers: what a whole response (below) and a streamed one (streamed-response.ts) share. */
export class ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly #rawHeaders: Buffer[];
  #headers: ResponseHeaders | undefined;

  constructor(status: number, statusText: string, rawHeaders: Buffer[]) {
    this.status = status;
    this.statusText = statusText;
    this.#rawHeaders = rawHeaders;
  }

  /** True for 2xx statuses. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Header names lower-cased; a repeated header is an array. Parsed on first access only. */
  get headers(): ResponseHeaders {
    if (this.#headers) return this.#headers;
    const headers: ResponseHeaders = {};
    const raw = this.#rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1').toLowerCase();
      const value = raw[i + 1]!.toString('latin1');
      const existing = headers[name];
      if (existing === undefined) headers[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else headers[name] = [existing, value];
    }
    this.#headers = headers;
    return headers;
  }
}

export class LifelineResponse extends ResponseHead {
  readonly body: Buffer;

  constructor(status: number, statusText: string, rawHeaders: Buffer[], body: Buffer) {
    super(status, statusText, rawHeaders);
    this.body = body;
  }

  text(): string {
    return this.body.toString('utf8');
  }

  /** Parses the body as JSON; a body that is not JSON throws a SyntaxError, as `JSON.parse` does. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}
