/**
 * What the dashboard's server and its page say to each other: the events of
 * `GET /events` and what each one carries, as the page reads them.
 *
 * Types only, importing only types that import nothing: the page script
 * (client/page-script.ts, checked against the DOM) and the server (view.ts and
 * dashboard.ts, checked against Node) both import this file, so a field one
 * side renames or drops fails the type check of the other.
 */
import type { TransitionRecord } from '../telemetry/record.js';

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

/**
 * The counters of a pool the page shows: these two, and the count of slots in
 * each state of `machines.pool`, by its name (`pool.stats()` has a key for
 * every state a slot reports), in the order the stats list them.
 */
export interface PagePoolStats {
  connections: number;
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
  /** The pool's recent requests, newest last (at most `REQUEST_ROWS`); absent when its request log is off. */
  requests?: PageRequest[];
  /** The pool's rate-limit governor, if it has one (issue 18): drawn as a strip of badges and budget bars on the pool's card. */
  governor?: PageGovernor;
}

/** When each step of a request happened (wall-clock ms since the epoch); a step not reached is absent. */
export interface PageRequestTimes {
  queued?: number | undefined;
  acquired?: number | undefined;
  written?: number | undefined;
  headers?: number | undefined;
  done: number;
}

/**
 * One send of a request, as the requests panel shows it: the fields of the pool's
 * request log (issue 17, item 2) that the page reads. Restated here, not imported,
 * so the page depends only on what it shows; a record with more fields fits.
 */
export interface PageRequest {
  /** Shared by every attempt of one `pool.request`. */
  id: number;
  origin: string;
  slot: number;
  method: string;
  /** Secret query values already scrubbed by the pool. */
  path: string;
  /** 1 for the first send. */
  attempt: number;
  replayed: boolean;
  /** The response status, or absent when the request failed. */
  status?: number | undefined;
  /** The error code it failed with, or absent when a response came. */
  error?: string | undefined;
  times: PageRequestTimes;
}

/**
 * A governor as the page receives it: its state, budget used against each window's limit,
 * waiters by priority, and where the budget is counted. Counters and state names only: never
 * its options (a shared store's key, a client's URL with its password).
 */
export interface PageGovernor {
  /** `open`, `paused` or `banned`. */
  state: string;
  /** ms until a pause or ban ends, as of the view's `now`; 0 when open. */
  pausedFor: number;
  /** Weight spent or reserved in each window, in the order of the governor's `windows`. */
  used: number[];
  /** Each window's limit. */
  limits: number[];
  /** Each window's length in ms: the page names a window by it ("per 1 min"). */
  pers: number[];
  /** Callers waiting for budget, by priority (`order`, `normal`, `background`), highest first. */
  waiting: Record<string, number>;
  pauses: number;
  bans: number;
  rateLimited: number;
  /** `local` (no shared store), `shared` (the store answers) or `degraded` (unreachable: the local share is in use). */
  store: string;
  /** Times the shared store became unreachable so far. */
  degradations: number;
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
export interface PageRecord extends Omit<TransitionRecord, 'seq'> {
  source: string;
}

/** A state an actor reports, and where the page shows it on its machine's chart. */
export interface PageState {
  /** As actors report it (`stats()`, the table, the log): `healthy`, `busy`. */
  name: string;
  /** The chart node it lights: the SVG's `data-state` (`feed.connected.healthy`). */
  node: string;
  /** The compound states around `node` below the machine itself (`feed.connected`), outlined while it is lit. */
  parents: string[];
}

/** What the page knows of a machine: all of it taken by the server from the machine's definition (src/machines). */
export interface PageMachine {
  /** The id of the page's `<template>` that holds the machine's chart. */
  chart: string;
  /** Every state its actors report. */
  states: PageState[];
}

/** The machine behind each kind of card: a pool's slots, a feed. */
export interface PageMachines {
  pool: PageMachine;
  feed: PageMachine;
}

/** The first event of every stream: everything live, and the records kept so far, oldest first. */
export interface PageSnapshot extends PageView {
  history: PageRecord[];
  /** Rows the event log keeps (the history sent is at most as long). */
  logRows: number;
  machines: PageMachines;
}

/** The events of `GET /events`, by name: `snapshot` first, then a `record` per state change and `stats` now and then. */
export interface PageEvents {
  snapshot: PageSnapshot;
  stats: PageView;
  record: PageRecord;
}
