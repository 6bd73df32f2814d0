/**
 * The metrics and diagnostics of one feed: its OpenTelemetry instruments (when
 * a `meter` is given) and its `diagnostics_channel` events (while subscribed).
 *
 * State changes come from a subscription to the feed actor's snapshots (a feed
 * gets no machine event per message). The one per-message hook is behind
 * `observesMessages`, false without a meter or a `lifeline:feed:message`
 * subscriber; with a meter it costs a `performance.now()` (for staleness), and
 * the message count is read from the feed's own counter at collection time.
 */
import type { MeterAttributes, MeterLike } from '../telemetry/meter.js';
import type { Subscription } from 'xstate';
import type { FeedActor } from '../machines/feed.js';
import type { FeedStats } from '../telemetry/stats.js';
import { feedState } from '../machines/feed.js';
import { errorCode, feedMessageChannel, feedStateChannel, publish } from '../telemetry/diagnostics.js';
import { feedInstruments, type FeedInstruments } from '../telemetry/otel.js';
import { watchStates } from '../telemetry/state-watch.js';

/** What the observer reads of its feed. */
export interface ObservedFeed {
  readonly actor: FeedActor;
  stats(): FeedStats;
}

export class FeedObserver {
  readonly #instruments: FeedInstruments | undefined;
  /** `{ url }` of the feed's first URL, made once. */
  readonly #attributes: MeterAttributes;
  readonly #subscription: Subscription;
  /** The endpoint in use, redacted; updated on state changes so a message payload needs no URL parsing. */
  #url: string;
  #lastMessageAt = performance.now();
  #unobserve: (() => void) | undefined;

  constructor(feed: ObservedFeed, meter: MeterLike | undefined) {
    const current = () => feed.stats().url;
    this.#url = current();
    const url = this.#url;
    this.#attributes = { url };
    if (meter) {
      this.#instruments = feedInstruments(meter);
      this.#unobserve = this.#instruments.observe({
        url,
        messages: () => feed.stats().messages,
        staleness: () => performance.now() - this.#lastMessageAt,
      });
    }
    this.#subscription = watchStates(feed.actor, {
      state: feedState,
      changed: ({ from, to, error }) => {
        this.#url = current();
        if (from === 'backoff' && to === 'connecting') this.#instruments?.reconnects.add(1, this.#attributes);
        if (feedStateChannel.hasSubscribers) publish(feedStateChannel, { url: this.#url, from, to, reason: errorCode(error) });
      },
    });
  }

  /** Whether messages are watched: a meter (staleness), or a subscriber to `lifeline:feed:message`. */
  get observesMessages(): boolean {
    return this.#instruments !== undefined || feedMessageChannel.hasSubscribers;
  }

  message(data: string | Buffer, isBinary: boolean): void {
    if (this.#instruments) this.#lastMessageAt = performance.now();
    if (feedMessageChannel.hasSubscribers) {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      publish(feedMessageChannel, { url: this.#url, bytes, isBinary });
    }
  }

  /** Removes the meter's callbacks and the subscription. Idempotent. */
  stop(): void {
    this.#unobserve?.();
    this.#unobserve = undefined;
    this.#subscription.unsubscribe();
  }
}
