/**
 * State changes of an actor, seen through its snapshots: what the metrics and
 * diagnostics of slots and feeds are built on. A subscription, not an
 * inspector: an inspector is called for every event of the whole system
 * (leases included, about +0.25 us each), a subscription only for the events
 * of the actor watched, and neither slots nor feeds get an event per request
 * or message.
 */
import type { Observer, Subscription } from 'xstate';
import { errorCode } from './diagnostics.js';

/** What is watched: an actor whose context may hold the error behind its last failure. */
export interface Watched<S> {
  getSnapshot(): S;
  subscribe(observer: Observer<S>): Subscription;
}

/**
 * Calls `changed` on every change of `stateOf(snapshot)`, with the code of the
 * error that caused it (the context's `lastError`, when the change brought a new
 * one) and the snapshot seen just before.
 */
export function watchStates<S extends { context: { lastError?: unknown } }, T extends string>(
  actor: Watched<S>,
  stateOf: (snapshot: S) => T,
  changed: (from: T, to: T, reason: string | undefined, snapshot: S, previous: S) => void,
): Subscription {
  let previous = actor.getSnapshot();
  let state = stateOf(previous);
  const next = (snapshot: S) => {
    const before = previous;
    previous = snapshot;
    const to = stateOf(snapshot);
    if (to === state) return;
    const from = state;
    state = to;
    const lastError = snapshot.context.lastError;
    const reason = lastError !== undefined && lastError !== before.context.lastError ? errorCode(lastError) : undefined;
    changed(from, to, reason, snapshot, before);
  };
  return actor.subscribe({
    next,
    // A stopped actor (a supervisor stops its slots on close) completes without a last snapshot: read it.
    complete: () => next(actor.getSnapshot()),
    // An observer without an error handler makes xstate report the actor's error as
    // unhandled (thrown on its own turn); the owner (supervisor, Feed) already handles it.
    error: () => {},
  });
}
