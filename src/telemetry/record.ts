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
  /**
   * A short reason when there is one: a failure's error code (or its message when it has no
   * code); out of healthy to connecting, `ENDED` (the server ended the connection) or `RECYCLED`
   * (lifeline retired it).
   */
  reason?: string;
  /**
   * A failure's message; for `ENDED` and `RECYCLED`, the cause: `server-closed`, or `idle`, `age`,
   * `keep-alive`, `learned-idle`, `homing`, `connection-close`, `deadline`, `aborted`,
   * `body-too-large`, `body-decode-failed`, `released`.
   */
  detail?: string;
  /** The system error behind a failure (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`...). */
  errno?: string;
}
