/**
 * The one way lifeline watches an actor: a subscription to its snapshots that
 * reports each change of its plain-string state. The flight recorder, the
 * metrics and diagnostics of slots and feeds, a Feed's `state` and `error`
 * events and the testing kit's state logs are all built on it.
 *
 * A subscription, not an inspector: an inspector is called for every event of
 * the whole system (leases included, about +0.25 us each) and sees every
 * child actor, a subscription only the snapshots of the actor watched, and
 * neither slots nor feeds get an event per request or message. What an
 * inspector told and a snapshot does not (the event behind a change) the
 * machines keep in their context (`cause`).
 */
import type { Observer, Subscription } from 'xstate';

/** What every watched snapshot has: a context that may hold the error behind its last failure. */
export interface WatchedSnapshot {
  readonly context: { readonly lastError?: unknown };
}

/** What is watched: an actor, its snapshot now and each one after. */
export interface Watched<S> {
  getSnapshot(): S;
  subscribe(observer: Observer<S>): Subscription;
}

/** One change of state. */
export interface StateChange<S extends WatchedSnapshot, T extends string> {
  from: T;
  to: T;
  /** The context's `lastError` when the change brought a new one (the error behind it), else undefined. */
  error: S['context']['lastError'] | undefined;
  /** The snapshot that made the change. */
  snapshot: S;
}

/** What to do with an actor's snapshots. */
export interface StateWatch<S extends WatchedSnapshot, T extends string> {
  /** The plain-string state of a snapshot: a change is a change of this. */
  state: (snapshot: S) => T;
  /** Called on every change of state. */
  changed: (change: StateChange<S, T>) => void;
  /**
   * Called with every snapshot, changed or not: the current one at once, then each
   * one after, before `changed` is called for it.
   */
  seen?: (snapshot: S) => void;
  /**
   * Called when the actor stopped on an error thrown inside it. Without it the error
   * is ignored here: the actor's owner (supervisor, Feed) handles it, and an observer
   * without an error handler would make xstate report it as unhandled.
   */
  failed?: (error: unknown) => void;
}

/**
 * The observer `watchStates` subscribes: one object, its methods bound by xstate,
 * rather than a closure per callback (a feed has three watchers and a pool slot two,
 * the recorder's and the metrics', all held for the life of the connection).
 */
class StateWatcher<S extends WatchedSnapshot, T extends string> implements Observer<S> {
  readonly #actor: Watched<S>;
  readonly #watch: StateWatch<S, T>;
  #previous: S;
  #state: T;

  constructor(actor: Watched<S>, watch: StateWatch<S, T>) {
    this.#actor = actor;
    this.#watch = watch;
    this.#previous = actor.getSnapshot();
    this.#state = watch.state(this.#previous);
    watch.seen?.(this.#previous);
  }

  next(snapshot: S): void {
    const watch = this.#watch;
    watch.seen?.(snapshot);
    const before = this.#previous;
    this.#previous = snapshot;
    const to = watch.state(snapshot);
    if (to === this.#state) return;
    const from = this.#state;
    this.#state = to;
    const lastError = snapshot.context.lastError;
    watch.changed({ from, to, error: lastError !== before.context.lastError ? lastError : undefined, snapshot });
  }

  /** A stopped actor (a supervisor stops its slots on close) completes without a last snapshot: read it. */
  complete(): void {
    this.next(this.#actor.getSnapshot());
  }

  error(error: unknown): void {
    this.#watch.failed?.(error);
  }
}

/** Subscribes `watch` to `actor`, from its current state on. */
export function watchStates<S extends WatchedSnapshot, T extends string>(actor: Watched<S>, watch: StateWatch<S, T>): Subscription {
  return actor.subscribe(new StateWatcher(actor, watch));
}
