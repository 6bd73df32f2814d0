/**
 * The soak's feeds: each on one FaultWsServer, with 2-3 subscriptions that churn
 * (a new topic subscribed, an old one unsubscribed) while the faults run, and the
 * checks of what the servers received.
 *
 * Every message a feed sends names the feed (`sub:f3:t7`, `unsub:f3:t7`, and
 * `msg:f3:12` through `feed.send`), so a
 * server connection is attributed to the feed whose messages it logged. Topic
 * names are never reused, so a topic's life is one subscribe and at most one
 * unsubscribe, and "removed" has a single time.
 */
import { Feed, isLifelineError, type ErrorCode, type FeedOptions } from '../../src/index.js';
import type { FaultWsServer } from '../../src/testing/index.js';
import { InFlight } from './in-flight.js';
import type { Rng } from './prng.js';

/**
 * What a feed may report (its `error` event) under these faults, each for a reason:
 * - CONNECT_FAILED: a stopped server refuses; a black-holed or delayed handshake passes connectTimeout.
 * - FEED_LOST: dropAll/resetAll/stop, and closeAfter's 1001 close.
 * - FEED_STALE: silence() longer than staleAfter (broadcasts stop).
 * - HEARTBEAT_TIMEOUT: answerPings(false) longer than heartbeat.timeout.
 * - MESSAGE_TOO_LARGE: sendOversized() past maxMessageSize.
 * Not ACK_TIMEOUT (no isAck), not RECONNECTS_EXHAUSTED (unlimited), nor anything else.
 */
export const EXPECTED_FEED_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'CONNECT_FAILED',
  'FEED_LOST',
  'FEED_STALE',
  'HEARTBEAT_TIMEOUT',
  'MESSAGE_TOO_LARGE',
]);

/** How long a `feed.send` may take to settle (ms): a small frame is handed to the kernel at once, or fails with its socket. */
const SEND_BOUND = 2_000;

interface FleetFeed {
  id: number;
  feed: Feed;
  server: FaultWsServer;
  /** Current subscriptions, as the soak asked for them. */
  current: Set<string>;
  /**
   * Removed subscriptions and when (`performance.now()`), until no connection
   * accepted before the removal is left to check (`checkClosed`): then a topic
   * below `nextTopic` that is neither current nor here was removed before every
   * connection still to check was accepted.
   */
  removed: Map<string, number>;
  nextTopic: number;
}

const FEED_OF = /^(?:sub|unsub|msg):f(\d+):/;
const SUBSCRIPTION = /^sub:f(\d+):t(\d+)$/;
const sub = (feed: number, topic: number) => `sub:f${feed}:t${topic}`;
const unsubFor = (subscription: string) => `un${subscription}`;

/** The feed a logged message came from, or undefined for one that is not a feed's. */
function feedOf(message: string): number | undefined {
  const match = FEED_OF.exec(message);
  return match ? Number(match[1]) : undefined;
}

export class FeedFleet {
  readonly feeds: FleetFeed[] = [];
  readonly errors = new Map<string, number>();
  subscribes = 0;
  unsubscribes = 0;
  messages = 0;
  sendsOk = 0;
  /** `feed.send` rejections; NOT_LIVE (the feed is between connections) is the only one expected. */
  sendsNotLive = 0;
  readonly sends: InFlight;
  readonly #rng: Rng;
  readonly #fail: (violation: string) => void;
  /** What `checkClosed` found, for `resentRemoved` to report. */
  readonly #resent: string[] = [];
  #sent = 0;

  /** `fail` records a violation (an unexpected error code, a send rejected for another reason). */
  constructor(
    servers: readonly FaultWsServer[],
    count: number,
    rng: Rng,
    options: Omit<FeedOptions, 'url' | 'subscriptions'>,
    fail: (violation: string) => void,
  ) {
    this.#rng = rng;
    this.#fail = fail;
    this.sends = new InFlight(fail);
    for (let id = 0; id < count; id++) {
      const server = servers[id % servers.length]!;
      const topics = rng.int(2, 3);
      const subscriptions = Array.from({ length: topics }, (_, topic) => sub(id, topic));
      const feed = Feed.connect({ ...options, url: server.url, subscriptions });
      feed.on('message', () => this.messages++);
      feed.on('error', (error) => {
        const code = isLifelineError(error) ? error.code : `non-LifelineError ${String(error)}`;
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        if (!isLifelineError(error) || !EXPECTED_FEED_ERRORS.has(error.code)) {
          fail(`feed ${id} reported ${code}: ${error.message}`);
        }
      });
      this.feeds.push({ id, feed, server, current: new Set(subscriptions), removed: new Map(), nextTopic: topics });
    }
  }

  /** One subscription change on a random feed, keeping it at 2-3 subscriptions, or a `feed.send`. */
  churn(): void {
    const entry = this.#rng.pick(this.feeds);
    if (this.#rng.chance(0.3)) return this.#send(entry);
    if (entry.current.size < 3) {
      const subscription = sub(entry.id, entry.nextTopic++);
      entry.current.add(subscription);
      entry.feed.subscribe(subscription);
      this.subscribes++;
    } else {
      const subscription = this.#rng.pick([...entry.current]);
      entry.current.delete(subscription);
      entry.removed.set(subscription, performance.now());
      entry.feed.unsubscribe(subscription, unsubFor(subscription));
      this.unsubscribes++;
    }
  }

  #send(entry: FleetFeed): void {
    const message = `msg:f${entry.id}:${this.#sent++}`;
    const op = this.sends.start(`feed ${entry.id} send ${message}`, SEND_BOUND);
    entry.feed.send(message).then(
      () => this.sendsOk++,
      (error: unknown) => {
        if (isLifelineError(error, 'NOT_LIVE')) this.sendsNotLive++;
        else this.#fail(`feed ${entry.id}: send rejected with ${String(error)}`);
      },
    ).finally(() => this.sends.done(op));
  }

