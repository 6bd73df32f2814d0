/**
 * What the fault HTTP server writes down of each request it receives, for a test to
 * read (`server.requestLog`): which requests reached the server, on which connection,
 * when, and with what, so a test can answer "was my order sent, and how many times?".
 *
 * Secrets are scrubbed as lifeline scrubs its own records (src/redact.ts): a header or
 * query parameter whose name looks secret (authorization, cookie, any name with key,
 * token, secret, signature, password, credential or session, plus the server's own
 * `secretNames`) is logged as `[redacted]`. Test logs get printed, pasted and uploaded.
 * The body is logged as it came: it is the order a test checks.
 */
import type http from 'node:http';
import { isSecretName, REDACTED } from '../redact.js';

export interface LoggedRequest {
  /** Its place among the requests the server received (0 for the first). */
  index: number;
  method: string;
  /** The request target, path and query, with the values of secret query parameters scrubbed. */
  path: string;
  /** As Node parsed them: names lower-cased; the values of secret headers scrubbed. */
  headers: Record<string, string | string[]>;
  /** The body received so far, as UTF-8 text ('' for none); `bodyComplete` once it has all come. */
  body: string;
  bodyComplete: boolean;
  /** When it arrived, on the server's clock (`clock.now()`; `performance.now()` for real time), in ms. */
  at: number;
  /** The connection it came on: its place among the connections the server accepted (0 for the first). */
  connection: number;
  /** Its place on that connection (1 for the first). */
  onConnection: number;
}

/** `path?a=1&api_key=s` → `path?a=1&api_key=[redacted]`: the target otherwise as sent. */
export function scrubTarget(target: string, extra: ReadonlySet<string>): string {
  const mark = target.indexOf('?');
  if (mark < 0) return target;
  const query = target
    .slice(mark + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals < 0 ? pair : pair.slice(0, equals);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {}
      return equals >= 0 && isSecretName(name, extra) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
  return `${target.slice(0, mark)}?${query}`;
}

/** The headers of `req` with the values of secret ones scrubbed. */
export function scrubHeaders(headers: http.IncomingHttpHeaders, extra: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = isSecretName(name, extra) ? (Array.isArray(value) ? value.map(() => REDACTED) : REDACTED) : value;
  }
  return out;
}

/**
 * Starts the log entry of `req`. The body is read as the HTTP parser hands it over
 * (`req.push`), not by listening to the stream: the handler reads the body as it would
 * without the log, even one answered after a delay or a hold.
 */
export function logRequest(
  req: http.IncomingMessage,
  where: { index: number; at: number; connection: number; onConnection: number },
  extra: ReadonlySet<string>,
): LoggedRequest {
  const entry: LoggedRequest = {
    index: where.index,
    method: req.method ?? '',
    path: scrubTarget(req.url ?? '', extra),
    headers: scrubHeaders(req.headers, extra),
    body: '',
    bodyComplete: req.complete,
    at: where.at,
    connection: where.connection,
    onConnection: where.onConnection,
  };
  if (entry.bodyComplete) return entry;
  const chunks: Buffer[] = [];
  const push = req.push;
  req.push = function (this: http.IncomingMessage, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) entry.bodyComplete = true;
    else if (chunk !== undefined) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), encoding));
      entry.body = Buffer.concat(chunks).toString('utf8');
    }
    return push.call(this, chunk, encoding);
  };
  return entry;
}
