/**
 * One Server-Sent Events stream to one browser tab.
 *
 * SSE rather than a WebSocket: one-way is all a dashboard needs, it is plain
 * HTTP (no upgrade, nothing to add on the client), and `EventSource`
 * reconnects by itself, so a tab survives the process it watches restarting.
 */
import type http from 'node:http';
import type { PageEvents } from './protocol.js';

/**
 * Unsent bytes a stream may hold before it is dropped. A tab that stops reading
 * (a laptop lid closed) must not make the process it watches buffer without
 * bound; when it wakes, EventSource reconnects and gets a fresh snapshot.
 */
export const MAX_BUFFERED = 1 << 20;

/** How long EventSource waits before reconnecting (ms). */
const RETRY = 1_000;

export class EventStream {
  readonly #res: http.ServerResponse;
  readonly #cleanups: (() => void)[] = [];
  #open = true;

  constructor(res: http.ServerResponse) {
    this.#res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(`retry: ${RETRY}\n\n`);
    res.on('close', () => this.close());
  }

  /** Runs `cleanup` once when the stream closes, from either side. */
  onClose(cleanup: () => void): void {
    if (this.#open) this.#cleanups.push(cleanup);
    else cleanup();
  }

  /** Sends one event; `data` as one line of JSON (JSON escapes newlines, so it cannot break the framing). */
  send<E extends keyof PageEvents>(event: E, data: PageEvents[E]): void {
    if (!this.#open) return;
    if (this.#res.writableLength > MAX_BUFFERED) {
      this.#res.destroy();
      this.close();
      return;
    }
    this.#res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#res.end();
  }
}