  /** States that are not `healthy`, by feed: empty once every feed is live. */
  unhealthy(): string[] {
    return this.feeds.filter((f) => f.feed.state !== 'healthy').map((f) => `feed ${f.id} ${f.feed.state} (${f.feed.stats().lastError})`);
  }

  /** Connections opened, over all feeds. */
  get connections(): number {
    return this.feeds.reduce((n, f) => n + f.feed.stats().connections, 0);
  }

  /**
   * What keeps the servers' side from matching the feeds (empty when it does):
   * each server's open connections and its feeds pair one to one, and each feed's
   * open connection logged every current subscription exactly once, and a removed
   * one only if its unsubscribe followed. Polled after healing: a subscription
   * sent a moment ago may still be on the wire.
   */
  currentProblems(): string[] {
    const problems: string[] = [];
    for (const server of new Set(this.feeds.map((f) => f.server))) {
      const open = new Map<number, number[]>();
      server.received.forEach((log, index) => {
        if (server.closedAt[index] !== undefined) return;
        const owners = new Set(log.map(feedOf));
        if (owners.size !== 1 || owners.has(undefined)) {
          problems.push(`${server.url}: open connection ${index} logged messages of feeds ${JSON.stringify([...owners])}`);
          return;
        }
        const owner = [...owners][0]!;
        open.set(owner, [...(open.get(owner) ?? []), index]);
      });
      for (const entry of this.feeds.filter((f) => f.server === server)) {
        const indexes = open.get(entry.id) ?? [];
        if (indexes.length !== 1) {
          problems.push(`feed ${entry.id}: ${indexes.length} open server connections (${JSON.stringify(indexes)})`);
          continue;
        }
        const log = server.received[indexes[0]!]!;
        for (const subscription of entry.current) {
          const times = log.filter((m) => m === subscription).length;
          if (times !== 1) problems.push(`feed ${entry.id}: ${subscription} received ${times} times on its open connection ${JSON.stringify(log)}`);
        }
        for (const subscription of entry.removed.keys()) {
          const last = log.lastIndexOf(subscription);
          if (last >= 0 && log.indexOf(unsubFor(subscription), last) < 0) {
            problems.push(`feed ${entry.id}: removed ${subscription} is on its open connection without its unsubscribe ${JSON.stringify(log)}`);
          }
        }
      }
    }
    return problems;
  }

  /**
   * Removed subscriptions re-sent, over the whole run: a connection the server
   * accepted after a subscription's removal must never log it (the feed sends its
   * subscriptions after its own `open`, which follows the server's accept).
   * Checks the connections still open; the closed ones were checked by `checkClosed`.
   */
  resentRemoved(): string[] {
    const problems: string[] = [...this.#resent];
    this.#resent.length = 0;
    for (const server of new Set(this.feeds.map((f) => f.server))) {
      server.received.forEach((log, index) => problems.push(...this.#resentOn(server, log, server.acceptedAt[index]!, `connection ${index}`)));
    }
    return problems;
  }

  /**
   * Checks the connections the servers closed since the last call (removed
   * subscriptions re-sent) and has the servers forget them, then forgets the
   * removals older than every connection left to check: so a long run keeps
   * only what its open connections need. Call it now and then while the run goes.
   */
  checkClosed(): void {
    for (const server of new Set(this.feeds.map((f) => f.server))) {
      for (const closed of server.forgetClosed()) {
        this.#resent.push(...this.#resentOn(server, closed.received, closed.acceptedAt, `connection #${closed.index}`));
      }
      const oldest = Math.min(...server.acceptedAt);
      for (const entry of this.feeds) {
        if (entry.server !== server) continue;
        for (const [subscription, removedAt] of entry.removed) if (removedAt < oldest) entry.removed.delete(subscription);
      }
    }
  }

  /** Removed subscriptions a connection (accepted at `accepted`) logged though it was accepted after their removal. */
  #resentOn(server: FaultWsServer, log: readonly string[], accepted: number, which: string): string[] {
    const problems: string[] = [];
    for (const entry of this.feeds) {
      if (entry.server !== server || !log.some((m) => feedOf(m) === entry.id)) continue;
      for (const [subscription, removedAt] of entry.removed) {
        if (removedAt < accepted && log.includes(subscription)) {
          problems.push(`feed ${entry.id}: ${subscription}, removed at ${removedAt.toFixed(1)}, re-sent on ${which} accepted at ${accepted.toFixed(1)}`);
        }
      }
      // Removals forgotten by checkClosed: older than every connection left to check, this one included.
      for (const message of log) {
        const match = SUBSCRIPTION.exec(message);
        if (!match || Number(match[1]) !== entry.id) continue;
        const topic = Number(match[2]);
        if (topic < entry.nextTopic && !entry.current.has(message) && !entry.removed.has(message)) {
          problems.push(`feed ${entry.id}: ${message}, removed before ${which} was accepted at ${accepted.toFixed(1)}, re-sent on it`);
        }
      }
    }
    return problems;
  }

  /** Feeds that stopped on their own (a machine that ended is a bug while the soak runs). */
  stopped(): string[] {
    return this.feeds.filter((f) => f.feed.state === 'closed' || f.feed.state === 'closing').map((f) => `feed ${f.id} is ${f.feed.state} (${f.feed.stats().lastError})`);
  }

  close(): Promise<unknown> {
    return Promise.allSettled(this.feeds.map((f) => f.feed.close()));
  }
}
