/**
 * How much each case measures, full or quick. Every count is bounded so a full
 * run takes a few minutes on a 2-core machine and a quick one (the CI smoke
 * run, whose figures are not judged) well under a minute.
 */
export interface Settings {
  quick: boolean;
  /** Recorded rounds per contender (after one warm-up pass). */
  rounds: number;
  /** Length of one HTTP round of one contender (ms): time-boxed, so a slow client costs no more time than a fast one. */
  httpRoundMs: number;
  /** Length of one hot-path round of one contender (ms). */
  hotRoundMs: number;
  /** Messages per feed round. */
  feedMessages: number;
  /** Rounds of the idle-drop scenario: cheap (a few ms each), and a failure rate wants many. */
  dropRounds: number;
  /** Rounds of each restart scenario (pool and feed): each waits out a server restart and the backoff. */
  healingRounds: number;
  /** How long the server stays down in the restart scenarios (ms). */
  downMs: number;
  /** Idle slots, and idle feeds, held for the heap measurement. */
  memoryCount: number;
}

export function settingsFor(quick: boolean): Settings {
  return quick
    ? { quick, rounds: 2, httpRoundMs: 60, hotRoundMs: 40, feedMessages: 50_000, dropRounds: 2, healingRounds: 1, downMs: 100, memoryCount: 1_000 }
    : { quick, rounds: 15, httpRoundMs: 100, hotRoundMs: 100, feedMessages: 300_000, dropRounds: 20, healingRounds: 5, downMs: 200, memoryCount: 1_000 };
}
