/**
 * The opt-in send queue of a feed that is not live: `feed.send(text, { queue: true })`
 * while connecting, subscribing or backing off. Bounded twice, so that nothing waits
 * unseen: at most `size` messages (one more is refused at once, SEND_QUEUE_FULL), each for
 * at most `maxAge` ms (then refused, SEND_EXPIRED, timed on the feed's clock). When the
 * feed goes live, after its subscriptions, the queue is sent in order; when it closes,
 * what is left is refused with FEED_CLOSED.
 *
 * Every queued send's promise settles: sent (handed to the socket), or refused with a code.
 */
import { LifelineError } from '../errors.js';
import type { FeedClock, FeedConnection } from '../machines/feed.js';
import { checkKnownKeys, checkNumber, checkObject, MAX_TIMEOUT } from '../validate.js';

/** Bounds of the send queue (`sendQueue` option). */
export interface SendQueueOptions {
  /** Messages queued at most; one more is refused with SEND_QUEUE_FULL. Default 100. */
  size?: number;
  /** How long (ms) a message may wait; older, it is refused with SEND_EXPIRED. Default 5 000. */
  maxAge?: number;
}

export type SendQueueLimits = Required<SendQueueOptions>;

/** The `sendQueue` defaults: 100 messages, 5 s each. */
export const DEFAULT_SEND_QUEUE: Readonly<SendQueueLimits> = Object.freeze({ size: 100, maxAge: 5_000 });

export function checkSendQueue(field: string, value: unknown): SendQueueLimits {
  const given = checkObject(field, value);
  if (!given) return { ...DEFAULT_SEND_QUEUE };
  checkKnownKeys(field, given, ['size', 'maxAge']);
  return {
    size: checkNumber(`${field}.size`, given.size, DEFAULT_SEND_QUEUE.size, { min: 1, max: 1_000_000 }),
    maxAge: checkNumber(`${field}.maxAge`, given.maxAge, DEFAULT_SEND_QUEUE.maxAge, { min: 1, max: MAX_TIMEOUT }),
  };
}

interface Queued {
  text: string;
  /** Clock time it was queued. */
  at: number;
  resolve: () => void;
  reject: (error: LifelineError) => void;
}

export class SendQueue {
  readonly #limits: SendQueueLimits;
  readonly #clock: FeedClock;
  /** Oldest first; so the first to expire is the first. */
  #queued: Queued[] = [];
  #timer: unknown;

  constructor(limits: SendQueueLimits, clock: FeedClock) {
    this.#limits = limits;
    this.#clock = clock;
  }

  get length(): number {
    return this.#queued.length;
  }

  /** Queues `text`; settles once it is sent, or refused. */
  add(text: string): Promise<void> {
    const { size } = this.#limits;
    if (this.#queued.length >= size) {
      return Promise.reject(new LifelineError('SEND_QUEUE_FULL', `the send queue is full (sendQueue.size: ${size}); the message was not queued`));
    }
    return new Promise((resolve, reject) => {
      this.#queued.push({ text, at: this.#clock.now(), resolve, reject });
      if (this.#queued.length === 1) this.#schedule();
    });
  }

  /** Sends what is queued, in order, on the connection the feed just went live on. */
  flush(connection: FeedConnection): void {
    this.#expire();
    this.#stopTimer();
    const queued = this.#queued;
    this.#queued = [];
    for (const each of queued) connection.sendAndConfirm(each.text).then(each.resolve, each.reject);
  }

  /** Refuses everything queued with `error`. */
  refuseAll(error: LifelineError): void {
    this.#stopTimer();
    const queued = this.#queued;
    this.#queued = [];
    for (const each of queued) each.reject(error);
  }

  /** Refuses the messages that have waited `maxAge`, then waits for the next oldest. */
  #expire(): void {
    const { maxAge } = this.#limits;
    const now = this.#clock.now();
    let expired = 0;
    while (expired < this.#queued.length && now - this.#queued[expired]!.at >= maxAge) expired++;
    if (expired === 0) return;
    const error = new LifelineError('SEND_EXPIRED', `the message waited in the send queue for sendQueue.maxAge (${maxAge} ms) without the feed going live; it was not sent`);
    for (const each of this.#queued.splice(0, expired)) each.reject(error);
  }

  #schedule(): void {
    this.#stopTimer();
    const oldest = this.#queued[0];
    if (!oldest) return;
    const wait = Math.max(0, oldest.at + this.#limits.maxAge - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
      this.#schedule();
    }, wait);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
