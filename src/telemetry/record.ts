/**
 * A flight recorder's record of one state change. Types only, importing nothing:
 * the dashboard's page script, checked against the DOM rather than Node, reads
 * the same records (src/dashboard/protocol.ts) through this file.
 */

/** One state change, as JSON. */
export interface TransitionRecord {
  /** Increasing across the recorder: the order the changes happened in. */
  seq: number;
  /** Wall-clock time (ms since the epoch). */
  at: number;
  /** `slot 0`, `slot 1`, ..., or `feed`. */
  actor: string;
  from: string;
  to: string;
  /** The event that caused it, readably named: `dial.error`, `lost`, `after.retryDelay`, `close`. */
  event: string;
  /** A short reason when there is one: the error code, or the error's message when it has no code. */
  reason?: string;
}
