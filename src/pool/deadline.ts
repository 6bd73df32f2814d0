/**
 * Request deadlines: a point in time (ms since the epoch, `Date.now()`'s scale)
 * by which a response must be complete. Absolute rather than a duration, so one
 * deadline can be handed down a call chain (strategy -> order router -> pool)
 * and every stage spends from the same budget.
 */
import { LifelineError } from '../errors.js';
import { MAX_TIMEOUT } from '../validate.js';

/** Where the request was when its deadline passed: what the caller must reconcile differs. */
export type DeadlineStage = 'acquire' | 'send' | 'response';

const WHERE: Record<DeadlineStage, string> = {
  acquire: 'while waiting for a connection; nothing was sent',
  send: 'before the request was sent; nothing was sent',
  response: 'after the request was sent, before its response was complete; the server may have acted on it',
};

export function deadlineExceeded(stage: DeadlineStage): LifelineError {
  return new LifelineError('DEADLINE_EXCEEDED', `the deadline passed ${WHERE[stage]}`);
}

/** Milliseconds left until `deadline` (0 or less once it has passed); INVALID_REQUEST for a value that is no time. */
export function remainingUntil(deadline: unknown): number {
  if (typeof deadline !== 'number' || !Number.isFinite(deadline)) {
    const got = typeof deadline === 'number' ? String(deadline) : typeof deadline;
    throw new LifelineError('INVALID_REQUEST', `Expected \`deadline\` to be a finite number of ms since the epoch (Date.now() + budget), got ${got}`);
  }
  // A timer longer than 2^31-1 ms fires after 1 ms (Node's TimeoutOverflowWarning): a deadline years
  // away (1e300, Number.MAX_SAFE_INTEGER) must not abort the request at once. 24.8 days is "never" here.
  return Math.min(deadline - Date.now(), MAX_TIMEOUT);
}
