/**
 * The flight recorder: for every slot of a pool and for a feed, the last N
 * state changes (when, from, to, the event, a short reason such as an error
 * code), kept in a ring per actor for a post-mortem, and streamed live to
 * whoever listens (the dashboard).
 *
 * A feed's recorder is fed by XState's inspection API at the root actor, so it
 * sees every actor of the system without the machines knowing. A pool's
 * watches its slot actors instead (`watch`): an inspector would also see every
 * lease of the ledger, and cost each one. Leases are not state
 * changes of a slot (the supervisor's ledger holds them, and counts them), so
 * a busy pool does not push the failures a post-mortem needs out of the ring.
 *
 * Every string is scrubbed by the pool's or feed's `Redactor` before it is
 * stored: nothing the recorder holds can leak a secret.
 */
import type { InspectionEvent } from 'xstate';
import type { Redactor } from '../redact.js';
import { eventLabel } from './transitions.js';

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

/** What the recorder knows about one actor now. */
export interface ActorSummary {
  actor: string;
  state: string;
  /** Wall-clock time the current state was entered. */
  since: number;
  /** Failures since the last stable spell. */
  attempts: number;
  lastError: string | undefined;
}

export interface RecorderOptions {
  /** Transitions kept per actor. */
  capacity: number;
  redactor: Redactor;
  /**
   * Recognises the actors worth recording and names them; `undefined` for the
   * rest (the supervisor, dial and watch actors).
   */
  identify: (snapshot: InspectedSnapshot) => string | undefined;
  /** The plain-string state of a recorded actor's snapshot. */
  stateOf: (snapshot: InspectedSnapshot) => string;
}

/** The parts of a machine snapshot the recorder reads. */
export interface InspectedSnapshot {
  status: string;
  value?: unknown;
  context?: { attempts?: number; lastError?: unknown };
  machine?: { id?: string };
}

export const DEFAULT_HISTORY = 100;

/** What `watch` needs of an actor: its snapshot now and each one after. */
export interface WatchedActor {
  getSnapshot(): unknown;
  subscribe(observer: { next: (snapshot: unknown) => void; complete: () => void; error: (error: unknown) => void }): { unsubscribe(): void };
}

/**
 * The last `capacity` items. It grows as items come and wraps once full: a slot or feed
 * that never changes state holds an empty array, not `capacity` holes (800 bytes each
 * at the default 100, measured per idle slot).
 */
class Ring<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  /** Where the next item goes once the ring is full (the oldest item's index). */
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(item);
      return;
    }
    if (this.#capacity === 0) return;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }
}

interface Track {
  summary: ActorSummary;
  ring: Ring<TransitionRecord>;
  /** The error last given as a reason: a record carries a reason only when there is a new one. */
  reported: unknown;
}

function reasonOf(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof Error) return error.message;
  return String(error);
}

export class FlightRecorder {
  readonly #options: RecorderOptions;
  readonly #tracks = new Map<string, Track>();
  readonly #listeners = new Set<(record: TransitionRecord) => void>();
  #seq = 0;

  constructor(options: RecorderOptions) {
    this.#options = options;
  }

  /** The observer to pass as `inspect` to `createActor`. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as InspectedSnapshot;
    const actor = this.#options.identify(snapshot);
    if (actor === undefined) return;
    this.#observe(actor, snapshot, event.event.type);
  };

  /**
   * Records one actor by subscribing to it, instead of through an inspector: what a
   * pool does for its slots, so that recording costs its hot path (ledger events)
   * nothing. `cause` reads the type of the event that entered the snapshot's state.
   * Returns an unsubscribe.
   */
  watch(actor: string, ref: WatchedActor, cause: (snapshot: InspectedSnapshot) => string): () => void {
    const initial = ref.getSnapshot() as InspectedSnapshot;
    this.#observe(actor, initial, cause(initial));
    const next = (snapshot: unknown) => {
      const inspected = snapshot as InspectedSnapshot;
      this.#observe(actor, inspected, cause(inspected));
    };
    const subscription = ref.subscribe({
      next,
      // A stopped slot completes without a last snapshot: read it, so `closed` is recorded.
      complete: () => next(ref.getSnapshot()),
      // Without an error handler xstate reports an actor's error as unhandled; its owner handles it.
      error: () => {},
    });
    return () => subscription.unsubscribe();
  }

  /** Every record kept, oldest first, as plain JSON-ready objects. */
  history(): TransitionRecord[] {
    const all: TransitionRecord[] = [];
    for (const track of this.#tracks.values()) all.push(...track.ring.toArray());
    return all.sort((a, b) => a.seq - b.seq);
  }

  /** What each recorded actor is doing now. */
  summaries(): ActorSummary[] {
    return [...this.#tracks.values()].map((track) => ({ ...track.summary }));
  }

  /** Calls `listener` with every new record; returns an unsubscribe. */
  onRecord(listener: (record: TransitionRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #observe(actor: string, snapshot: InspectedSnapshot, eventType: string): void {
    const state = this.#options.stateOf(snapshot);
    const attempts = snapshot.context?.attempts ?? 0;
    const error = snapshot.context?.lastError;
    const lastError = reasonOf(error);
    let track = this.#tracks.get(actor);
    if (!track) {
      track = {
        summary: { actor, state, since: Date.now(), attempts, lastError: this.#scrub(lastError) },
        ring: new Ring(this.#options.capacity),
        reported: error,
      };
      this.#tracks.set(actor, track);
      return;
    }
    const summary = track.summary;
    summary.attempts = attempts;
    if (lastError !== undefined) summary.lastError = this.#scrub(lastError);
    const from = summary.state;
    if (state === from) return;
    summary.state = state;
    summary.since = Date.now();
    const record: TransitionRecord = { seq: ++this.#seq, at: summary.since, actor, from, to: state, event: eventLabel(eventType) };
    if (error !== undefined && error !== track.reported) {
      record.reason = this.#scrub(lastError);
      track.reported = error;
    }
    track.ring.push(record);
    for (const listener of this.#listeners) listener(record);
  }

  #scrub(text: string | undefined): string | undefined {
    return text === undefined ? undefined : this.#options.redactor.text(text);
  }
}
