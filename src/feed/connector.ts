/**
 * How a feed connects: the feed machine's opener. One connect at a time, cancelled
 * when the machine leaves `connecting`; each connect asks the providers (if any) for
 * its URL and headers, then dials through the dial limiter.
 */
import type { Cancel } from '../transport/cancel.js';
import { ConnectAttempt } from '../transport/connect-attempt.js';
import { limitedDial } from '../transport/dial-limiter.js';
import { openWebSocket, type MessageSink } from '../transport/websocket.js';
import { headerSecrets, redactUrl, urlSecrets } from '../redact.js';
import type { FeedConnection, FeedEndpoint, FeedOpener, FeedOpenOutcome } from '../machines/feed.js';
import { connectHeaders, endpointUrl, type ProviderCall } from './providers.js';
import type { ResolvedFeedOptions } from './options.js';

/** What `stats().url` says of a URL provider that has not answered yet. */
export const PROVIDER_LABEL = '(url provider)';

export class FeedConnector implements FeedOpener {
  readonly #options: ResolvedFeedOptions;
  readonly #sink: MessageSink;
  readonly #attempt = new ConnectAttempt();
  /** Connects in flight (at most one); close() waits until each has settled, and its socket with it. */
  readonly #opening = new Set<Promise<unknown>>();
  /** Whether the endpoints came as a list (`urls`, `setUrls`): errors then name `urls[i]`, else `url`. */
  listed: boolean;
  /** Connections opened (the first one included). */
  connections = 0;
  /** The endpoint of the current or last connect, as scheme://host:port. */
  url: string;

  constructor(options: ResolvedFeedOptions, sink: MessageSink) {
    this.#options = options;
    this.#sink = sink;
    this.listed = options.listed;
    const first = options.machine.urls[0]!;
    this.url = typeof first === 'function' ? PROVIDER_LABEL : redactUrl(first.reveal());
  }

  open(endpoint: FeedEndpoint, index: number, report: (outcome: FeedOpenOutcome) => void): void {
    const field = this.listed ? `urls[${index}]` : 'url';
    const opening = this.#attempt.start(
      (cancel) => this.#dial(endpoint, field, cancel),
      (connection) => report({ type: 'open.done', connection }),
      (error) => report({ type: 'open.error', error }),
    );
    this.#opening.add(opening);
    const settled = () => this.#opening.delete(opening);
    opening.then(settled, settled);
  }

  cancel(): void {
    this.#attempt.cancel();
  }

  /** Settles once no connect is under way, its socket (if any) gone. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#opening]);
  }

  async #dial(endpoint: FeedEndpoint, field: string, cancel: Cancel): Promise<FeedConnection> {
    const options = this.#options;
    // The URL and header providers and ws take an AbortSignal; the dial limiter's turn needs none.
    const signal = cancel.signal;
    const call: ProviderCall = { signal, timeout: options.connectTimeout, clock: options.machine.clock };
    const url = await endpointUrl(endpoint, field, call);
    const { headers, flat } = await connectHeaders(options.headers, call);
    if (typeof endpoint !== 'string' || flat.length > 0) {
      // Secrets known only now: scrubbed from what the recorder keeps, like those given at connect.
      const names = options.inspection.secretNames;
      options.inspection.redactor.remember([...urlSecrets(url, names), ...headerSecrets(flat, names)]);
    }
    this.url = redactUrl(url);
    const connection = await limitedDial(options.dialLimiter, cancel, () =>
      openWebSocket(
        {
          url,
          connectTimeout: options.connectTimeout,
          maxMessageSize: options.maxMessageSize,
          tls: options.tls,
          proxy: options.proxy,
          headers,
          protocols: options.protocols,
          perMessageDeflate: options.perMessageDeflate,
          clock: options.machine.clock,
          closeTimeout: options.closeTimeout,
          trackLastMessage: options.machine.staleAfter !== undefined,
          ref: options.ref,
        },
        signal,
        this.#sink,
      ),
    );
    if (signal.aborted) {
      // Opened just as the feed left `connecting` (closed): nobody will take it.
      connection.destroy();
      await connection.closed;
    } else {
      this.connections++;
    }
    return connection;
  }
}
