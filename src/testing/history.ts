/**
 * A pool's or a feed's history (`pool.history()`, `feed.history()`) as lines a
 * failure message can carry: what the connection went through, in order, with
 * the reasons, so a failed model path explains itself without a rerun.
 */
import type { TransitionRecord } from '../telemetry/record.js';

/** Something with a history: a `ClientPool` or a `Feed`. */
export interface HasHistory {
  history(): TransitionRecord[];
}

/**
 * `slot 0: connecting → healthy (dial.done)`, one line per change, oldest
 * first, the last `max` (default 30) of them; times relative to the first shown.
 */
export function formatHistory(source: HasHistory | readonly TransitionRecord[], max = 30): string {
  const records = Array.isArray(source) ? (source as readonly TransitionRecord[]) : (source as HasHistory).history();
  if (records.length === 0) return '  history: (empty)';
  const shown = records.slice(-max);
  const start = shown[0]!.at;
  const lines = shown.map(
    (r) => `    +${r.at - start} ms ${r.actor}: ${r.from} → ${r.to} (${r.event}${r.reason ? `: ${r.reason}` : ''})`,
  );
  const skipped = records.length - shown.length;
  return [`  history${skipped ? ` (the last ${shown.length} of ${records.length})` : ''}:`, ...lines].join('\n');
}
