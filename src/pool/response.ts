/**
 * A complete HTTP response: status, headers and the whole body in one Buffer.
 * 4xx and 5xx are responses, not errors: the caller decides what they mean.
 */
export type ResponseHeaders = Record<string, string | string[]>;

export class LifelineResponse {
  readonly status: number;
  readonly statusText: string;
  readonly body: Buffer;
  readonly #rawHeaders: Buffer[];
  #headers: ResponseHeaders | undefined;

  constructor(status: number, statusText: string, rawHeaders: Buffer[], body: Buffer) {
    this.status = status;
    this.statusText = statusText;
    this.#rawHeaders = rawHeaders;
    this.body = body;
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

  text(): string {
    return this.body.toString('utf8');
  }

  /** Parses the body as JSON; a body that is not JSON throws a SyntaxError, as `JSON.parse` does. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}
