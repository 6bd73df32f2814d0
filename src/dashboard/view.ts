/**
 * What the dashboard shows, as JSON: the pools and feeds it watches, each named
 * by an id (`pool 0`, `feed 0`) and a safe label, with its counters, one row per
 * slot or feed, and its recorded history.
 *
 * Only values that cannot carry a secret are read: a pool's origin (scheme, host
 * and port), a feed's redacted URL, counters, state names, and what the flight
 * recorder holds (scrubbed before it was stored). Never options, headers or a
 * raw URL; never an error object (its message could echo a header).
 */
import { feedRecorder, type Feed, type FeedStats } from '../feed/feed.js';
import { poolRecorder, type ClientPool, type PoolStats } from '../pool/client-pool.js';
import type { TransitionRecord } from '../telemetry/recorder.js';
import { redactUrl } from '../redact.js';
import type { GovernorStats } from '../pool/governor/governor.js';
import type { ActorView, PageFeed, PageGovernor, PagePool, PageRecord, PageView } from './protocol.js';
import { poolRequests } from './requests.js';

/** A pool as the page receives it, with all of its stats. */
export interface PoolView extends PagePool {
  stats: PoolStats;
}

export interface FeedView extends PageFeed {
  stats: FeedStats;
}

export interface DashboardView extends PageView {
  pools: PoolView[];
  feeds: FeedView[];
}

/** A record as the page receives it: tagged with the pool or feed it came from. */
export interface SourcedRecord extends TransitionRecord, PageRecord {}

export interface Watched {
  pools: readonly ClientPool[];
  feeds: readonly Feed[];
}

export const poolId = (index: number): string => `pool ${index}`;
export const feedId = (index: number): string => `feed ${index}`;

function poolView(pool: ClientPool, index: number): PoolView {
  const summaries = new Map(poolRecorder(pool)?.summaries().map((summary) => [summary.actor, summary]));
  // The slot actors and the ledger are the truth for state, attempts and leases; the recorder adds what they do not keep.
  const { slots: refs, ledger } = pool.actor.getSnapshot().context;
  const granted = ledger.getSnapshot().context.granted;
  const states = pool.slotStates();
  const origins = pool.origins;
  const on = pool.slotOrigins();
  const slots = refs.map((slot, i): ActorView => {
    const actor = `slot ${i}`;
    const summary = summaries.get(actor);
    const view: ActorView = { actor, state: states[i]!, attempts: slot.getSnapshot().context.attempts, served: granted[i]! };
    if (origins.length > 1) view.origin = redactUrl(origins[on[i]!]!);
    if (summary) {
      view.since = summary.since;
      if (summary.lastError !== undefined) view.lastError = summary.lastError;
    }
    return view;
  });
  const view: PoolView = { id: poolId(index), origin: pool.origin, recording: poolRecorder(pool) !== undefined, stats: pool.stats(), slots };
  const requests = poolRequests(pool);
  if (requests) view.requests = requests;
  if (pool.governor) view.governor = governorView(pool.governor.stats());
  return view;
}

/**
 * The fields the page draws, copied by name: counters and state names, none of which can carry a
 * secret. Not the stats object itself, so a field added to the governor's stats one day (a store's
 * key, say) does not reach the page unless it is added here.
 */
function governorView(stats: GovernorStats): PageGovernor {
  const { state, pausedFor, used, limits, pers, waiting, pauses, bans, rateLimited, store, degradations } = stats;
  return { state, pausedFor, used, limits, pers, waiting: { ...waiting }, pauses, bans, rateLimited, store, degradations };
}

function feedView(feed: Feed, index: number): FeedView {
  const stats = feed.stats();
  // stats.url is already scheme://host:port; redacting again costs nothing and does not depend on that.
  const safe: FeedStats = { ...stats, url: redactUrl(stats.url) };
  const summary = feedRecorder(feed)?.summaries()[0];
  const view: ActorView = { actor: 'feed', state: stats.state, attempts: stats.attempts, served: stats.messages };
  // An error code names a kind of failure and cannot carry a secret.
  if (stats.lastError !== undefined) view.lastError = stats.lastError;
  if (summary) view.since = summary.since;
  return { id: feedId(index), url: safe.url, recording: feedRecorder(feed) !== undefined, state: stats.state, stats: safe, summary: view };
}

export function dashboardView({ pools, feeds }: Watched): DashboardView {
  return { now: Date.now(), pools: pools.map(poolView), feeds: feeds.map(feedView) };
}

/** Every recorded history, oldest first per pool or feed. */
export function historyView({ pools, feeds }: Watched) {
  return {
    pools: pools.map((pool, i) => ({ id: poolId(i), origin: pool.origin, history: pool.history() })),
    feeds: feeds.map((feed, i) => ({ id: feedId(i), url: redactUrl(feed.stats().url), history: feed.history() })),
  };
}

/** Every record kept, tagged with its source and in the order it happened, the last `limit` of them. */
export function recentRecords({ pools, feeds }: Watched, limit: number): SourcedRecord[] {
  const all = [
    ...pools.flatMap((pool, i) => pool.history().map((record) => ({ ...record, source: poolId(i) }))),
    ...feeds.flatMap((feed, i) => feed.history().map((record) => ({ ...record, source: feedId(i) }))),
  ];
  // seq orders one recorder's records; across recorders, wall-clock time is the only common order.
  return all.sort((a, b) => a.at - b.at || a.seq - b.seq).slice(-limit);
}
