/**
 * What the dashboard's server and its page say to each other: the events of
 * `GET /events` and what each one carries, as the page reads them.
 *
 * Types only, importing nothing: the page script (client/page-script.ts,
 * checked against the DOM) and the server (view.ts and dashboard.ts, checked
 * against Node) both import this file, so a field one side renames or drops
 * fails the type check of the other.
 */

/** One slot or feed: a row of the dashboard's table. */
export interface ActorView {
  /** `slot 0`, ..., or `feed`. */
  actor: string;
  state: string;
  /** Wall-clock time the state was entered; unknown (absent) when recording is off. */
  since?: number;
  attempts: number;
  lastError?: string;
  /** Slots: times handed out. Feeds: messages received. */
  served?: number;
  /** Slots of a pool with several origins: the one the slot is on (scheme, host and port). */
  origin?: string;
}

/** The counters of a pool the page shows (`pool.stats()` has more). */
export interface PagePoolStats {
  connections: number;
  healthy: number;
  busy: number;
  connecting: number;
  backoff: number;
  poisoned: number;
  closed: number;
  waiting: number;
}

export interface PagePool {
  /** `pool 0`, `pool 1`, ...: what record events name as their `source`. */
  id: string;
  origin: string;
  recording: boolean;
  stats: PagePoolStats;
  /** One per slot, by index. */
  slots: ActorView[];
}

/** The counters of a feed the page shows. */
export interface PageFeedStats {
  state: string;
  messages: number;
  dropped: number;
  connections: number;
  attempts: number;
  subscriptions: number;
}

export interface PageFeed {
  id: string;
  url: string;
  recording: boolean;
  state: string;
  stats: PageFeedStats;
  summary: ActorView;
}

/** Everything live, as of `now` (the server's clock, so the page can correct for its own). */
export interface PageView {
  now: number;
  pools: PagePool[];
  feeds: PageFeed[];
}

/** A recorded state change, tagged with the pool or feed (`source`) it came from. */
export interface PageRecord {
  source: string;
  /** Wall-clock time (ms since the epoch). */
  at: number;
  actor: string;
  from: string;
  to: string;
  event: string;
  reason?: string;
}

/** The first event of every stream: everything live, and the records kept so far, oldest first. */
export interface PageSnapshot extends PageView {
  history: PageRecord[];
  /** Rows the event log keeps (the history sent is at most as long). */
  logRows: number;
}

/** The events of `GET /events`, by name: `snapshot` first, then a `record` per state change and `stats` now and then. */
export interface PageEvents {
  snapshot: PageSnapshot;
  stats: PageView;
  record: PageRecord;
}
