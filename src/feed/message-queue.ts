/**
 * The bounded buffer behind `feed.messages()`: a ring of at most `capacity`
 * messages. When the reader falls behind, the overflow policy drops the oldest
 * (default: a market-data reader wants the latest) or the newest message, and
 * every drop is counted. The drops from the first one until the reader has
 * emptied the buffer again are one slow-consumer episode: the first drop of an
 * episode says so, so that a consumer is told once per episode, not per message.
 */
export interface FeedMessage {
  data: string | Buffer;
  isBinary: boolean;
}

export class MessageQueue implements AsyncIterableIterator<FeedMessage> {
  readonly #ring: (FeedMessage | undefined)[];
  #head = 0;
  #size = 0;
  #waiting: { resolve: (result: IteratorResult<FeedMessage>) => void; reject: (error: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;
  readonly #dropOldest: boolean;
  readonly #onDrop: (episode: boolean) => void;
  /** In a slow-consumer episode: a message was dropped since the buffer was last empty. */
  #behind = false;
  readonly #onReturn: (queue: MessageQueue) => void;

  /** `onDrop(episode)` is called for each dropped message; `episode` is true for the first of a slow-consumer episode. */
  constructor(capacity: number, dropOldest: boolean, onDrop: (episode: boolean) => void, onReturn: (queue: MessageQueue) => void) {
    this.#ring = new Array(capacity);
    this.#dropOldest = dropOldest;
    this.#onDrop = onDrop;
    this.#onReturn = onReturn;
  }

  push(data: string | Buffer, isBinary: boolean): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ value: { data, isBinary }, done: false });
      return;
    }
    const capacity = this.#ring.length;
    if (this.#size === capacity) {
      this.#onDrop(!this.#behind);
      this.#behind = true;
      if (!this.#dropOldest) return;
      this.#head = (this.#head + 1) % capacity;
      this.#size--;
    }
    this.#ring[(this.#head + this.#size) % capacity] = { data, isBinary };
    this.#size++;
  }

  /** Ends the iteration: after the buffered messages, `next()` is done (or rejects with `error`). */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) {
      if (error) waiting.reject(error);
      else waiting.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<FeedMessage>> {
    if (this.#size > 0) {
      const value = this.#ring[this.#head]!;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#ring.length;
      // Caught up: the next drop starts a new episode.
      if (--this.#size === 0) this.#behind = false;
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<FeedMessage>> {
    this.#error = undefined;
    this.end();
    this.#size = 0;
    this.#onReturn(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
