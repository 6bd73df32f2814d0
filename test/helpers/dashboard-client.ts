/**
 * Reading a dashboard the way a browser does, over plain node:http: a GET, and
 * an event stream parsed as `EventSource` would parse it. Every byte received
 * is kept, so a test can search all of it for a secret.
 */
import http from 'node:http';
import { onTestFinished } from 'vitest';
import { pollFor } from './poll.js';

export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request on its own socket (no agent), so nothing stays open after the answer.
 * `path` is sent exactly as written (in `url`, dot segments would be resolved before it left).
 */
export function get(url: string, options: { method?: string; headers?: Record<string, string>; path?: string; body?: string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const { method = 'GET', headers, path } = options;
    const req = http.request(url, { agent: false, method, headers, ...(path !== undefined && { path }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SseEvent {
  event: string;
  data: any;
}

export class SseClient {
  /** Every byte received, as text. */
  raw = '';
  readonly events: SseEvent[] = [];
  /** Settles when the server ends the stream. */
  readonly ended: Promise<void>;
  readonly #req: http.ClientRequest;
  #pending = '';

  private constructor(req: http.ClientRequest, res: http.IncomingMessage) {
    this.#req = req;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.#receive(chunk));
    this.ended = new Promise((resolve) => res.on('close', resolve));
  }

  /** Opens the stream; resolves once the response headers are in. Closed when the test finishes. */
  static open(url: string): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.resume();
          reject(new Error(`not an event stream: ${res.statusCode} ${res.headers['content-type']}`));
          return;
        }
        const client = new SseClient(req, res);
        onTestFinished(() => client.close());
        resolve(client);
      });
      req.on('error', reject);
    });
  }

  /**
   * The first event at or after index `from` that `match` accepts, with its
   * index; polls on a short real interval, and fails after `timeout` ms with
   * the events seen (the bound limits a failing test, not a passing one).
   */
  async waitFor(match: (event: SseEvent) => boolean, what: string, from = 0, timeout = 10_000): Promise<{ event: SseEvent; index: number }> {
    return pollFor(
      () => {
        const index = this.events.findIndex((event, i) => i >= from && match(event));
        return index >= 0 ? { event: this.events[index]!, index } : undefined;
      },
      timeout,
      () => {
        const seen = this.events.filter((e) => e.event !== 'stats').map((e) => `${e.event} ${JSON.stringify(e.data)}`);
        return new Error(`${what}: not within ${timeout} ms; events other than stats: ${seen.join('\n')}`);
      },
    );
  }

  close(): void {
    this.#req.destroy();
  }

  /** The event-stream format: fields up to a blank line; `data` lines joined; comments and `retry` ignored. */
  #receive(chunk: string): void {
    this.raw += chunk;
    this.#pending += chunk;
    let end: number;
    while ((end = this.#pending.indexOf('\n\n')) >= 0) {
      const block = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) this.events.push({ event, data: JSON.parse(data.join('\n')) });
    }
  }
}
